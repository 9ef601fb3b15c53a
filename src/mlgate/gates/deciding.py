"""Deciding: every configured gate on an :class:`~mlgate.gates.scoring.Evaluation`, then waivers and reasons.

Bounds, change checks with three outcomes (pass, fail when harm is shown, undecided when the interval
straddles the margin), automatic and critical slices, and the behaviour, golden, budget and environment
checks. Each blocking check gets a reason class (``reasons``, most specific first).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from mlgate.config import Settings
from mlgate.errors import ConfigError, InputError, MlgateError
from mlgate.gates.scoring import Evaluation, _pandas
from mlgate.gates.spec import GateSpec, Waiver
from mlgate.gates.types import Check, Pred


def _metric(spec: GateSpec, ev: Evaluation) -> Any:
    from mlgate.gates.metrics import get_metric

    return get_metric(spec.metric or "", ev.task, where=spec.where)


def _needs_missing(metric: Any, pred: Pred | None) -> bool:
    return metric.needs == "proba" and (pred is None or pred.proba is None)


def _run_spec(
    spec: GateSpec,
    ev: Evaluation,
    cand_mv: Any,
    champ_mv: Any,
    candidate: Any,
    settings: Settings,
    slices_rows: list[dict[str, Any]],
    metrics: dict[str, dict[str, Any]],
    notes: list[str],
) -> list[Check]:
    if spec.kind in ("bound", "change", "slices", "critical") and ev.candidate_error:
        kind = {"critical": "slice", "bound": "bound", "change": "change"}.get(spec.kind, "slices")
        return [Check(spec.name, kind, "error", message=ev.candidate_error, metric=spec.metric)]
    if spec.kind == "bound":
        return [_bound(spec, ev, metrics)]
    if spec.kind in ("change", "slices", "critical"):
        metric = _metric(spec, ev)
        base = Check(spec.name, "change" if spec.kind == "change" else "slices", "skip", metric=metric.name)
        if champ_mv is None:
            base.message = f"skipped: no champion — nothing holds @{spec.vs} yet (first model)"
            return [base]
        if ev.champion is None:
            base.status, base.message = "error", ev.champion_error or "the champion could not be scored"
            return [base]
        if _needs_missing(metric, ev.candidate) or _needs_missing(metric, ev.champion):
            base.status = "error"
            base.message = f"{metric.name} needs class probabilities and a model gives none (no predict_proba)"
            return [base]
        if spec.kind == "change":
            return [_change(spec, metric, ev, metrics)]
        if spec.kind == "critical":
            return [_critical(spec, metric, ev)]
        return [_slices(spec, metric, ev, slices_rows, notes)]
    if spec.kind == "behaviour":
        from mlgate.gates import behaviour

        n_classes = len(ev.classes) if ev.classes else None
        return behaviour.run(candidate, ev.features, task=ev.task, n_classes=n_classes, config=spec.options)
    if spec.kind == "golden":
        return [_golden(spec, ev, candidate, settings)]
    if spec.kind == "latency":
        from mlgate.gates import budgets

        return budgets.latency(candidate, ev.features, **spec.options)
    if spec.kind == "size":
        from mlgate.gates import budgets

        return [budgets.size(cand_mv, max_mb=spec.options["max_mb"])]
    if spec.kind == "environment":
        from mlgate.gates import environment

        return [environment.check(cand_mv, **spec.options)]
    raise ConfigError(f"{spec.where}: unknown gate kind {spec.kind!r}")  # parse_gates prevents this


def _bound(spec: GateSpec, ev: Evaluation, metrics: dict[str, dict[str, Any]]) -> Check:
    from mlgate.gates import stats

    metric = _metric(spec, ev)
    check = Check(spec.name, "bound", "error", metric=metric.name, rows=len(ev.y))
    if _needs_missing(metric, ev.candidate):
        check.message = f"{metric.name} needs class probabilities and the candidate gives none (no predict_proba)"
        return check
    try:
        value = metric.compute(ev.y, ev.candidate)
        check.ci = stats.interval(metric, ev.y, ev.candidate, confidence=spec.confidence, resamples=spec.resamples)
    except InputError as exc:
        check.message = f"cannot compute {metric.name}: {exc}"
        return check
    check.value = value
    lo, hi = spec.min, spec.max
    ok = (lo is None or value >= lo) and (hi is None or value <= hi)
    check.bound = lo if lo is not None else hi
    check.details["op"] = ">=" if lo is not None else "<="
    check.status = "pass" if ok else "fail"
    want = " and ".join(([f">= {lo:g}"] if lo is not None else []) + ([f"<= {hi:g}"] if hi is not None else []))
    check.message = f"{metric.name} = {value:.4g} (interval {check.ci[0]:.4g} to {check.ci[1]:.4g}); required {want}"
    metrics.setdefault(metric.name, {"candidate": value, "higher_is_better": metric.higher_is_better})
    return check


def _margin(spec: GateSpec, champion_value: float) -> float:
    return spec.max_drop * abs(champion_value) if spec.relative else spec.max_drop


def _worst(metric: Any, ci: tuple[float, float]) -> float:
    """The most pessimistic end of the interval, as a change where positive means better."""
    return ci[0] if metric.higher_is_better else -ci[1]


def _compare(spec: GateSpec, metric: Any, ev: Evaluation, mask: np.ndarray | None = None) -> Any:
    from mlgate.gates import stats

    y, cand, champ = ev.y, ev.candidate, ev.champion
    assert champ is not None
    if mask is not None:
        y, cand, champ = y[mask], cand.take(mask), champ.take(mask)
    champ_value = metric.compute(y, champ)
    return stats.compare(
        metric,
        y,
        cand,
        champ,
        margin=_margin(spec, champ_value),
        confidence=spec.confidence,
        resamples=spec.resamples,
        seed=spec.seed,
    )


def _verdict(spec: GateSpec, metric: Any, cmp: Any, check: Check, reason: str = "aggregate drop") -> Check:
    """Pass, fail (harm shown) or undecided (the interval straddles the margin), with the set's resolution."""
    from mlgate.gates.resolution import describe, resolution

    margin = _margin(spec, cmp.champion)
    worst = _worst(metric, cmp.ci)
    best = cmp.ci[1] if metric.higher_is_better else -cmp.ci[0]
    oriented = cmp.delta if metric.higher_is_better else -cmp.delta
    check.value, check.champion, check.delta, check.ci = cmp.candidate, cmp.champion, cmp.delta, cmp.ci
    check.bound, check.p_value, check.mde, check.rows = margin, cmp.p_value, cmp.mde, cmp.n
    res = resolution(cmp.ci, cmp.n, margin)
    check.details.update(method=cmp.method, undecided_rule=spec.undecided, **res)
    f = _precision(cmp.candidate, cmp.champion)
    allowed = f(margin) + (f" ({spec.max_drop:.1%} of {f(cmp.champion)})" if spec.relative else "")
    pct = round(spec.confidence * 100)
    head = (
        f"{metric.name} {f(cmp.candidate)} vs {f(cmp.champion)}: change {f(cmp.delta, sign=True)}, "
        f"{pct}% interval [{f(cmp.ci[0], sign=True)}, {f(cmp.ci[1], sign=True)}]"
    )
    words = "rise" if not metric.higher_is_better else "drop"
    # a change of exactly the margin is allowed: 20 of 2,000 rows is -0.010000000000000009 in floating point
    margin += 1e-9 * max(1.0, abs(margin), abs(cmp.champion))
    if worst >= -margin:
        check.status = "pass"
        check.message = f"{head}; at worst it may {_worse(metric, -worst, f)}, within the allowed {words} {allowed}"
    elif best < -margin:
        check.status, check.reason = "fail", reason
        harm = f"harm shown: even at best it would {_worse(metric, -best, f)}"
        check.message = f"{head}; {harm}, more than the allowed {words} {allowed}"
    else:
        check.status = "undecided"
        check.blocks = spec.undecided == "block" or oriented < -margin
        check.reason = reason if check.blocks else None
        if spec.undecided == "block":
            rule = "blocks (undecided: block)"
        elif check.blocks:
            rule = f"blocks: the point estimate is beyond the allowed {words}"
        else:
            rule = "does not block: the point estimate is within the allowed " + words
        check.message = (
            f"{head}; undecided: it may {_worse(metric, -worst, f)}, more than the allowed {allowed}; {rule}"
        )
    if res["below_resolution"]:
        check.message += f". {describe(res, margin)}"
    return check


def _worse(metric: Any, amount: float, f: Callable[..., str] = lambda x: f"{x:.4g}") -> str:
    """A worsening in the metric's own words: "drop by 0.02" for accuracy, "rise by 0.1089" for RMSE."""
    if amount > 0:
        return f"{'drop' if metric.higher_is_better else 'rise'} by {f(amount)}"
    return f"improve by {f(-amount)}" if amount < 0 else "stay equal"


def _precision(*values: float) -> Callable[..., str]:
    """One number format for a metric across a message: decimals from the metric's magnitude (0.9404, 54.21)."""
    scale = max((abs(v) for v in values if np.isfinite(v)), default=1.0) or 1.0
    # four significant digits at the metric's magnitude; a metric on [0, 1] keeps 4 decimals even at 1.0
    decimals = int(min(8, max(4 if scale <= 1 else 1, 3 - np.floor(np.log10(scale)))))

    def fmt(x: float, *, sign: bool = False) -> str:
        return f"{x:+.{decimals}f}" if sign else f"{x:.{decimals}f}"

    return fmt


# change gates on these metrics measure the probabilities themselves, so a worse one is `calibration worse`
CALIBRATION_METRICS = frozenset({"brier", "ece", "log_loss"})


def _change(spec: GateSpec, metric: Any, ev: Evaluation, metrics: dict[str, dict[str, Any]]) -> Check:
    check = Check(spec.name, "change", "error", metric=metric.name, rows=len(ev.y))
    try:
        cmp = _compare(spec, metric, ev)
    except InputError as exc:
        check.message = f"cannot compare {metric.name}: {exc}"
        return check
    metrics[metric.name] = {
        "candidate": cmp.candidate,
        "champion": cmp.champion,
        "delta": cmp.delta,
        "ci": list(cmp.ci),
        "mde": cmp.mde,
        "p_value": cmp.p_value,
        "higher_is_better": metric.higher_is_better,
        "method": cmp.method,
    }
    reason = "calibration worse" if metric.name in CALIBRATION_METRICS else "aggregate drop"
    return _verdict(spec, metric, cmp, check, reason=reason)


def _critical(spec: GateSpec, metric: Any, ev: Evaluation) -> Check:
    from mlgate.gates.slices import by_filter

    sl = by_filter(ev.frame, spec.slice or "", where=spec.where)
    check = Check(spec.name, "slice", "error", metric=metric.name, rows=sl.rows, slice=sl.name)
    if sl.rows == 0:
        check.message = f"the critical slice {sl.name!r} matches no evaluation rows, so it cannot be checked"
        return check
    if sl.rows < spec.min_rows:
        check.message = (
            f"the critical slice {sl.name!r} has {sl.rows} rows; at least {spec.min_rows} are needed to decide"
        )
        return check
    try:
        cmp = _compare(spec, metric, ev, sl.mask)
    except InputError as exc:
        check.message = f"cannot compare {metric.name} on {sl.name!r}: {exc}"
        return check
    ev.slice_masks[(spec.name, sl.name)] = sl.mask
    return _verdict(spec, metric, cmp, check, reason="slice drop")


# metrics that stay defined on the rows of one true class (there they are that class's recall)
_PER_CLASS = {"accuracy", "balanced_accuracy", "recall_macro", "recall_weighted"}


def _slices(spec: GateSpec, metric: Any, ev: Evaluation, rows_out: list[dict[str, Any]], notes: list[str]) -> Check:
    from mlgate.gates.slices import Slice, discover, intersect, sliceable, weighted_bh

    if spec.slices == "auto":
        columns, left_out = sliceable(ev.frame, target=ev.target, max_categories=spec.max_categories)
        notes.extend(f"{spec.name}: {n}" for n in left_out)
    else:
        columns = list(spec.slices or ())
    found, left_out = discover(ev.frame, columns, bins=spec.bins, max_categories=spec.max_categories, where=spec.where)
    found += intersect(found, budget=spec.intersections, min_rows=spec.min_rows)
    if spec.slices == "auto" and ev.classes and metric.name in _PER_CLASS and len(ev.classes) > 2:
        # per-class figures: the rows of one true class, where these metrics are that class's recall
        found += [Slice(f"{ev.target} = {c}", ev.target, ev.y == i) for i, c in enumerate(ev.classes)]
    notes.extend(f"{spec.name}: {n}" for n in left_out)
    within = metric.within_slice()
    check = Check(spec.name, "slices", "error", metric=metric.name)
    evaluated, small, undefined = [], [], []
    for sl in found:
        if sl.rows < spec.min_rows:
            small.append(sl)
            continue
        preds = [ev.candidate.take(sl.mask)] + ([ev.champion.take(sl.mask)] if ev.champion else [])
        why = within.undefined_on(ev.y[sl.mask], preds)
        if why:
            undefined.append((sl, why))
            continue
        try:
            evaluated.append((sl, _compare(spec, within, ev, sl.mask)))
        except InputError as exc:
            undefined.append((sl, str(exc)))
    ev.slice_masks.update({(spec.name, sl.name): sl.mask for sl, _ in evaluated})
    check.details.update(
        slices=len(found), evaluated=len(evaluated), too_small=len(small), undefined=len(undefined), alpha=spec.alpha,
        screening="Benjamini–Hochberg weighted by slice rows", intersections=sum(sl.weight != 1.0 for sl in found),
    )  # fmt: skip
    if not evaluated:
        check.message = (
            f"no slice could be evaluated: {len(found)} found, {len(small)} under min_rows={spec.min_rows}, "
            f"{len(undefined)} where {metric.name} is undefined"
        )
        return check
    p = np.array([c.p_value for _, c in evaluated])
    scale = np.array([sl.weight for sl, _ in evaluated])  # intersections weigh less per row
    adjusted, weights = weighted_bh(p, np.array([c.n for _, c in evaluated]), scale)
    flagged, effects = [], []
    for (sl, cmp), p_adj, weight in zip(evaluated, adjusted, weights, strict=True):
        margin = _margin(spec, cmp.champion)
        bad = bool(p_adj < spec.alpha) and _worst(metric, cmp.ci) < -margin
        row = {
            "gate": spec.name, "slice": sl.name, "column": sl.column, "rows": cmp.n, "metric": metric.name,
            "candidate": cmp.candidate, "champion": cmp.champion, "delta": cmp.delta, "ci": list(cmp.ci),
            "p_value": cmp.p_value, "p_adjusted": float(p_adj), "weight": float(weight), "max_drop": margin,
            **_slice_outcome(bad, _worst(metric, cmp.ci) < -margin),
        }  # fmt: skip
        rows_out.append(row)
        if bad:
            flagged.append((sl, cmp, float(p_adj)))
        if cmp.p_value < spec.alpha:
            effects.append(row)
    for sl, reason in undefined:
        rows_out.append({"gate": spec.name, "slice": sl.name, "column": sl.column, "rows": sl.rows,
                         "metric": metric.name, "status": "skip", "reason": f"not tested: {reason}"})  # fmt: skip
    sign = 1.0 if metric.higher_is_better else -1.0
    effects.sort(key=lambda r: sign * r["delta"])
    check.details["largest_effects"] = [
        {k: r[k] for k in ("slice", "rows", "delta", "ci", "p_value", "p_adjusted")} for r in effects[:5]
    ]
    flagged.sort(key=lambda f: sign * f[1].delta)
    extra = f"; {len(small)} slice(s) under {spec.min_rows} rows not tested" if small else ""
    if undefined:
        extra += f"; {len(undefined)} not tested ({metric.name} undefined there, or too few rows it counts)"
    if flagged:
        sl, cmp, p_adj = flagged[0]
        check.status, check.reason = "fail", "slice drop"
        check.slice, check.rows = sl.name, cmp.n
        check.value, check.champion, check.delta, check.ci = cmp.candidate, cmp.champion, cmp.delta, cmp.ci
        check.p_value, check.bound = p_adj, _margin(spec, cmp.champion)
        check.message = (
            f"{len(flagged)} of {len(evaluated)} slices regressed: worst {sl.name!r} ({cmp.n} rows) {metric.name} "
            f"{cmp.candidate:.4g} vs {cmp.champion:.4g} ({cmp.delta:+.4g}, interval [{cmp.ci[0]:+.4g}, "
            f"{cmp.ci[1]:+.4g}], p {_p(cmp.p_value)}, adjusted {_p(p_adj)}){extra}"
        )
        check.details["failing"] = [
            {"slice": s.name, "rows": c.n, "delta": c.delta, "p_adjusted": pa} for s, c, pa in flagged
        ]
    else:
        check.status = "pass"
        check.message = (
            f"no slice regressed beyond {spec.max_drop:g}{' (relative)' if spec.relative else ''} "
            f"across {len(evaluated)} slices (Benjamini–Hochberg weighted by rows, at {spec.alpha:g}){extra}"
        )
        if effects:
            top = effects[0]
            check.message += (
                f"; largest effect {top['slice']!r} ({top['rows']} rows) {top['delta']:+.4g} "
                f"[{top['ci'][0]:+.4g}, {top['ci'][1]:+.4g}], p {_p(top['p_value'])}, adjusted {_p(top['p_adjusted'])}"
            )
    return check


def _slice_outcome(bad: bool, straddles: bool) -> dict[str, Any]:
    """A slice row's status, as a change check's: fail blocks; undecided (the interval reaches past the allowed
    drop) does not, because the slice gate decides on its adjusted p-values; its note says so."""
    if bad:
        return {"status": "fail", "blocks": True}
    if straddles:
        note = "undecided: the interval reaches past the allowed drop, not shown after adjustment; does not block"
        return {"status": "undecided", "blocks": False, "note": note}
    return {"status": "pass", "blocks": False}


def _explain_twins(checks: list[Check], slices_rows: list[dict[str, Any]], ev: Evaluation) -> None:
    """A critical slice and an automatic slice over the same rows and metric may disagree: say why, on both."""
    for c in checks:
        mask = ev.slice_masks.get((c.name, c.slice or "")) if c.kind == "slice" else None
        if mask is None or c.status not in ("pass", "fail", "undecided"):
            continue
        for row in slices_rows:
            twin = ev.slice_masks.get((row["gate"], row["slice"]))
            if twin is None or row.get("metric") != c.metric or not np.array_equal(twin, mask):
                continue
            if c.blocking == (row["status"] == "fail"):
                continue
            why = (
                f"the critical slice {c.name!r} is tested alone, at its own interval; the automatic slice "
                f"{row['slice']!r} of {row['gate']!r} is one of many and Benjamini–Hochberg-adjusted "
                f"(p {_p(row['p_value'])}, adjusted {_p(row['p_adjusted'])})"
            )
            row["note"] = (
                f"same rows as the critical slice {c.name!r}, which {'blocks' if c.blocking else 'passes'}: {why}"
            )
            verdict = {"fail": "failed", "undecided": "is undecided"}.get(row["status"], "passed")
            c.message += f". The automatic slice {row['slice']!r} has the same rows and {verdict}: {why}"


def _p(p: float) -> str:
    """A p-value as a reviewer reads it: ``<0.001`` rather than ``0``."""
    return "<0.001" if p < 0.001 else f"{p:.2g}"


def _golden(spec: GateSpec, ev: Evaluation, candidate: Any, settings: Settings) -> Check:
    from mlgate.data.io import collect, scan
    from mlgate.gates import golden

    path = spec.options.get("path") or settings.data.golden
    if not path:
        return Check(spec.name, "golden", "error", message="no golden set: set data.golden or golden: {path: …}")
    full = Path(path) if Path(path).is_absolute() else settings.root / path
    try:
        frame = _pandas(collect(scan(full), label=str(path)))
    except MlgateError as exc:
        return Check(spec.name, "golden", "error", message=f"cannot read the golden set {path}: {exc}")
    target = spec.options.get("target") or ev.target
    return golden.check(
        candidate,
        frame,
        target=target,
        task=ev.task,
        tolerance=spec.options.get("tolerance", 1e-6),
        rel_tolerance=spec.options.get("rel_tolerance", 0.0),
    )


def _apply_waivers(checks: list[Check], waivers: list[Waiver], notes: list[str]) -> None:
    today = date.today()
    for w in waivers:
        hits = [c for c in checks if w.gate in (c.name, c.details.get("gate"))]
        if not w.active(today):
            if any(c.blocking for c in hits):
                notes.append(f"the waiver for {w.gate!r} expired on {w.until.isoformat()} and was not applied")
            continue
        for c in hits:
            if c.status in ("fail", "error") or (c.status == "undecided" and c.blocks):
                c.waived = {"until": w.until.isoformat(), "reason": w.reason}
        if any(c.waived for c in hits):
            notes.append(f"waived until {w.until.isoformat()}: {w.gate!r} — {w.reason}")


# the reason a blocking check carries when its own code did not set a more specific one
_REASON_BY_NAME = {
    "finite outputs": "non-finite output",
    "input contract": "input mismatch",
    "column order": "input mismatch",
    "output shape": "input mismatch",
    "dtype robustness": "input mismatch",
}
_REASON_BY_KIND = {
    "change": "aggregate drop", "bound": "aggregate drop", "slice": "slice drop", "slices": "slice drop",
    "latency": "latency", "size": "size", "environment": "environment",
}  # fmt: skip


def _classify(checks: list[Check]) -> None:
    """Give every blocking check a reason class; one that errored is a `check error` unless its kind says more."""
    # a candidate that lost a class gives probabilities of another width: the output shape is its symptom
    lost = any(c.name == "classes kept" and c.blocking for c in checks)
    for c in checks:
        if not c.blocking or c.reason:
            continue
        if lost and c.name == "output shape":
            c.reason = "lost class"
        elif c.status == "error" and c.kind in ("change", "bound", "slice", "slices") and "NaN" in c.message:
            c.reason = "non-finite output"
        elif c.status == "error" and c.kind not in ("latency", "size", "environment"):
            c.reason = _REASON_BY_NAME.get(c.name, "check error")
        else:
            c.reason = _REASON_BY_NAME.get(c.name) or _REASON_BY_KIND.get(c.kind, "check error")


def reasons(checks: list[Check]) -> list[dict[str, Any]]:
    """The blocking checks' reasons, most specific class first (``REASONS`` order), then report order."""
    from mlgate.gates.types import REASONS

    order = {r: i for i, r in enumerate(REASONS)}
    blocking = [c for c in checks if c.blocking]
    blocking.sort(key=lambda c: order.get(c.reason or "check error", len(order)))
    return [{"class": c.reason or "check error", "check": c.name, "message": c.message} for c in blocking]
