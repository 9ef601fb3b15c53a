"""``mlgate run``: stale stages in dependency order, independent ones in parallel, each result cached.

For each stage, once every stage it depends on has succeeded: up to date with ``mlgate.lock`` → nothing
to do; its key in the run cache → outputs restored from the artifact store; otherwise the command runs,
as a subprocess here (the local executor) or as a Ray task (``executor: ray``), with the run's settings
in its environment (:func:`stage_environment`: registry, artifacts, actor, run id), so that what a stage
registers lands where the run is recorded. Declared outputs are removed before the command runs, so a
stale file cannot pass for a new one. The outputs are cached only after the command exited 0, every
declared output exists and no dependency changed meanwhile; the versions the command registered are kept
in the same cache entry. A failing stage stops its dependents; the others go on and stay cached.

A run that ran, restored or failed something is recorded in the registry at once; a no-op run is
deferred (see :mod:`mlgate.pipeline.journal`) so that it opens neither the registry nor git.

This module is the orchestration; running one command (its environment, its log, what it registered)
is :mod:`mlgate.pipeline.command`, the results and the run's record :mod:`mlgate.pipeline.results`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import EnvironmentProblem, MlgateError, UsageError
from mlgate.pipeline.cache import RunCache

# StageError, the LOG_* limits, stage_environment and the result types are re-exported: importers use this module
from mlgate.pipeline.command import LOG_LINE as LOG_LINE
from mlgate.pipeline.command import LOG_TAIL as LOG_TAIL
from mlgate.pipeline.command import StageError as StageError
from mlgate.pipeline.command import run_stage_command, tail_of
from mlgate.pipeline.command import stage_environment as stage_environment
from mlgate.pipeline.digests import StatCache
from mlgate.pipeline.lock import LOCK_NAME, read_lock, write_lock
from mlgate.pipeline.results import RunResult as RunResult
from mlgate.pipeline.results import StageResult as StageResult
from mlgate.pipeline.results import read_metrics, record_run
from mlgate.pipeline.runlock import project_lock
from mlgate.pipeline.spec import EXECUTORS, Pipeline, Stage, check_real_path
from mlgate.pipeline.status import SMOKE_LOCK, Context, Inputs, require_stages, state_dir

if TYPE_CHECKING:
    from concurrent.futures import Future

    from mlgate.config import Settings
    from mlgate.registry.store import Registry


# ("wait", holder of the project lock), ("start", stage), ("running" | "restoring", stage) when the stage
# needs its command or the cache, ("done", StageResult)
Event = Callable[[str, "StageResult | str"], None]
# called with each finished stage; a reason returned holds back every stage downstream of it
Hold = Callable[["StageResult"], "str | None"]


def run(
    settings: Settings,
    targets: Iterable[str] = (),
    *,
    force: bool = False,
    dry_run: bool = False,
    jobs: int = 1,
    lock_timeout: float = 300.0,
    on_event: Event | None = None,
    record: bool = True,
    smoke: bool = False,
    executor: str | None = None,
    hold: Hold | None = None,
) -> RunResult:
    """Bring the selected stages (and what they depend on) up to date; record the run in the registry.

    ``smoke`` uses the ``smoke:`` overrides of ``params.yaml`` and caches apart; ``executor`` is ``local``
    or ``ray`` (default: ``executor:`` in ``mlgate.yaml``, else local). ``hold`` sees each finished stage;
    a reason it returns skips the stages downstream (``mlgate ci``: their input data failed validation).
    """
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    how = executor_of(settings, executor)
    pipeline = require_stages(settings)
    names = pipeline.select(targets)
    started, t0 = datetime.now(UTC), time.monotonic()
    run_id = os.urandom(6).hex()  # 48 random bits, as uuid4().hex[:12] gave, without importing uuid
    lock_name = SMOKE_LOCK if smoke else LOCK_NAME
    if dry_run:
        stat = StatCache(state_dir(settings.root) / "stat.json")
        ctx = Context(pipeline, stat, read_lock(settings.root, lock_name), smoke=smoke)
        results = _dry_run(pipeline, names, ctx, settings, force)
        return RunResult(run_id, results, {}, {}, started, time.monotonic() - t0, True, smoke, how)
    waiting = (lambda who: on_event("wait", who)) if on_event else None
    with project_lock(
        state_dir(settings.root) / "run.lock", timeout=lock_timeout, user=settings.actor, on_wait=waiting
    ):
        runner = _Runner(
            pipeline, settings, force=force, jobs=jobs, on_event=on_event, run_id=run_id, smoke=smoke, executor=how
        )
        runner.hold = hold
        results = runner.run(names)
        params = {k: v for n in names for k, v in runner.params_of(pipeline.stages[n]).items()}
        metrics = read_metrics(pipeline, names)
    result = RunResult(run_id, results, params, metrics, started, time.monotonic() - t0, False, smoke, how)
    if record:
        record_run(settings, result, names)
    return result


def executor_of(settings: Settings, executor: str | None) -> str:
    """The executor asked for (``--executor``), else ``executor:`` in ``mlgate.yaml``, else ``local``."""
    if executor is not None:
        if executor not in EXECUTORS:
            raise UsageError(f"unknown executor {executor!r}", hint=f"use one of: {', '.join(EXECUTORS)}")
        return executor
    return settings.pipeline.executor or "local"  # checked against EXECUTORS where the section is read


def _dry_run(pipeline: Pipeline, names: list[str], ctx: Context, settings: Settings, force: bool) -> list[StageResult]:
    cache = RunCache(settings.artifacts, s3_endpoint_url=settings.s3_endpoint_url)
    will_run: set[str] = set()
    out = []
    for name in names:
        stage = pipeline.stages[name]
        ups = [u for u in pipeline.upstream[name] if u in will_run]
        if ups:
            will_run.add(name)
            out.append(StageResult(name, "would run", reasons=[f"upstream stage {u!r} will run" for u in ups]))
            continue
        inputs = ctx.inputs(stage)
        why = ["--force"] if force else ctx.reasons(stage, inputs)
        if not why:
            out.append(StageResult(name, "up to date", key=inputs.key))
        elif not force and not stage.always_run and not inputs.missing and cache.get(inputs.key) is not None:
            out.append(StageResult(name, "would restore", reasons=why, key=inputs.key))
        else:
            will_run.add(name)
            out.append(StageResult(name, "would run", reasons=why, key=inputs.key))
    return out


class _Runner:
    def __init__(
        self,
        pipeline: Pipeline,
        settings: Settings,
        *,
        force: bool,
        jobs: int,
        on_event: Event | None,
        run_id: str,
        smoke: bool = False,
        executor: str = "local",
    ) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.root = pipeline.root
        self.state = state_dir(self.root)
        self.stat = StatCache(self.state / "stat.json")
        self.lock_name = SMOKE_LOCK if smoke else LOCK_NAME
        self.ctx = Context(pipeline, self.stat, read_lock(self.root, self.lock_name), smoke=smoke)
        self.cache = RunCache(settings.artifacts, s3_endpoint_url=settings.s3_endpoint_url)
        self.force = force
        self.jobs = jobs
        self.on_event = on_event
        self.executor = executor
        self.run_id = run_id
        self.env = stage_environment(settings, run_id)
        self._registry: Registry | None = None  # opened before the first command runs
        if smoke:
            self.env.update(MLGATE_SMOKE="1", MLGATE_PARAMS_FILE=str(self._smoke_params_file()))
        self._inputs: dict[str, Inputs] = {}
        self._lock_mutex = threading.Lock()
        self.hold: Hold | None = None
        self._held: dict[str, str] = {}  # stage → why what it produced must not be used

    def _smoke_params_file(self) -> Path:
        """The merged smoke params, where a stage's script finds them through ``MLGATE_PARAMS_FILE``."""
        import yaml

        path = self.state / "smoke" / "params.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.ctx.params, sort_keys=True), encoding="utf-8")
        return path

    def params_of(self, stage: Stage) -> dict[str, Any]:
        """The param values a stage ran (or was checked) with; computed again only if it never got that far."""
        if stage.name in self._inputs:
            return self._inputs[stage.name].params
        try:
            return self.ctx.inputs(stage).params
        except MlgateError:
            return {}

    def _event(self, kind: str, payload: StageResult | str) -> None:
        if self.on_event is not None:
            self.on_event(kind, payload)

    def run(self, names: list[str]) -> list[StageResult]:
        """Bring ``names`` (in dependency order) up to date; a stage whose upstream failed is skipped."""
        try:
            done = self._run_serial(names) if self.jobs == 1 else self._run_parallel(names)
        finally:
            self.stat.save()
            if self._registry is not None:
                self._registry.close()
        return [done[n] for n in names]

    def _blocked(self, name: str, done: dict[str, StageResult]) -> StageResult | None:
        """The stage's 'skipped' result when one of its upstream stages failed, was skipped or is held."""
        bad = [
            u
            for u in self.pipeline.upstream[name]
            if u in done and (done[u].outcome in ("failed", "skipped") or u in self._held)
        ]
        if not bad:
            return None
        return StageResult(name, "skipped", reasons=[self._held.get(bad[0], f"stage {bad[0]!r} did not succeed")])

    def _finished(self, result: StageResult) -> None:
        self._event("done", result)
        why = self.hold(result) if self.hold is not None else None
        if why and result.outcome in ("ran", "cached"):
            self._held[result.name] = why

    def _run_serial(self, names: list[str]) -> dict[str, StageResult]:
        # --jobs 1 (the default) needs no thread pool, nor the import of concurrent.futures on a no-op run
        done: dict[str, StageResult] = {}
        for name in names:
            result = self._blocked(name, done)
            if result is None:
                self._event("start", name)
                result = self._stage(self.pipeline.stages[name])
            done[name] = result
            self._finished(result)
        return done

    def _run_parallel(self, names: list[str]) -> dict[str, StageResult]:
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        done: dict[str, StageResult] = {}
        pending = list(names)
        running: dict[Future[StageResult], str] = {}
        with ThreadPoolExecutor(self.jobs) as pool:
            while pending or running:
                for name in list(pending):
                    ups = [u for u in self.pipeline.upstream[name] if u in names]
                    blocked = self._blocked(name, done)
                    if blocked is not None:
                        pending.remove(name)
                        done[name] = blocked
                        self._finished(blocked)
                    elif all(u in done for u in ups) and len(running) < self.jobs:
                        pending.remove(name)
                        self._event("start", name)
                        running[pool.submit(self._stage, self.pipeline.stages[name])] = name
                if not running:
                    continue
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    name = running.pop(fut)
                    done[name] = fut.result()
                    self._finished(done[name])
        return done

    def _stage(self, stage: Stage) -> StageResult:
        t0 = time.monotonic()
        log = self.state / "logs" / f"{stage.name}.log"
        try:
            outcome, restored, why, key = self._bring_up_to_date(stage, log)
        except StageError as exc:
            return StageResult(
                stage.name, "failed", time.monotonic() - t0, error=str(exc), log_tail=exc.log_tail, log_path=str(log)
            )
        except MlgateError as exc:
            if isinstance(exc, EnvironmentProblem):
                raise  # the registry, the store or Ray is down: exit 3 for the run, not a failed stage
            return StageResult(stage.name, "failed", time.monotonic() - t0, error=str(exc))
        if outcome != "ran":
            return StageResult(stage.name, outcome, time.monotonic() - t0, restored, why, key)
        # what the command printed last ("registered fraud:3 …") is shown with the run's result
        return StageResult(
            stage.name, outcome, time.monotonic() - t0, restored, why, key, log_tail=tail_of(log), log_path=str(log)
        )

    def _bring_up_to_date(self, stage: Stage, log: Path) -> tuple[str, int, list[str], str]:
        inputs = self.ctx.inputs(stage)
        self._inputs[stage.name] = inputs
        if inputs.missing:
            raise StageError(
                f"stage {stage.name!r}: dependency {inputs.missing[0]!r} does not exist",
                hint="the stage that writes it did not produce it, or the file was removed",
            )
        why = ["--force"] if self.force else self.ctx.reasons(stage, inputs)
        if not why:
            return "cached", 0, [], inputs.key
        if not self.force and not stage.always_run:
            restored = self._restore(stage, inputs)
            if restored is not None:
                return "cached", restored, why, inputs.key
        self._event("running", stage.name)
        from mlgate.pipeline.lease import stage_lease

        with stage_lease(self._preflight(), inputs.key) as waited:
            if waited and not self.force and not stage.always_run:
                restored = self._restore(stage, inputs)  # the runner that held the lease computed it
                if restored is not None:
                    return "cached", restored, why, inputs.key
            registered = run_stage_command(
                stage,
                log,
                root=self.root,
                state=self.state,
                env=self.env,
                run_id=self.run_id,
                executor=self.executor,
                ray_address=self.settings.ray_address,
            )
            self._save(stage, inputs, log, registered)
        return "ran", 0, why, inputs.key

    def _preflight(self) -> Registry:
        """Before the first command: the registry must answer, or a stage would train for nothing.

        A stage that registers a model (``log_model``) needs it, and the run is recorded there; failing
        here is an environment problem (exit 3) instead of a failed stage after minutes of training. The
        open registry then holds the stages' leases (:mod:`mlgate.pipeline.lease`) until the run ends.
        """
        with self._lock_mutex:
            if self._registry is None:
                from mlgate.registry.store import Registry

                reg = Registry(settings=self.settings)
                reg.engine  # connects and migrates; raises EnvironmentProblem when unreachable  # noqa: B018
                self._registry = reg
            return self._registry

    def _restore(self, stage: Stage, inputs: Inputs) -> int | None:
        entry = self.cache.get(inputs.key)
        if entry is None:
            return None
        if any(not o.cache and not (self.root / o.path).exists() for o in stage.outs):
            return None  # an uncached output is gone: only the command can make it
        self._event("restoring", stage.name)
        restored = 0
        outs: dict[str, str] = {}
        for o in stage.outs:
            if not o.cache:
                outs[o.path] = self.ctx.out_digest(o.path) or ""
                continue
            want = entry.outs[o.path]["digest"]
            if self.ctx.out_digest(o.path) != want:
                restored += self.cache.restore(entry, o.path, self.root)
            outs[o.path] = want
        self._lock_update(stage, inputs, outs)
        return restored

    def _save(self, stage: Stage, inputs: Inputs, log: Path, registered: list[dict[str, Any]]) -> None:
        missing = [o for o in stage.outs if not (self.root / o.path).exists()]
        if missing:
            raise StageError(
                f"stage {stage.name!r} exited 0 but did not produce its declared output(s) "
                f"{', '.join(repr(o.path) for o in missing)} ({missing[0].where}); nothing was cached",
                hint=f"make `{stage.cmd}` write them, or fix the stage's outputs in mlgate.yaml",
                log_tail=tail_of(log),
            )
        after = self.ctx.inputs(stage)
        if after.deps != inputs.deps or after.missing:
            changed = sorted({*after.missing, *(d for d in inputs.deps if after.deps.get(d) != inputs.deps[d])})
            raise StageError(
                f"stage {stage.name!r}: dependency {changed[0]!r} changed or vanished while the stage ran; "
                "nothing was cached",
                hint="do not edit a stage's inputs while it runs (or declare what the command writes as 'outs')",
            )
        cached: dict[str, tuple[str, str, dict[str, dict[str, Any]]]] = {}
        outs: dict[str, str] = {}
        for o in stage.outs:
            # a command that made its output a link to files elsewhere must not get them cached
            path = check_real_path(self.root, o.path, o.where, f"output of stage {stage.name!r}")
            files = self.stat.manifest(path)
            digest = self.stat.digest(path)
            outs[o.path] = digest
            if o.cache:
                cached[o.path] = ("dir" if path.is_dir() else "file", digest, files)
        self.cache.put(inputs.key, stage.name, cached, self.root, registered=registered)
        self._lock_update(stage, inputs, outs)

    def _lock_update(self, stage: Stage, inputs: Inputs, outs: dict[str, str]) -> None:
        block = {"cmd": stage.cmd, "deps": inputs.deps, "params": inputs.params, "outs": outs, "env": inputs.env_digest}
        with self._lock_mutex:
            self.ctx.lock[stage.name] = block
            # re-read so that blocks of stages outside this run (written by an older run) survive
            current = read_lock(self.root, self.lock_name)
            current[stage.name] = block
            write_lock(self.root, current, self.lock_name)
