"""The stage graph for people and tools: edges, Mermaid (renders in GitHub and GitLab Markdown), DOT, text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mlgate.pipeline.spec import Pipeline


def edges(pipeline: Pipeline, names: Iterable[str]) -> list[tuple[str, str]]:
    """``(upstream, stage)`` pairs among ``names``, in dependency order."""
    keep = list(names)
    chosen = set(keep)
    return [(up, name) for name in keep for up in pipeline.upstream[name] if up in chosen]


# Mermaid node styles for a run's outcomes: the colours GitHub and GitLab readers know from checks
_OUTCOME_STYLE = {
    "ran": "fill:#dcfce7,stroke:#16a34a",
    "cached": "fill:#dbeafe,stroke:#2563eb",
    "failed": "fill:#fee2e2,stroke:#dc2626",
    "skipped": "fill:#f3f4f6,stroke:#9ca3af",
}


def mermaid(pipeline: Pipeline, names: Iterable[str], *, outcomes: Mapping[str, str] | None = None) -> str:
    """A Mermaid flowchart, left to right; stage names become labels, so any name is safe.

    With ``outcomes`` (stage → ran, cached, failed or skipped, as a run reports them) each node says its
    outcome and is coloured by it.
    """
    keep = list(names)
    ids = {name: f"s{i}" for i, name in enumerate(keep)}
    outcomes = outcomes or {}
    lines = ["flowchart LR"]
    for n in keep:
        label = _label(n) + (f" · {_label(outcomes[n])}" if n in outcomes else "")
        lines.append(f'  {ids[n]}["{label}"]')
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in edges(pipeline, keep)]
    used = sorted({o for n, o in outcomes.items() if n in ids and o in _OUTCOME_STYLE})
    lines += [f"  classDef {o} {_OUTCOME_STYLE[o]}" for o in used]
    lines += [f"  class {ids[n]} {o}" for n, o in outcomes.items() if n in ids and o in _OUTCOME_STYLE]
    return "\n".join(lines) + "\n"


def dot(pipeline: Pipeline, names: Iterable[str]) -> str:
    """A Graphviz digraph, left to right (``dot -Tpng``)."""
    keep = list(names)
    lines = ["digraph pipeline {", "  rankdir=LR;", "  node [shape=box];"]
    lines += [f"  {_quoted(n)};" for n in keep]
    lines += [f"  {_quoted(a)} -> {_quoted(b)};" for a, b in edges(pipeline, keep)]
    return "\n".join([*lines, "}"]) + "\n"


def text(pipeline: Pipeline, names: Iterable[str]) -> list[str]:
    """Plain lines: a depth-first tree from the stages that depend on nothing.

    A stage reached again by another edge is marked ``(above)`` instead of repeating what it feeds, so
    there is one line per root and one per edge.
    """
    keep = list(names)
    below: dict[str, list[str]] = {n: [] for n in keep}
    for up, name in edges(pipeline, keep):
        below[up].append(name)
    roots = [n for n in keep if not any(u in below for u in pipeline.upstream[n])]
    out: list[str] = []
    shown: set[str] = set()

    def walk(name: str, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└── " if last else "├── ")
        seen = name in shown
        out.append(f"{prefix}{branch}{name}{' (above)' if seen else ''}")
        if seen:
            return
        shown.add(name)
        children = below[name]
        inner = prefix if top else prefix + ("    " if last else "│   ")
        for i, child in enumerate(children):
            walk(child, inner, i == len(children) - 1, False)

    for root in roots:
        walk(root, "", True, True)
    return out


def _label(name: str) -> str:
    return name.replace('"', "#quot;")


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
