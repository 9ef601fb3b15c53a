"""Stages read from ``stages:`` in ``mlgate.yaml`` and the DAG they form, checked before anything runs.

A stage needs ``cmd``; ``deps``, ``params`` (keys of ``params.yaml``, dotted for nested values), ``outs``,
``metrics`` and ``plots`` are optional, and any output may be written ``{path: {cache: false}}``. Stage B
depends on stage A when one of B's dependencies is an output of A or lies inside one. Every error names
the stages involved and the line of ``mlgate.yaml`` to fix.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.config import EXECUTORS as EXECUTORS  # re-exported: the runner checks --executor with it
from mlgate.config import Settings
from mlgate.errors import ConfigError, UsageError
from mlgate.refs import NAME_RE

PARAMS_FILE = "params.yaml"
STAGE_KEYS = {"cmd", "deps", "params", "outs", "metrics", "plots", "always_run", "desc"}
OUTPUT_KINDS = ("outs", "metrics", "plots")


@dataclass(frozen=True)
class Output:
    """A declared output: a file or folder relative to the project root."""

    path: str
    kind: str = "outs"  # outs, metrics or plots
    cache: bool = True
    where: str = field(default="mlgate.yaml", compare=False)  # file:line of the declaration


@dataclass(frozen=True)
class Stage:
    """One stage: the command, what it reads and what it writes."""

    name: str
    cmd: str
    deps: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    outs: tuple[Output, ...] = ()
    always_run: bool = False
    where: str = "mlgate.yaml"  # file:line of the stage, for messages

    @property
    def metrics(self) -> tuple[str, ...]:
        """The paths of the stage's metrics files."""
        return tuple(o.path for o in self.outs if o.kind == "metrics")


@dataclass(frozen=True)
class Pipeline:
    """Stages in dependency order, with the edges between them."""

    root: Path
    stages: dict[str, Stage]
    upstream: dict[str, tuple[str, ...]] = field(default_factory=dict)
    params_path: Path | None = None
    params_where: Mapping[tuple[str, int], str] = field(default_factory=dict)

    def select(self, targets: Iterable[str] = ()) -> list[str]:
        """The named stages and everything they depend on, in dependency order; all stages when none is named."""
        wanted = list(targets)
        if not wanted:
            return list(self.stages)
        unknown = [t for t in wanted if t not in self.stages]
        if unknown:
            raise UsageError(
                f"unknown stage {unknown[0]!r}",
                hint=f"stages in mlgate.yaml: {', '.join(self.stages) or '(none)'}",
            )
        keep: set[str] = set()
        todo = list(wanted)
        while todo:
            name = todo.pop()
            if name not in keep:
                keep.add(name)
                todo.extend(self.upstream[name])
        return [name for name in self.stages if name in keep]

    def downstream(self, name: str) -> set[str]:
        """Every stage that depends on ``name``, directly or not."""
        out: set[str] = set()
        for other in self.stages:
            todo = list(self.upstream[other])
            seen: set[str] = set()
            while todo:
                up = todo.pop()
                if up == name:
                    out.add(other)
                    break
                if up not in seen:
                    seen.add(up)
                    todo.extend(self.upstream[up])
        return out


def _norm(path: Any, where: str, what: str) -> str:
    if not isinstance(path, str) or not path.strip():
        raise ConfigError(f"{where}: {what} must be a path string, got {path!r}")
    text = path.strip().replace("\\", "/")
    norm = posixpath.normpath(text)
    if posixpath.isabs(norm) or norm == ".." or norm.startswith("../") or norm == ".":
        raise ConfigError(
            f"{where}: {what} {path!r} must be a path inside the project",
            hint="use a path relative to the folder that holds mlgate.yaml",
        )
    return norm


def check_real_path(root: Path, rel: str, where: str, what: str = "output") -> Path:
    """``root / rel``, refused when a symlink on the way (or the path itself) leads outside the project.

    ``_norm`` already refused ``..`` and absolute paths; this follows the links that exist now, right
    before a path is deleted, written or restored, so ``link -> ../outside`` cannot aim a stage at
    files elsewhere.
    """
    target = root / rel
    real_root = root.resolve()
    real = target.resolve()
    if real != real_root and real_root not in real.parents:
        raise ConfigError(
            f"{where}: {what} {rel!r} leads outside the project through a symbolic link: it resolves to {real}",
            hint=f"mlgate writes and deletes outputs only inside {real_root}; remove the link or declare a real path",
        )
    return target


def inside(child: str, parent: str) -> bool:
    """Whether ``child`` is ``parent`` or lies under it (normalised relative POSIX paths)."""
    return child == parent or child.startswith(parent + "/")


def _str_list(value: Any, where: str, what: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {what} must be a list, got {value!r}")
    return value


def _outputs(name: str, kind: str, value: Any, settings: Settings) -> list[Output]:
    out: list[Output] = []
    for i, item in enumerate(_str_list(value, settings.line_of("stages", name, kind), f"stages.{name}.{kind}")):
        where = settings.line_of("stages", name, kind, i)
        what = f"stages.{name}.{kind}[{i}]"
        cache = True
        if isinstance(item, dict):
            if "path" in item:
                path, opts = item["path"], {k: v for k, v in item.items() if k != "path"}
            elif len(item) == 1:
                path, opts = next(iter(item.items()))
                opts = opts or {}
            else:
                raise ConfigError(f"{where}: {what} must be a path or {{path: {{cache: false}}}}, got {item!r}")
            if not isinstance(opts, dict) or set(opts) - {"cache"}:
                raise ConfigError(f"{where}: {what}: the only option of an output is 'cache', got {opts!r}")
            cache = opts.get("cache", True)
            if not isinstance(cache, bool):
                raise ConfigError(f"{where}: {what}.cache must be true or false, got {cache!r}")
            item = path
        out.append(Output(_norm(item, where, what), kind, cache, where))
    return out


def _stage_name(name: Any, settings: Settings) -> str:
    """A stage name names its log file and lock block: the model-name rule, so no path or shell syntax."""
    text = str(name)
    if not NAME_RE.fullmatch(text):
        raise ConfigError(
            f"{settings.line_of('stages', text)}: stage name {text!r} is not valid: it must start with a letter or "
            "digit and contain only letters, digits, '.', '_' and '-' (at most 128 characters)",
            hint="rename the stage; its name becomes a file name under .mlgate/",
        )
    return text


def _stage(name: str, body: Any, settings: Settings) -> Stage:
    where = settings.line_of("stages", name)
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: stage {name!r} must be a mapping with at least 'cmd', got {body!r}")
    unknown = sorted(set(map(str, body)) - STAGE_KEYS)
    if unknown:
        raise ConfigError(
            f"{settings.line_of('stages', name, unknown[0])}: stage {name!r} has the unknown key {unknown[0]!r}",
            hint=f"a stage takes: {', '.join(sorted(STAGE_KEYS))}",
        )
    cmd = body.get("cmd")
    if isinstance(cmd, list) and cmd and all(isinstance(c, str) for c in cmd):
        cmd = " && ".join(cmd)
    if not isinstance(cmd, str) or not cmd.strip():
        raise ConfigError(f"{where}: stage {name!r} needs 'cmd', the command that runs it (a string)")
    deps = tuple(
        _norm(d, settings.line_of("stages", name, "deps", i), f"stages.{name}.deps[{i}]")
        for i, d in enumerate(_str_list(body.get("deps"), where, f"stages.{name}.deps"))
    )
    params: list[str] = []
    for i, p in enumerate(_str_list(body.get("params"), where, f"stages.{name}.params")):
        if not isinstance(p, str) or not p.strip():
            raise ConfigError(
                f"{settings.line_of('stages', name, 'params', i)}: stages.{name}.params[{i}] must be a key of "
                f"{PARAMS_FILE} (a string such as train or train.lr), got {p!r}"
            )
        params.append(p.strip())
    outs = [o for kind in OUTPUT_KINDS for o in _outputs(name, kind, body.get(kind), settings)]
    always = body.get("always_run", False)
    if not isinstance(always, bool):
        raise ConfigError(f"{settings.line_of('stages', name, 'always_run')}: always_run must be true or false")
    return Stage(name, cmd.strip(), deps, tuple(params), tuple(outs), always, where)


def load_pipeline(settings: Settings, *, check_files: bool = True) -> Pipeline:
    """Read and check ``stages:``: structure, outputs claimed twice, cycles, missing dependencies, params keys."""
    raw = settings.pipeline.stages  # checked there: a mapping, and a known executor
    stages = {_stage_name(name, settings): _stage(str(name), body, settings) for name, body in raw.items()}
    _check_outputs(stages, settings)
    upstream = _edges(stages, settings)
    order = _toposort(stages, upstream, settings)
    pipeline = Pipeline(
        settings.root,
        {n: stages[n] for n in order},
        {n: tuple(sorted(upstream[n])) for n in order},
        settings.root / PARAMS_FILE,
        {
            (s.name, i): settings.line_of("stages", s.name, "params", i)
            for s in stages.values()
            for i in range(len(s.params))
        },
    )
    if check_files:
        _check_missing_deps(pipeline, settings)
    return pipeline


def _check_outputs(stages: dict[str, Stage], settings: Settings) -> None:
    owners: list[tuple[str, Output]] = [(s.name, o) for s in stages.values() for o in s.outs]
    for i, (a, oa) in enumerate(owners):
        for b, ob in owners[i + 1 :]:
            if inside(oa.path, ob.path) or inside(ob.path, oa.path):
                same = oa.path == ob.path
                what = f"both write {oa.path!r}" if same else f"write overlapping outputs {oa.path!r} and {ob.path!r}"
                if a != b:
                    who = f"stages {a!r} and {b!r} {what}"
                elif same:
                    who = f"stage {a!r} declares {oa.path!r} twice (in outs and metrics or plots?)"
                else:
                    who = f"stage {a!r} declares overlapping outputs {oa.path!r} and {ob.path!r}"
                raise ConfigError(
                    f"{ob.where}: {who}",
                    hint="each file or folder must be written by exactly one stage",
                )
    for s in stages.values():
        for dep in s.deps:
            for owner, o in owners:
                if inside(o.path, dep) and o.path != dep:
                    line = settings.line_of("stages", s.name, "deps", s.deps.index(dep))
                    if owner == s.name:
                        raise ConfigError(
                            f"{line}: stage {s.name!r} writes {o.path!r} inside its own dependency {dep!r}"
                        )
                    raise ConfigError(
                        f"{line}: output {o.path!r} of stage {owner!r} lies inside {dep!r}, a dependency of stage "
                        f"{s.name!r}",
                        hint=f"list {o.path!r} itself among the deps of {s.name!r}, or move it out of {dep!r}",
                    )
                if owner == s.name and inside(dep, o.path):
                    line = settings.line_of("stages", s.name, "deps", s.deps.index(dep))
                    raise ConfigError(f"{line}: stage {s.name!r} depends on {dep!r}, which it writes itself")


def _edges(stages: dict[str, Stage], settings: Settings) -> dict[str, set[str]]:
    upstream: dict[str, set[str]] = {n: set() for n in stages}
    for s in stages.values():
        for dep in s.deps:
            for other in stages.values():
                if other.name != s.name and any(inside(dep, o.path) for o in other.outs):
                    upstream[s.name].add(other.name)
    return upstream


def _toposort(stages: dict[str, Stage], upstream: dict[str, set[str]], settings: Settings) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*path[path.index(name) :], name]
            raise ConfigError(
                f"{settings.line_of('stages', name)}: the stages form a cycle: {' → '.join(cycle)}",
                hint="a stage cannot depend, directly or not, on its own outputs",
            )
        state[name] = 1
        for up in sorted(upstream[name], key=list(stages).index):
            visit(up, [*path, name])
        state[name] = 2
        order.append(name)

    for name in stages:
        visit(name, [])
    return order


def _check_missing_deps(pipeline: Pipeline, settings: Settings) -> None:
    produced = [o.path for s in pipeline.stages.values() for o in s.outs]
    for s in pipeline.stages.values():
        for o in s.outs:
            check_real_path(pipeline.root, o.path, o.where, f"output of stage {s.name!r}")
    for s in pipeline.stages.values():
        for i, dep in enumerate(s.deps):
            if any(inside(dep, p) for p in produced):
                continue
            if not (pipeline.root / dep).exists():
                raise ConfigError(
                    f"{settings.line_of('stages', s.name, 'deps', i)}: dependency {dep!r} of stage {s.name!r} does "
                    "not exist and no stage writes it",
                    hint="create the file, fix the path, or add the stage that produces it",
                )
    if any(s.params for s in pipeline.stages.values()):
        values = load_params_file(pipeline)
        for s in pipeline.stages.values():
            for i, key in enumerate(s.params):
                param_value(values, key, pipeline.params_where[(s.name, i)], s.name, pipeline)


def load_params_file(pipeline: Pipeline) -> dict[str, Any]:
    """The parsed ``params.yaml``; errors name its line."""
    from mlgate.config import read_yaml

    path = pipeline.params_path or pipeline.root / PARAMS_FILE
    if not path.is_file():
        first = next(iter(pipeline.params_where.values()), "mlgate.yaml")
        raise ConfigError(
            f"{first}: stages read params but {path.name} does not exist in {path.parent}",
            hint=f"create {path.name} with the keys the stages list under 'params'",
        )
    values, _ = read_yaml(path)
    return values


_MISSING: Any = object()


def param_value(values: Mapping[str, Any], key: str, where: str, stage: str, pipeline: Pipeline) -> Any:
    """The value of a dotted key (``train.lr``) in params; a missing key names the stage and the line."""
    node: Any = values
    for part in key.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            node = _MISSING
            break
    if node is _MISSING:
        known = ", ".join(sorted(map(str, values))) or "(none)"
        name = pipeline.params_path.name if pipeline.params_path else PARAMS_FILE
        raise ConfigError(
            f"{where}: stage {stage!r} reads the param {key!r}, which {name} does not have",
            hint=f"top-level keys of {name}: {known}",
        )
    return node
