"""List import cycles among mlgate modules, from the source alone (nothing is imported).

Usage: python .ci/import_cycles.py [--all] [PREFIX ...]

By default only module-level imports count (those that run when the module is imported, including
inside ``try``/``if`` but not under ``if TYPE_CHECKING``); ``--all`` also counts imports inside
functions. ``PREFIX`` restricts the report to cycles touching modules that start with it
(``mlgate.data``). Exits 1 when a cycle is listed.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(tree: ast.Module, module: str, *, everywhere: bool, package: bool) -> set[str]:
    """The mlgate modules ``module`` imports (a name imported from a package counts as its submodule)."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.split(".")
                    anchor = anchor[: len(anchor) - node.level + (1 if package else 0)]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not everywhere:
                continue
            elif isinstance(node, ast.ClassDef) and not everywhere:
                # class bodies run at import; their methods do not
                visit([n for n in node.body if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)])
                continue
            for field in ("body", "orelse", "finalbody", "handlers"):
                child = getattr(node, field, None)
                if isinstance(child, list) and child and isinstance(child[0], ast.stmt | ast.excepthandler):
                    visit(child)  # type: ignore[arg-type]

    visit(tree.body)
    return found


def graph(*, everywhere: bool) -> dict[str, set[str]]:
    """Module → the mlgate modules it imports."""
    files = {module_name(p): p for p in sorted((SRC / "mlgate").rglob("*.py"))}
    edges: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        targets = imports(tree, name, everywhere=everywhere, package=path.name == "__init__.py")
        # importing a.b.c runs a and a.b first; only real modules are edges, and a package's own
        # __init__ is not an edge of its submodules (that is how Python runs them, not a design choice)
        edges[name] = {t for t in targets if t in files and t != name and not name.startswith(t + ".")}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0

    def connect(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            connect(v)
    return sorted(out)


def main(argv: list[str]) -> int:
    everywhere = "--all" in argv
    prefixes = [a for a in argv if not a.startswith("--")]
    edges = graph(everywhere=everywhere)
    found = [c for c in cycles(edges) if not prefixes or any(m.startswith(p) for m in c for p in prefixes)]
    for component in found:
        inner = [f"{a} -> {b}" for a in component for b in sorted(edges[a]) if b in component]
        print(f"cycle of {len(component)}: " + ", ".join(inner))
    print(f"{len(found)} import cycle(s) ({'all imports' if everywhere else 'module-level imports'})")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
