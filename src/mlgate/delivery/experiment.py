"""An A/B test's life in the registry: start it, read where it stands, stop it (on A, or promoting B).

An A/B test is a rollout record of kind ``abtest`` (:mod:`mlgate.registry.rollouts`): A is the version
the alias holds, B the candidate, and its one step is B's share of the traffic. Every ``mlgate serve``
replica following the alias routes that share to B (:class:`mlgate.serve.routing.RolloutFollower`),
sticky by the request key, for as long as the test is active; the rollout controller leaves it alone.
Its ``spec`` holds what the test measures and how it decides: the metric, ``mde``, the plan, the bounds
(``max_rows``, ``deadline_s``). :func:`status` reads the prediction log and the labels and applies the
sequential test of :mod:`mlgate.delivery.abtest`, valid however often it is read; :func:`stop` ends the
test, the alias left on A unless B is promoted, by compare-and-set, with the A/B report as evidence.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.config import Settings, load_settings
from mlgate.delivery.abtest import (
    AbReport,
    Plan,
    analyse_outcomes,
    check_split,
    parse_metric,
    plan,
    read_outcomes,
)
from mlgate.delivery.rollout import NoSuchAlias, find, split_target
from mlgate.errors import CheckFailed, NotFoundError, UsageError
from mlgate.refs import check_alias, parse_ref

if TYPE_CHECKING:
    from mlgate.registry.rollouts import Rollout
    from mlgate.registry.store import Registry

KIND = "abtest"


@dataclass(frozen=True)
class AbSpec:
    """What an A/B test measures and how it decides; stored with the test."""

    metric: str = "accuracy"
    split: float = 50.0  # B's share, percent
    alpha: float = 0.05
    power: float = 0.8
    min_rows: int = 100  # per arm, before any decision
    missing: str = "skip"  # rows without a label: skip, or zero (business events: no event, nothing happened)
    mde: float | None = None
    baseline: float | None = None
    sd: float | None = None
    max_rows: int | None = None  # labelled rows in all, after which an undecided test is over
    deadline_s: float | None = None  # seconds after the start, after which an undecided test is over
    plan: dict[str, Any] | None = None

    @property
    def tune_rows(self) -> float:
        """The rows the confidence sequence is tightest at: the plan's fixed size, else 2 · ``min_rows``."""
        return float(self.plan["fixed"]) if self.plan else 2.0 * self.min_rows

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (as stored)."""
        return asdict(self)

    @classmethod
    def of(cls, r: Rollout) -> AbSpec:
        """The spec of an A/B test; for a rollout held at a step by hand, the defaults at its weight."""
        if r.spec:
            known = set(cls.__dataclass_fields__)
            return cls(**{k: v for k, v in r.spec.items() if k in known})
        return cls(split=r.steps[r.step])


@dataclass(frozen=True)
class AbStatus:
    """Where a test stands: the report, whether it is over, and why."""

    rollout: Rollout
    spec: AbSpec
    report: AbReport
    done: bool
    why: str
    since: datetime | None
    until: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        r = self.rollout
        return {
            "id": r.id,
            "target": f"{r.name}@{r.alias}",
            "a": r.stable_ref,
            "b": r.candidate_ref,
            "status": r.status,
            "spec": self.spec.to_dict(),
            "done": self.done,
            "why": self.why,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat(),
            **self.report.to_dict(),
        }


@dataclass(frozen=True)
class Started:
    """The recorded test and its plan (None without ``mde``)."""

    rollout: Rollout
    plan: Plan | None


def _open(settings: Settings | None, registry: Registry | None) -> tuple[Settings, Registry]:
    from mlgate.registry.store import Registry

    settings = settings or (registry.settings if registry is not None else load_settings())
    return settings, registry if registry is not None else Registry(settings=settings)


def make_spec(
    metric: str,
    *,
    split: float,
    mde: float | None = None,
    baseline: float | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    min_rows: int = 100,
    missing: str = "skip",
    max_rows: int | None = None,
    deadline_s: float | None = None,
) -> tuple[AbSpec, Plan | None]:
    """Check every setting of a test (UsageError naming the flag) and plan it when ``mde`` is given."""
    m = parse_metric(metric)
    check_split(split)
    if not 0 < alpha < 1:
        raise UsageError(f"--alpha must lie strictly between 0 and 1, got {alpha:g}")
    if missing not in ("skip", "zero"):
        raise UsageError(f"--missing must be skip or zero, got {missing!r}")
    if missing == "zero" and m.kind == "accuracy":
        raise UsageError("--missing zero counts unlabelled rows as 0, which means nothing for accuracy")
    if min_rows < 2:
        raise UsageError(f"--min-rows must be at least 2, got {min_rows}")
    if max_rows is not None and max_rows <= 0:
        raise UsageError(f"--max-rows must be a positive number of rows, got {max_rows}")
    if deadline_s is not None and deadline_s <= 0:
        raise UsageError(f"--deadline must be a positive duration, got {deadline_s:g} s")
    p = None
    if mde is None:
        if baseline is not None or sd is not None:
            raise UsageError("--baseline and --sd plan the test for an --mde; give --mde too")
    else:
        if baseline is None:
            raise UsageError(
                "--mde needs --baseline: the metric's mean under A (a rate such as 0.90, or an amount with --sd)"
            )
        if m.rate and not 0 < baseline < 1:
            raise UsageError(f"--metric {m.name} is a rate, and --baseline {baseline:g} is not within (0, 1)")
        p = plan(baseline, mde, split=split / 100.0, alpha=alpha, power=power, sd=sd)
    spec = AbSpec(
        m.name,
        float(split),
        alpha,
        power,
        min_rows,
        missing,
        mde,
        baseline,
        sd,
        max_rows,
        deadline_s,
        p.to_dict() if p else None,
    )
    return spec, p


def start(
    a: str,
    b: str,
    *,
    alias: str = "production",
    metric: str = "accuracy",
    split: float = 50.0,
    mde: float | None = None,
    baseline: float | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    min_rows: int = 100,
    missing: str = "skip",
    max_rows: int | None = None,
    deadline_s: float | None = None,
    data: Any = None,
    settings: Settings | None = None,
    registry: Registry | None = None,
    require_log: bool = True,
) -> Started:
    """Start an A/B test of ``b`` against ``a``, the version ``alias`` holds; nothing is recorded unless all pass.

    Refused (exit 2): a bad setting (:func:`make_spec`), two models, A not the alias's holder, A = B, a
    smoke version, another active rollout or test on the alias, no prediction log (``require_log``).
    For a protected alias, B needs a passing gate report against A (exit 1), the rule of
    ``mlgate promote`` and ``mlgate rollout start``; A, holding the alias, got there under that rule.
    """
    from mlgate.promotion import find_passing_report, protected_aliases, refuse_smoke
    from mlgate.signing import verify_signatures

    settings, reg = _open(settings, registry)
    spec, p = make_spec(
        metric,
        split=split,
        mde=mde,
        baseline=baseline,
        sd=sd,
        alpha=alpha,
        power=power,
        min_rows=min_rows,
        missing=missing,
        max_rows=max_rows,
        deadline_s=deadline_s,
    )
    if require_log and settings.delivery.log is None:
        raise UsageError(
            "an A/B test is measured on the prediction log, and mlgate.yaml names none",
            hint="set serve: {log: logs/} (what mlgate serve writes) or delivery: {log: …}",
        )
    check_alias(alias)
    ra, rb = parse_ref(a), parse_ref(b)
    if ra.name != rb.name:
        raise UsageError(f"A ({a}) and B ({b}) are versions of different models; an A/B test compares one model's")
    mv_a, mv_b = reg.get(a), reg.get(b)
    if mv_a.number == mv_b.number:
        raise UsageError(f"A and B are both {mv_a.ref}; an A/B test needs two versions")
    refuse_smoke(mv_b, alias)
    holder = reg.aliases(mv_a.name).get(alias)
    if holder is None:
        raise UsageError(
            f"{mv_a.name}@{alias} points to no version, so nothing serves A",
            hint=f"promote A first: `mlgate promote {mv_a.ref} --to {alias}`",
        )
    if holder != mv_a.number:
        raise UsageError(
            f"A must be the version {mv_a.name}@{alias} serves, and it holds {mv_a.name}:{holder}, not {mv_a.ref}",
            hint=f"name {mv_a.name}:{holder} as A, or promote {mv_a.ref} first",
        )
    try:
        active = reg.rollout(mv_a.name, alias, active_only=True)
    except NotFoundError:
        active = None
    if active is not None:
        what = "A/B test" if active.kind == KIND else "rollout"
        raise UsageError(
            f"{mv_a.name}@{alias} already has an active {what} (#{active.id}, of {active.candidate_ref}); "
            "one alias takes one rollout or A/B test at a time",
            hint=f"end it first: `mlgate {'abtest stop' if active.kind == KIND else 'rollout abort'} "
            f"{mv_a.name}@{alias}`",
        )
    verify_signatures(reg, mv_b, alias=alias, settings=settings)
    report = None
    if alias in protected_aliases(settings):
        report = find_passing_report(reg, mv_b, mv_a, settings, data=data, alias=alias).report_digest
    r = reg.start_rollout(
        mv_a.name,
        alias,
        mv_b.number,
        stable=mv_a.number,
        steps=[spec.split],
        analysis=KIND,
        pause_s=0.0,
        gate_report=report,
        kind=KIND,
        spec=spec.to_dict(),
    )
    return Started(r, p)


def _test(reg: Registry, target: str, *, active_only: bool = False) -> Rollout:
    name, alias = split_target(target)
    try:
        r = find(reg, target, active_only=active_only)
    except NoSuchAlias:
        raise
    except NotFoundError:
        raise NotFoundError(
            f"{target} has no {'active ' if active_only else ''}A/B test",
            hint=f"start one with `mlgate abtest start {name}:A {name}:B --alias {alias} --metric accuracy`",
        ) from None
    return r


def status(
    target: str,
    *,
    metric: str | None = None,
    slice_by: str | None = None,
    log: str | Path | None = None,
    labels: str | Path | None = None,
    settings: Settings | None = None,
    registry: Registry | None = None,
    now: datetime | None = None,
) -> AbStatus:
    """Where the A/B test on ``NAME@ALIAS`` stands: the sequential test on the log and labels so far.

    Also reads a rollout held at a step by hand (no spec: accuracy, the defaults), and a test that has
    ended (over its whole life). ``metric`` overrides the test's own (a second look, not its decision).
    """
    settings, reg = _open(settings, registry)
    r = _test(reg, target)
    spec = AbSpec.of(r)
    m = parse_metric(metric or spec.metric)
    folder = log or settings.delivery.log
    if folder is None:
        raise UsageError("no prediction log: pass --log or set serve.log in mlgate.yaml")
    labels = labels or settings.root / ".mlgate" / "monitor" / "labels"
    until = (now or datetime.now(UTC)) if r.active else r.updated_at
    out = read_outcomes(
        folder,
        labels,
        r.name,
        r.stable,
        r.candidate,
        since=r.created_at,
        until=until,
        metric=m,
        slice_by=slice_by,
        missing=spec.missing,
    )
    split = spec.split / 100.0
    rep = analyse_outcomes(
        out.a,
        out.b,
        split=split,
        outcome=m.name,
        alpha=spec.alpha,
        slices_a=out.slices_a,
        slices_b=out.slices_b,
        min_rows=spec.min_rows,
        tune_rows=spec.tune_rows,
        mde=spec.mde,
        requests=(out.requests_a, out.requests_b),
    )
    done, why = _verdict(r, spec, rep, until)
    return AbStatus(r, spec, rep, done, why, out.start, until)


def _verdict(r: Rollout, spec: AbSpec, rep: AbReport, until: datetime) -> tuple[bool, str]:
    e = rep.overall
    rows = e.rows_a + e.rows_b
    if rep.srm:
        return True, "sample ratio mismatch: the split or the logging is broken; stop the test and look"
    if e.decision == "b_better":
        return True, f"B is better: the sequence lies above 0 ({e.cs[0]:+.4g} to {e.cs[1]:+.4g})"
    if e.decision == "b_worse":
        return True, f"B is worse: the sequence lies below 0 ({e.cs[0]:+.4g} to {e.cs[1]:+.4g})"
    if e.decision == "no_difference":
        return True, f"no difference: the sequence lies within ±{spec.mde:g} ({e.cs[0]:+.4g} to {e.cs[1]:+.4g})"
    if spec.max_rows is not None and rows >= spec.max_rows:
        return True, f"undecided at --max-rows ({rows} of {spec.max_rows} rows): no difference was found"
    if spec.deadline_s is not None and until >= r.created_at + timedelta(seconds=spec.deadline_s):
        return True, f"undecided at the deadline ({spec.deadline_s:g} s after the start): no difference was found"
    if e.decision == "too_few":
        return False, f"too few labelled rows yet ({e.rows_a} A, {e.rows_b} B; {spec.min_rows} each needed)"
    planned = f" (planned: {spec.plan['sequential']} rows)" if spec.plan else ""
    return False, f"inconclusive at {rows} labelled rows{planned}: the sequence still holds 0"


def stop(
    target: str,
    *,
    promote: str | None = None,
    force: bool = False,
    reason: str | None = None,
    log: str | Path | None = None,
    labels: str | Path | None = None,
    settings: Settings | None = None,
    registry: Registry | None = None,
) -> AbStatus:
    """End the A/B test: its split drops to 0 and the alias stays on A, or with ``promote="B"`` moves to B.

    The promotion moves the alias by compare-and-set from A (``mlgate.promotion.promote``: B's gate
    report is still required) with the final A/B report stored as a blob and named in the alias event.
    It needs the report to say ``b_better`` or ``no_difference`` without a sample ratio mismatch
    (CheckFailed, exit 1, otherwise); ``force`` with a ``reason`` overrides that, recorded.
    """
    from mlgate.promotion import promote as move

    settings, reg = _open(settings, registry)
    r = _test(reg, target, active_only=True)
    if r.kind != KIND:
        raise UsageError(
            f"#{r.id} on {target} is a rollout, not an A/B test",
            hint=f"`mlgate rollout abort {target}` or `mlgate rollout promote {target}`",
        )
    if promote is not None and promote not in ("A", "B", r.stable_ref, r.candidate_ref):
        raise UsageError(f"--promote takes A or B ({r.stable_ref} or {r.candidate_ref}), got {promote!r}")
    if force and not reason:
        raise UsageError("--force needs a --reason, recorded with the promotion")
    st = status(target, log=log, labels=labels, settings=settings, registry=reg)
    final = st.report.to_dict()
    if promote not in ("B", r.candidate_ref):
        r = reg.update_rollout(
            r, kind="stop", status="stopped", weight=0.0, last_analysis=final, detail={"reason": reason or "by hand"}
        )
        return AbStatus(
            r, st.spec, st.report, True, f"stopped; {r.name}@{r.alias} stays on A ({r.stable_ref})", st.since, st.until
        )
    e = st.report.overall
    supported = e.decision in ("b_better", "no_difference") and not st.report.srm
    if not supported and not force:
        why = "a sample ratio mismatch" if st.report.srm else f"{e.decision} ({st.why})"
        raise CheckFailed(
            f"the A/B report does not support promoting {r.candidate_ref}: {why}",
            hint='stop on A (`mlgate abtest stop` without --promote), or override with --force --reason "…"',
        )
    evidence = {"abtest": st.to_dict(), "events": [ev.to_dict() for ev in reg.rollout_events(r)]}
    digest = reg.put_blob(json.dumps(evidence, sort_keys=True, default=str).encode())
    why = f"A/B test #{r.id}: {e.decision}, effect {e.effect:+.4g} [{e.cs[0]:+.4g}, {e.cs[1]:+.4g}]"
    if force and not supported:
        why += f"; forced: {reason}"
    if reg.aliases(r.name).get(r.alias) != r.candidate:  # else moved by a stop that died before recording it
        move(
            reg.get(r.candidate_ref),
            r.alias,
            settings=settings,
            registry=reg,
            expect=r.stable,
            reason=f"{why[:400]} (A/B report {digest})",
        )
    r = reg.update_rollout(
        r,
        kind="promote",
        status="promoted",
        weight=100.0,
        last_analysis=final,
        detail={"evidence": digest, "why": why, "reason": reason},
    )
    return AbStatus(
        r, st.spec, st.report, True, f"promoted {r.candidate_ref} to {r.name}@{r.alias}: {why}", st.since, st.until
    )
