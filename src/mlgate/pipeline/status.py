"""Why a stage is stale: the exact file, param, command, environment or output that differs from ``mlgate.lock``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.hashing import digest_json
from mlgate.pipeline.cache import environment, stage_key
from mlgate.pipeline.digests import StatCache
from mlgate.pipeline.spec import Pipeline, Stage, load_params_file, param_value


@dataclass(frozen=True)
class Inputs:
    """What a stage would run on now, and the cache key that names it."""

    deps: dict[str, str]
    params: dict[str, Any]
    env_digest: str
    key: str
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class StageStatus:
    """One stage's state for ``mlgate status``."""

    name: str
    stale: bool
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"stage": self.name, "stale": self.stale, "reasons": self.reasons}


class Context:
    """What every stage of one command shares: the stat cache, params, environment and the lock's blocks."""

    def __init__(self, pipeline: Pipeline, stat: StatCache, lock: dict[str, dict[str, Any]]) -> None:
        self.pipeline = pipeline
        self.root = pipeline.root
        self.stat = stat
        self.lock = lock
        self.params = load_params_file(pipeline) if any(s.params for s in pipeline.stages.values()) else {}
        self.env = environment(pipeline.root)
        self.env_digest = digest_json(self.env)

    def inputs(self, stage: Stage) -> Inputs:
        """Digests of the stage's deps (missing ones listed apart), its param values and its key."""
        deps: dict[str, str] = {}
        missing: list[str] = []
        for dep in stage.deps:
            try:
                deps[dep] = self.stat.digest(self.root / dep)
            except FileNotFoundError:
                missing.append(dep)
        params = {
            key: param_value(self.params, key, self.pipeline.params_where[(stage.name, i)], stage.name, self.pipeline)
            for i, key in enumerate(stage.params)
        }
        key = stage_key(stage, deps, params, {"digest": self.env_digest})
        return Inputs(deps, params, self.env_digest, key, tuple(missing))

    def out_digest(self, path: str) -> str | None:
        """The current digest of an output, or None when it does not exist."""
        try:
            return self.stat.digest(self.root / path)
        except FileNotFoundError:
            return None

    def reasons(self, stage: Stage, inputs: Inputs) -> list[str]:
        """Everything that differs from the stage's block in ``mlgate.lock``; empty when it is up to date."""
        block = self.lock.get(stage.name)
        if block is None:
            return ["never ran (no block in mlgate.lock)"]
        why: list[str] = []
        if stage.always_run:
            why.append("always_run is set")
        if block.get("cmd") != stage.cmd:
            why.append(f"command changed: {block.get('cmd')!r} → {stage.cmd!r}")
        why.extend(f"dependency {d!r} is missing" for d in inputs.missing)
        why.extend(_diff("dependency", block.get("deps") or {}, inputs.deps, values=False, ignore=inputs.missing))
        why.extend(_diff("param", block.get("params") or {}, inputs.params, values=True))
        if block.get("env") != inputs.env_digest:
            why.append("environment changed (the Python version or a pinned package's version)")
        recorded = block.get("outs") or {}
        for o in stage.outs:
            now = self.out_digest(o.path)
            if now is None:
                why.append(f"output {o.path!r} is missing")
            elif o.path not in recorded:
                why.append(f"output {o.path!r} is new")
            elif recorded[o.path] != now:
                why.append(f"output {o.path!r} was modified")
        return why


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _diff(
    what: str, old: dict[str, Any], new: dict[str, Any], *, values: bool, ignore: tuple[str, ...] = ()
) -> list[str]:
    out = []
    for k in sorted(set(old) | set(new)):
        if k in ignore:
            continue
        if k not in old:
            out.append(f"{what} {k!r} was added")
        elif k not in new:
            out.append(f"{what} {k!r} was removed from the stage")
        elif old[k] != new[k]:
            out.append(
                f"{what} {k!r} changed: {_show(old[k])} → {_show(new[k])}" if values else f"{what} {k!r} changed"
            )
    return out


def pipeline_status(
    pipeline: Pipeline, names: list[str], stat: StatCache, lock: dict[str, dict[str, Any]]
) -> list[StageStatus]:
    """Each named stage, stale or not, with the reasons; a stale upstream makes its dependents stale."""
    ctx = Context(pipeline, stat, lock)
    stale: set[str] = set()
    out: list[StageStatus] = []
    for name in names:
        stage = pipeline.stages[name]
        why = ctx.reasons(stage, ctx.inputs(stage))
        why.extend(f"upstream stage {up!r} is stale" for up in pipeline.upstream[name] if up in stale)
        if why:
            stale.add(name)
        out.append(StageStatus(name, bool(why), why))
    return out


def state_dir(root: Path) -> Path:
    """``.mlgate/pipeline``: the stat cache, the logs and the run lock."""
    return root / ".mlgate" / "pipeline"
