"""Rollouts: start one on a gated candidate, step it on evidence, abort or promote it.

The state lives only in the registry (:mod:`mlgate.registry.rollouts`): a controller is a loop around
:func:`step`, which reads the rollout, analyses canary against stable on the prediction log, and applies
one decision by compare-and-set. A controller killed at any point resumes from what was recorded; two
controllers on one rollout cannot both apply a decision (the loser's update is a ConflictError and it
reads again on its next tick).

The rule for each tick (:func:`next_action`, a pure function the benchmark drives with a simulated clock):

- the analysis **fails** → abort now, whatever the pause: weight 0, the alias stays on the stable version;
- it **passes** and the step's pause is over → the next step, or, after the last step or when the next
  one is 100%, the promotion: the alias moves by compare-and-set through :func:`mlgate.promotion.promote`
  (so the candidate still needs its passing gate report), and the alias event names the analysis;
- it **waits** (no data, too little, inconclusive) → wait; past the pause plus the analysis's
  ``deadline``, abort. Inconclusive never promotes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlgate.config import Settings, load_settings
from mlgate.delivery.analysis import FAIL, PASS, AnalysisResult, Arm, analyse, calibrations, read_log
from mlgate.errors import ConflictError, NotFoundError, UsageError
from mlgate.refs import parse_ref
from mlgate.registry.rollouts import Rollout, check_steps

if TYPE_CHECKING:
    from mlgate.config.sections import AnalysisConfig
    from mlgate.registry.store import Registry

Observe = Callable[[Rollout, datetime, datetime], tuple[Arm, Arm]]

WAIT, ADVANCE, PROMOTE, ABORT = "wait", "advance", "promote", "abort"


@dataclass(frozen=True)
class StepOutcome:
    """What one tick of the controller did: ``action`` is wait, advance, promote, abort, paused or done."""

    rollout: Rollout
    action: str
    message: str
    analysis: AnalysisResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "action": self.action,
            "message": self.message,
            "rollout": self.rollout.to_dict(),
            "analysis": self.analysis.to_dict() if self.analysis else None,
        }


def _open(settings: Settings | None, registry: Registry | None) -> tuple[Settings, Registry]:
    from mlgate.registry.store import Registry

    settings = settings or (registry.settings if registry is not None else load_settings())
    return settings, registry if registry is not None else Registry(settings=settings)


def analysis_config(settings: Settings, name: str | None) -> AnalysisConfig:
    """The named analysis of ``delivery.analyses`` (``default`` always exists); UsageError naming the known ones."""
    delivery = settings.delivery
    name = name or delivery.analysis
    if name not in delivery.analyses:
        raise UsageError(
            f"unknown analysis {name!r}: mlgate.yaml defines {', '.join(sorted(delivery.analyses))}",
            hint="name one of them with --analysis, or add it under delivery: analyses: in mlgate.yaml",
        )
    return delivery.analyses[name]


def split_target(target: str) -> tuple[str, str]:
    """``fraud@production`` → ``("fraud", "production")``; UsageError otherwise."""
    ref = parse_ref(target)
    if ref.alias is None:
        raise UsageError(f"{target!r} names no alias: a rollout is named by MODEL@ALIAS, e.g. fraud@production")
    return ref.name, ref.alias


class NoSuchAlias(NotFoundError):
    """The alias a rollout or A/B test was looked up on does not exist."""


def find(reg: Registry, target: str, *, active_only: bool = False) -> Rollout:
    """The active rollout of ``NAME@ALIAS``, else (unless ``active_only``) its latest one.

    NotFoundError (exit 2) saying which is missing: the alias itself, or a rollout on it.
    """
    name, alias = split_target(target)
    try:
        return reg.rollout(name, alias, active_only=active_only)
    except NotFoundError:
        held = reg.aliases(name)
        if alias not in held:
            known = ", ".join(f"{name}@{a}" for a in sorted(held)) or "none"
            raise NoSuchAlias(
                f"{name}@{alias} does not exist (the aliases of {name}: {known})",
                hint=f"check the alias's spelling; `mlgate promote {name}:VERSION --to {alias}` creates it",
            ) from None
        raise


def start(
    ref: str,
    *,
    alias: str = "production",
    steps: Sequence[float] | None = None,
    pause_s: float | None = None,
    analysis: str | None = None,
    data: Any = None,
    settings: Settings | None = None,
    registry: Registry | None = None,
    require_log: bool = True,
) -> Rollout:
    """Start rolling ``ref`` out on ``alias``, at its first step; nothing is recorded unless every check passes.

    Refused: a smoke version, an alias nobody holds yet (promote the first version instead), the version
    already holding it, steps not increasing within (0, 100], an unknown analysis, no prediction log to
    analyse (``serve.log`` or ``delivery.log``; ``require_log=False`` skips this), a signature the alias
    requires and lacks, and, for a protected alias, a candidate without a passing gate report against
    the holder (CheckFailed, exit 1: :func:`mlgate.promotion.find_passing_report`, the promotion rule).
    """
    from mlgate.promotion import find_passing_report, protected_aliases, refuse_smoke
    from mlgate.signing import verify_signatures

    settings, reg = _open(settings, registry)
    delivery = settings.delivery
    spec = analysis_config(settings, analysis)
    steps = check_steps(delivery.steps if steps is None else steps)
    if steps[0] >= 100:
        raise UsageError(
            "the first step is 100%: the stable version would serve nothing to compare the candidate with",
            hint="start lower (--steps 5,25,50,100), or promote directly with `mlgate promote`",
        )
    pause = delivery.pause_s if pause_s is None else float(pause_s)
    if pause < 0:
        raise UsageError(f"--pause cannot be negative, got {pause:g} s")
    if require_log and delivery.log is None:
        raise UsageError(
            "a rollout analyses the prediction log, and mlgate.yaml names none",
            hint="set serve: {log: logs/} (what mlgate serve writes) or delivery: {log: …}",
        )
    mv = reg.get(ref)
    refuse_smoke(mv, alias)
    holder = reg.aliases(mv.name).get(alias)
    if holder is None:
        raise UsageError(
            f"{mv.name}@{alias} points to no version yet, so there is no stable version to roll out against",
            hint=f"promote the first version directly: `mlgate promote {mv.ref} --to {alias}`",
        )
    if holder == mv.number:
        raise UsageError(f"{mv.name}@{alias} already points to {mv.ref}; there is nothing to roll out")
    try:
        active = reg.rollout(mv.name, alias, active_only=True)
    except NotFoundError:
        active = None
    if active is not None:  # said before the gate is looked up; the database refuses it anyway, at the insert
        raise UsageError(
            f"{mv.name}@{alias} already has an active rollout (#{active.id}, of {active.candidate_ref}); "
            "one alias takes one rollout",
            hint=f"see `mlgate rollout status {mv.name}@{alias}`; `mlgate rollout abort {mv.name}@{alias}` ends it",
        )
    verify_signatures(reg, mv, alias=alias, settings=settings)
    report = None
    if alias in protected_aliases(settings):
        from mlgate.refs import Ref

        holder_mv = reg.get(Ref(mv.name, number=holder))
        report = find_passing_report(reg, mv, holder_mv, settings, data=data, alias=alias).report_digest
    return reg.start_rollout(
        mv.name, alias, mv.number, stable=holder, steps=steps, analysis=spec.name, pause_s=pause, gate_report=report
    )


def next_action(
    steps: Sequence[float],
    step: int,
    step_started_at: datetime,
    pause_s: float,
    deadline_s: float,
    result: AnalysisResult,
    now: datetime,
) -> tuple[str, str]:
    """The decision of one tick, from the state and the analysis alone: ``(action, why)``."""
    if result.decision == FAIL:
        return ABORT, f"analysis failed: {result.reason}"
    elapsed = (now - step_started_at).total_seconds()
    if result.decision == PASS:
        if elapsed < pause_s:
            return WAIT, f"analysis passes; the step's pause ends in {pause_s - elapsed:.0f} s"
        last = step + 1 >= len(steps) or steps[step + 1] >= 100
        return (PROMOTE if last else ADVANCE), f"analysis passed: {result.reason}"
    if elapsed >= pause_s + deadline_s:
        return (
            ABORT,
            f"still inconclusive at the deadline ({pause_s + deadline_s:.0f} s into the step): {result.reason}",
        )
    return WAIT, result.reason


def step(
    target: str,
    *,
    settings: Settings | None = None,
    registry: Registry | None = None,
    now: datetime | None = None,
    observe: Observe | None = None,
    environ: Mapping[str, str] | None = None,
) -> StepOutcome:
    """One tick of the controller for ``NAME@ALIAS``: analyse, then wait, advance, promote or abort.

    ``observe(rollout, since, until)`` gives (canary, stable) arms; by default the prediction log
    (``delivery.log``) over the rollout's whole life, both sides on the same window. An abort alerts
    the webhooks of ``monitor.webhooks`` (their secrets read from ``environ``), after it is recorded.
    """
    settings, reg = _open(settings, registry)
    name, alias = split_target(target)
    r = find(reg, target)
    if not r.active:
        return StepOutcome(r, "done", f"rollout #{r.id} of {r.candidate_ref} is {r.status}")
    if r.kind == "abtest":  # held at its split until `mlgate abtest stop`: nothing for a controller to step
        return StepOutcome(r, "abtest", f"#{r.id} is an A/B test at {r.weight:g}%; see `mlgate abtest status {target}`")
    if r.status == "paused":
        return StepOutcome(r, "paused", f"rollout #{r.id} is paused at {r.weight:g}%; `mlgate rollout resume`")
    now = now or datetime.now(UTC)
    spec = analysis_config(settings, r.analysis)
    if observe is None:
        folder = settings.delivery.log
        if folder is None:
            raise UsageError("mlgate.yaml names no prediction log (serve.log or delivery.log) for the analysis")

        def observe(ro: Rollout, since: datetime, until: datetime) -> tuple[Arm, Arm]:
            versions = (ro.candidate, ro.stable)
            # labels where `mlgate labels add` keeps them; CBPE only when both versions are calibrated
            labels = settings.root / ".mlgate" / "monitor" / "labels"
            cal = calibrations(reg, ro.name, versions) if spec.performance in ("auto", "estimated") else {}
            arms = read_log(folder, ro.name, versions, since, until, labels=labels, calibrations=cal)
            return arms[ro.candidate], arms[ro.stable]

    canary, stable = observe(r, r.created_at, now)
    result = analyse(canary, stable, spec, since=r.created_at, until=now)
    action, why = next_action(r.steps, r.step, r.step_started_at, r.pause_s, spec.deadline_s, result, now)
    if action == ABORT:
        r = reg.update_rollout(
            r, kind="abort", status="aborted", weight=0.0, last_analysis=_stamped(result, now), detail=result.to_dict()
        )
        from mlgate.delivery.alerts import alert_abort

        alert_abort(reg, settings, r, result, why, environ or {})
        return StepOutcome(r, ABORT, f"aborted {r.candidate_ref} on {name}@{alias}: {why}", result)
    if action == ADVANCE:
        nxt = r.step + 1
        r = reg.update_rollout(
            r,
            kind="step",
            step=nxt,
            weight=r.steps[nxt],
            step_started_at=now,
            last_analysis=_stamped(result, now),
            detail=result.to_dict(),
        )
        return StepOutcome(r, ADVANCE, f"{r.candidate_ref} now takes {r.weight:g}% of {name}@{alias}: {why}", result)
    if action == PROMOTE:
        r = _promote(reg, settings, r, result, why, now)
        return StepOutcome(r, PROMOTE, f"promoted {r.candidate_ref} to {name}@{alias}: {why}", result)
    # the row always holds the latest analysis and its time (what `rollout status` shows); an event only
    # when it says something new, so the history is not one line per tick
    r = reg.update_rollout(
        r, kind="analysis", last_analysis=_stamped(result, now), detail=result.to_dict(), event=_changed(r, result)
    )
    return StepOutcome(r, WAIT, why, result)


def _stamped(result: AnalysisResult, now: datetime) -> dict[str, Any]:
    """The analysis as stored on the rollout row, with ``at``: when it was made (ISO, UTC)."""
    return {**result.to_dict(), "at": now.isoformat()}


def _changed(r: Rollout, result: AnalysisResult) -> bool:
    """Whether a waiting analysis says something new (an event then, not on every tick)."""
    if r.last_analysis is None:
        return True
    before = str(r.last_analysis.get("reason", "")).split(":")[0]
    return bool(r.last_analysis.get("decision") != result.decision or before != result.reason.split(":")[0])


def _promote(
    reg: Registry,
    settings: Settings,
    r: Rollout,
    result: AnalysisResult | None,
    why: str,
    now: datetime | None = None,
) -> Rollout:
    """Move the alias to the candidate through the promotion rule, the analysis as the event's evidence."""
    from mlgate.promotion import promote

    evidence = {
        "rollout": r.to_dict(),
        "analysis": result.to_dict() if result else None,
        "events": [e.to_dict() for e in reg.rollout_events(r)],
    }
    digest = reg.put_blob(json.dumps(evidence, sort_keys=True, default=str).encode())
    holder = reg.aliases(r.name).get(r.alias)
    if holder != r.candidate:  # else a controller moved it and died before recording: only the record is left
        promote(
            reg.get(r.candidate_ref),
            r.alias,
            settings=settings,
            registry=reg,
            expect=r.stable,
            reason=f"rollout #{r.id}: {why[:400]} (analysis {digest})",
        )
    return reg.update_rollout(
        r,
        kind="promote",
        status="promoted",
        step=len(r.steps) - 1,
        weight=100.0,
        last_analysis=_stamped(result, now or datetime.now(UTC)) if result else r.last_analysis,
        detail={"evidence": digest, "why": why},
    )


def pause(target: str, *, settings: Settings | None = None, registry: Registry | None = None) -> Rollout:
    """Hold the rollout at its current weight; the controller does nothing until it is resumed."""
    _, reg = _open(settings, registry)

    def change(r: Rollout) -> Rollout:
        return r if r.status == "paused" else reg.update_rollout(r, kind="pause", status="paused")

    return _by_hand(reg, target, change)


def resume(target: str, *, settings: Settings | None = None, registry: Registry | None = None) -> Rollout:
    """Let a paused rollout go on; its step's pause starts again."""
    _, reg = _open(settings, registry)

    def change(r: Rollout) -> Rollout:
        if r.status == "running":
            return r
        return reg.update_rollout(r, kind="resume", status="running", step_started_at=datetime.now(UTC))

    return _by_hand(reg, target, change)


def abort(
    target: str, *, reason: str | None = None, settings: Settings | None = None, registry: Registry | None = None
) -> Rollout:
    """End the rollout now: weight 0, the alias stays on the stable version."""
    _, reg = _open(settings, registry)

    def change(r: Rollout) -> Rollout:
        return reg.update_rollout(r, kind="abort", status="aborted", weight=0.0, detail={"reason": reason or "by hand"})

    return _by_hand(reg, target, change)


def promote_now(
    target: str, *, reason: str | None = None, settings: Settings | None = None, registry: Registry | None = None
) -> Rollout:
    """Promote the candidate without waiting for the remaining steps; the promotion rule still applies."""
    settings, reg = _open(settings, registry)
    r = _active(reg, target)
    if r.kind == "abtest":
        raise UsageError(
            f"#{r.id} on {target} is an A/B test; it is promoted on its own report",
            hint=f"`mlgate abtest stop {target} --promote B`",
        )
    last = r.last_analysis or {}
    why = f"promoted by hand{f' ({reason})' if reason else ''}; last analysis: {last.get('reason', 'none')}"
    return _promote(reg, settings, r, None, why)


def _active(reg: Registry, target: str) -> Rollout:
    return find(reg, target, active_only=True)


def _by_hand(reg: Registry, target: str, change: Callable[[Rollout], Rollout], tries: int = 5) -> Rollout:
    """A person's pause, resume or abort: read again and retry when a controller's tick moved the revision."""
    for attempt in range(tries):
        try:
            return change(_active(reg, target))
        except ConflictError:
            if attempt == tries - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def follow(
    target: str,
    *,
    interval_s: float = 10.0,
    settings: Settings | None = None,
    registry: Registry | None = None,
    say: Callable[[StepOutcome], None] | None = None,
    max_ticks: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> StepOutcome:
    """Run :func:`step` every ``interval_s`` until the rollout ends (promoted or aborted); returns the last outcome.

    Ticks start ``interval_s`` apart, however long each takes (a tick rereads the rollout's window of the
    log); one that overran its interval is followed at once. A lost compare-and-set (someone paused or
    aborted meanwhile) is read again on the next tick.
    """
    if interval_s <= 0:
        raise UsageError(f"--interval must be a positive number of seconds, got {interval_s:g}")
    settings, reg = _open(settings, registry)
    ticks, due = 0, time.monotonic()
    while True:
        try:
            outcome: StepOutcome | None = step(target, settings=settings, registry=reg, environ=environ)
        except ConflictError:
            outcome = None
        ticks += 1
        if outcome is not None:
            if say is not None:
                say(outcome)
            if outcome.action in (PROMOTE, ABORT, "done", "abtest") or (max_ticks is not None and ticks >= max_ticks):
                return outcome
        due = max(due + interval_s, time.monotonic())
        time.sleep(max(0.0, due - time.monotonic()))  # the clock moved on since `due` was set
