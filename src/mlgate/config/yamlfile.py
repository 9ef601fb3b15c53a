"""The line map: ``mlgate.yaml`` (and ``params.yaml``, schemas) parsed once, each key path with its line.

What YAML accepts but a configuration must not hold (null or repeated keys, alias bombs, nesting past
100 levels) is refused here, naming the line, before anything is built from the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgate.errors import ConfigError

KeyPath = tuple[str | int, ...]
LineMap = dict[KeyPath, int]


# Aliases may add this many values beyond those written out: enough for any real reuse of a block,
# far too few for a "billion laughs" file to cost seconds and gigabytes.
MAX_ALIAS_EXPANSION = 100_000
MAX_DEPTH = 100


def read_yaml(path: Path) -> tuple[dict[str, Any], LineMap]:
    """The mapping at the top of ``path`` and the line of every key path in it; ConfigError naming the line."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()  # parsed once: lines come from these nodes, values from the same
            if node is None:
                return {}, {}
            check_yaml_tree(node, path)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    except RecursionError:
        raise ConfigError(
            f"{path}: nested too deeply to read (more than {MAX_DEPTH} levels)",
            hint="flatten the structure; no mlgate setting needs that depth",
        ) from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the top level must be a mapping of keys, got a {type(data).__name__}")
    lines: LineMap = {}

    def walk(n: Any, prefix: KeyPath) -> None:
        if isinstance(n, yaml.MappingNode):
            for key_node, value_node in n.value:
                key = (*prefix, key_node.value)
                lines[key] = key_node.start_mark.line + 1
                walk(value_node, key)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                lines[(*prefix, i)] = item.start_mark.line + 1
                walk(item, (*prefix, i))

    walk(node, ())
    return data, lines


def check_yaml_tree(root: Any, path: Path) -> None:
    """Refuse what YAML accepts but a configuration must not hold: null or repeated keys, alias bombs, depth.

    Aliases share one node object, so sizes are memoised per node: the check costs the nodes written,
    not the nodes an alias bomb would expand to.
    """
    import yaml

    expanded: dict[int, int] = {}

    def visit(n: Any, depth: int) -> int:
        if id(n) in expanded:
            return expanded[id(n)]
        if depth > MAX_DEPTH:
            raise ConfigError(
                f"{path}:{n.start_mark.line + 1}: nested too deeply (more than {MAX_DEPTH} levels)",
                hint="flatten the structure; no mlgate setting needs that depth",
            )
        size = 1
        if isinstance(n, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for key_node, value_node in n.value:
                line = key_node.start_mark.line + 1
                if key_node.tag == "tag:yaml.org,2002:null":
                    raise ConfigError(
                        f"{path}:{line}: a key is empty or null",
                        hint="give every key a name (quote it if the name is literally 'null')",
                    )
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    ident = (key_node.tag, key_node.value)
                    if ident in seen:
                        raise ConfigError(
                            f"{path}:{line}: the key {key_node.value!r} appears twice in the same mapping "
                            f"(first at line {seen[ident]}); YAML would silently keep only the last one",
                            hint="remove or rename one of them",
                        )
                    seen[ident] = line
                size += visit(key_node, depth + 1) + visit(value_node, depth + 1)
        elif isinstance(n, yaml.SequenceNode):
            size += sum(visit(item, depth + 1) for item in n.value)
        expanded[id(n)] = size
        return size

    total = visit(root, 0)
    if total - len(expanded) > MAX_ALIAS_EXPANSION:
        raise ConfigError(
            f"{path}: its YAML aliases (*name) expand to {total:,} values, more than {MAX_ALIAS_EXPANSION:,} "
            "beyond those written out",
            hint="write the repeated blocks out, or reuse fewer of them",
        )
