"""``mlgate.lock``: per stage, the command, the digests of deps and outs, and the param values.

Sorted YAML with one block per stage, so that two branches that changed different stages merge cleanly
in git. Written to a temporary file and renamed over the old one: a reader never sees half a lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgate.errors import ConfigError
from mlgate.files import write_atomic

LOCK_NAME = "mlgate.lock"
SCHEMA = "mlgate.lock/1"


def read_lock(root: Path, name: str = LOCK_NAME) -> dict[str, dict[str, Any]]:
    """``{stage: block}`` from ``mlgate.lock`` (or ``name``, relative to ``root``); empty when there is none."""
    import yaml

    path = root / name
    if not path.is_file():
        return {}
    try:
        # libyaml's loader when PyYAML has it: the lock of a large pipeline parses several times faster
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise ConfigError(
            f"{path}:{line}: {LOCK_NAME} is not valid YAML: {exc.problem}",
            hint=f"resolve the merge conflict, or delete {LOCK_NAME} and run `mlgate run` (the cache keeps it fast)",
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("stages", {}), dict):
        raise ConfigError(f"{path}: {LOCK_NAME} must hold 'stages:', a mapping of stage names to blocks")
    return {str(k): v for k, v in (data.get("stages") or {}).items() if isinstance(v, dict)}


def write_lock(root: Path, stages: dict[str, dict[str, Any]], name: str = LOCK_NAME) -> None:
    """Replace ``mlgate.lock`` (or ``name``, relative to ``root``) atomically with these blocks, sorted."""
    import yaml

    text = yaml.safe_dump(
        {"schema": SCHEMA, "stages": {k: stages[k] for k in sorted(stages)}},
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        width=1000,
    )
    write_atomic(root / name, text, durable=True)
