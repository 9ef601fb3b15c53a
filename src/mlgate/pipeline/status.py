"""Why a stage is stale: the exact file, param, command, environment or output that differs from ``mlgate.lock``.

A smoke run (``--smoke``) uses the ``smoke:`` section of ``params.yaml`` deep-merged over the other params,
keys its cache entries apart, and keeps its own lock (``.mlgate/pipeline/smoke.lock``), so that
``mlgate.lock`` always describes the full pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import ConfigError, UsageError
from mlgate.hashing import digest_json
from mlgate.pipeline.cache import environment, stage_key
from mlgate.pipeline.digests import StatCache
from mlgate.pipeline.lock import LOCK_NAME, read_lock
from mlgate.pipeline.spec import PARAMS_FILE, Pipeline, Stage, load_params_file, load_pipeline, param_value

if TYPE_CHECKING:
    from mlgate.config import Settings

SMOKE_KEY = "smoke"
SMOKE_LOCK = ".mlgate/pipeline/smoke.lock"


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

    def __init__(
        self, pipeline: Pipeline, stat: StatCache, lock: dict[str, dict[str, Any]], *, smoke: bool = False
    ) -> None:
        self.pipeline = pipeline
        self.root = pipeline.root
        self.stat = stat
        self.lock = lock
        self.smoke = smoke
        needs_params = smoke or any(s.params for s in pipeline.stages.values())
        self.params = load_params_file(pipeline) if needs_params else {}
        if smoke:
            self.params = smoke_params(self.params, pipeline)
        self.env = environment(pipeline.root, cache=state_dir(pipeline.root) / "env.json")
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
        # smoke runs key apart: a command may behave differently under MLGATE_SMOKE even with the same params
        env = {"digest": self.env_digest, "smoke": True} if self.smoke else {"digest": self.env_digest}
        key = stage_key(stage, deps, params, env)
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


def status(settings: Settings, targets: Iterable[str] = (), *, smoke: bool = False) -> list[StageStatus]:
    """Which stages are stale and exactly why (reads only; takes no lock, opens no registry)."""
    pipeline = require_stages(settings)
    stat = StatCache(state_dir(settings.root) / "stat.json")
    lock = read_lock(settings.root, SMOKE_LOCK if smoke else LOCK_NAME)
    out = pipeline_status(pipeline, pipeline.select(targets), stat, lock, smoke=smoke)
    stat.save()
    return out


def require_stages(settings: Settings) -> Pipeline:
    """The checked pipeline; an error when ``mlgate.yaml`` declares no stage."""
    if settings.config_path is None:
        raise UsageError(
            f"no mlgate.yaml in {settings.root} or any folder above it, so there are no stages to run",
            hint="run `mlgate init` in the project, then add a 'stages:' section (see docs/pipelines.md)",
        )
    pipeline = load_pipeline(settings)
    if not pipeline.stages:
        raise UsageError(
            f"{settings.line_of()}: there are no stages to run",
            hint="add a 'stages:' section to mlgate.yaml (see docs/pipelines.md)",
        )
    return pipeline


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base``: mappings merge key by key, any other value replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def smoke_params(values: Mapping[str, Any], pipeline: Pipeline) -> dict[str, Any]:
    """The params a smoke run uses: the ``smoke:`` section of ``params.yaml`` deep-merged over the rest."""
    name = pipeline.params_path.name if pipeline.params_path else PARAMS_FILE
    over = values.get(SMOKE_KEY)
    if not isinstance(over, Mapping) or not over:
        raise ConfigError(
            f"{pipeline.params_path or name}: --smoke needs a '{SMOKE_KEY}:' section in {name}, a mapping of the "
            f"values to override, got {over!r}",
            hint=f"add for instance '{SMOKE_KEY}: {{train: {{epochs: 1}}, prepare: {{fraction: 0.01}}}}' to {name}",
        )
    return deep_merge({k: v for k, v in values.items() if k != SMOKE_KEY}, over)


def pipeline_status(
    pipeline: Pipeline,
    names: list[str],
    stat: StatCache,
    lock: dict[str, dict[str, Any]],
    *,
    smoke: bool = False,
) -> list[StageStatus]:
    """Each named stage, stale or not, with the reasons; a stale upstream makes its dependents stale."""
    ctx = Context(pipeline, stat, lock, smoke=smoke)
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
