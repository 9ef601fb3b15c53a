"""Canary against stable on the same window, decided by always-valid confidence sequences.

The metrics, each a difference canary − stable (or, for the shadow, a share) with its variance
estimated from the data:

- **error rate** — the share of requests that failed (status 5xx, or a NaN prediction), per request;
- **latency** — the difference of mean log latency (a ratio of geometric means), per request;
- **prediction shift** — the difference of mean predictions in standard deviations of the stable's,
  per scored row (numeric predictions; class labels 0/1 count as a share);
- **class mix** — for class labels beyond 0/1 (three classes, or text labels): each class's share,
  canary − stable, in standard deviations of the stable's share, the classes splitting ``alpha``
  (Bonferroni); it replaces the prediction shift, whose mean label can stay put while the mix moves;
- **shadow agreement** — where a shadow of the candidate runs (``route = shadow``), the share of the
  rows it scored whose class equals what the stable version served on the same request and row;
- **performance** — accuracy, canary − stable: realized from labels joined by request id and row,
  or estimated without labels (CBPE, :mod:`mlgate.monitor.estimate`) from the logged probabilities
  of a classifier (two classes or more) when both versions' gate reports kept the outputs that
  calibrate them; for a regression, the realized mean absolute error, canary over stable − 1, from
  labels (no estimated counterpart: the monitor's DLE gives a window's mean, not a row's error).

Around each lies a two-sided *normal-mixture confidence sequence* (Robbins 1970; Howard,
Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic confidence sequences",
eq. 14, used here with the plug-in variance as Waudby-Smith et al. 2021 do for their asymptotic
confidence sequences). With information ``I = 1 / var`` of the estimate and mixing parameter ``ρ``::

    half-width = sqrt((I + ρ) · log((I + ρ) / (ρ · α²))) / I

The sequence covers the true difference at *every* check at once with probability ≥ 1 − α, so
checking every few seconds, or at every step of a rollout, does not inflate false aborts the way
re-testing a fixed threshold does. ``ρ`` is the information of ``min_requests`` canary requests,
so the sequence is tightest where the first decision can be taken.

A metric *fails* when its sequence lies wholly beyond its limit (error rate: above 0, any credible
increase in errors; latency: above ``log(max_latency_ratio)``; predictions and each class's share:
beyond ``±max_prediction_shift``; shadow agreement: below ``min_agreement``; performance: below
``−max_performance_drop``, a regression's MAE above ``max_mae_increase``); it *passes* when the sequence
lies wholly inside (error rate: below ``max_error_increase``). The shadow agreement and the performance
stand on rows of their own (the shadow's, the labelled ones): below ``min_requests`` of them they can
fail but are ``too_few`` to hold a pass back, unless the analysis names its ``performance`` source
outright, which makes it required.
One failing metric fails the analysis; it passes only when every other metric passes and each side
has ``min_requests`` requests. Anything else waits: no data or too little data never passes, and the
controller aborts a step that is still waiting at its deadline. For a healthy canary the chance that
a metric ever fails is at most ``α/2`` per metric (the class mix splits its ``α/2`` over the classes),
however often it is checked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mlgate.config.sections import AnalysisConfig
    from mlgate.monitor.estimate import Calibration, ClassCalibration
    from mlgate.registry.store import Registry

PASS, FAIL, WAIT = "pass", "fail", "wait"
# a metric on rows of its own (the shadow's, the labelled ones) with fewer than min_requests of them: it can
# fail, but it does not hold a pass back; labels come late and a shadow may mirror only part of the traffic
TOO_FEW = "too_few"


@dataclass(frozen=True)
class Arm:
    """What one side served in the window: per request an error flag and a latency, per row a prediction.

    The rest is there when the log gives it: ``classes``, the class label of each scored row (class-label
    outputs only); ``agreement``, per row this version scored as a shadow, whether its class equals the one
    the other version served on the same request and row; ``correct``, per labelled row, 1.0 when the
    prediction equals the label; ``expected``, per row with probabilities, the chance its predicted class
    is right (CBPE, calibrated on the version's gate outputs); ``abs_error``, per labelled row of a
    regression, the absolute difference of prediction and label.
    """

    errors: np.ndarray  # bool, one per request
    latency_ms: np.ndarray  # float, one per request
    predictions: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=float))  # float, one per scored row
    classes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))  # str, one per scored row
    agreement: np.ndarray = field(
        default_factory=lambda: np.empty(0, dtype=bool)
    )  # bool, one per row scored as a shadow
    correct: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=float))  # 1.0 / 0.0, one per labelled row
    expected: np.ndarray = field(
        default_factory=lambda: np.empty(0, dtype=float)
    )  # in [0, 1], one per row with calibrated probabilities
    abs_error: np.ndarray = field(
        default_factory=lambda: np.empty(0, dtype=float)
    )  # |prediction − label|, one per labelled row of a numeric prediction (a regression)

    @property
    def requests(self) -> int:
        """How many requests this side served."""
        return int(self.errors.size)

    @classmethod
    def empty(cls) -> Arm:
        """A side that served nothing."""
        return cls(np.zeros(0, dtype=bool), np.zeros(0))


@dataclass(frozen=True)
class MetricResult:
    """One metric: the estimate (canary − stable), its confidence sequence now, the limits and the decision."""

    name: str
    estimate: float
    lower: float
    upper: float
    fail_below: float | None
    fail_above: float | None
    pass_within: tuple[float, float]
    decision: str
    canary: float
    stable: float
    detail: str = ""  # what the figure is when the name does not say it all (the class, the source, the rows)


@dataclass(frozen=True)
class AnalysisResult:
    """The analysis of one window: ``decision`` is pass, fail or wait, ``reason`` says why in one sentence."""

    decision: str
    reason: str
    analysis: str
    canary_requests: int
    stable_requests: int
    metrics: tuple[MetricResult, ...] = ()
    since: str | None = None
    until: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (stored on the rollout and its events); an unbounded limit is None (JSON has no inf)."""
        d = asdict(self)
        d["metrics"] = [asdict(m) for m in self.metrics]
        return _json_safe(d)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def half_width(variance: float, rho: float, alpha: float) -> float:
    """Half-width of the two-sided normal-mixture confidence sequence for an estimate of ``variance``."""
    if variance <= 0:
        return 0.0
    info = 1.0 / variance
    return math.sqrt((info + rho) * math.log((info + rho) / (rho * alpha * alpha))) / info


def _decide(
    name: str,
    estimate: float,
    variance: float,
    rho: float,
    alpha: float,
    *,
    fail_above: float | None,
    fail_below: float | None,
    pass_within: tuple[float, float],
    canary: float,
    stable: float,
) -> MetricResult:
    h = half_width(variance, rho, alpha)
    lo, hi = estimate - h, estimate + h
    if (fail_above is not None and lo > fail_above) or (fail_below is not None and hi < fail_below):
        decision = FAIL
    elif pass_within[0] < lo and hi < pass_within[1]:
        decision = PASS
    else:
        decision = WAIT
    return MetricResult(name, estimate, lo, hi, fail_below, fail_above, pass_within, decision, canary, stable)


def _mean_var(x: np.ndarray) -> tuple[float, float]:
    return float(np.mean(x)), float(np.var(x, ddof=1)) if x.size > 1 else 0.0


def analyse(
    canary: Arm, stable: Arm, spec: AnalysisConfig, *, since: datetime | None = None, until: datetime | None = None
) -> AnalysisResult:
    """Compare ``canary`` with ``stable`` under ``spec`` (an :class:`~mlgate.config.sections.AnalysisConfig`)."""
    nc, ns = canary.requests, stable.requests
    metrics: list[MetricResult] = []

    def out(decision: str, reason: str) -> AnalysisResult:
        start, end = (since.isoformat() if since else None), (until.isoformat() if until else None)
        return AnalysisResult(decision, reason, spec.name, nc, ns, tuple(metrics), start, end)

    if nc == 0 or ns == 0:
        side = "the canary" if nc == 0 else "the stable version"
        return out(WAIT, f"no data: {side} served no request in the window")
    alpha, m = spec.alpha, spec.min_requests

    # error rate: proportions, variance from rates smoothed by half an error (a rate of 0 still has a variance)
    ec, es = float(canary.errors.sum()), float(stable.errors.sum())
    pc, ps = ec / nc, es / ns
    sc, ss = (ec + 0.5) / (nc + 1), (es + 0.5) / (ns + 1)
    per_request = sc * (1 - sc)  # the canary's variance per request: ρ is the information of m of them
    var = sc * (1 - sc) / nc + ss * (1 - ss) / ns
    metrics.append(
        _decide(
            "error_rate",
            pc - ps,
            var,
            m / per_request,
            alpha,
            fail_above=0.0,
            fail_below=None,
            pass_within=(-math.inf, spec.max_error_increase),
            canary=pc,
            stable=ps,
        )
    )

    # latency: log scale, so that "2x slower" is the same step at 5 ms and at 500 ms
    lc, ls = np.log(np.maximum(canary.latency_ms, 1e-3)), np.log(np.maximum(stable.latency_ms, 1e-3))
    (mc, vc), (ms, vs) = _mean_var(lc), _mean_var(ls)
    tol = math.log(spec.max_latency_ratio)
    metrics.append(
        _decide(
            "latency",
            mc - ms,
            vc / nc + vs / ns,
            m / max(vc, 1e-12),
            alpha,
            fail_above=tol,
            fail_below=None,
            pass_within=(-math.inf, tol),
            canary=math.exp(mc),
            stable=math.exp(ms),
        )
    )

    # predictions: class labels beyond 0/1 compare class by class; numbers (and 0/1) by their mean
    mix = _class_mix(canary.classes, stable.classes, spec, m)
    if mix is not None:
        metrics.append(mix)
    else:
        shift = _prediction_shift(canary.predictions, stable.predictions, spec, m)
        if shift is not None:
            metrics.append(shift)
    agreement = _agreement(canary.agreement, spec, m)
    if agreement is not None:
        metrics.append(agreement)
    performance = _performance(canary, stable, spec, m)
    if performance is not None:
        metrics.append(performance)

    failed = [x for x in metrics if x.decision == FAIL]
    if failed:
        what = "; ".join(_say(x) for x in failed)
        return out(FAIL, f"the canary is worse: {what}")
    if nc < m or ns < m:
        return out(WAIT, f"too little data: {nc} canary and {ns} stable requests, {m} each are needed")
    waiting = [x for x in metrics if x.decision not in (PASS, TOO_FEW)]
    if waiting:
        what = "; ".join(_waiting(x) for x in waiting)
        return out(WAIT, f"inconclusive: {what}")
    return out(PASS, f"every metric is within its limits over {nc} canary requests")


def _prediction_shift(pc: np.ndarray, ps: np.ndarray, spec: AnalysisConfig, m: int) -> MetricResult | None:
    """The standardized difference of mean predictions, either way; None without two finite predictions a side."""
    yc = pc[np.isfinite(pc)] if pc.size else pc
    ys = ps[np.isfinite(ps)] if ps.size else ps
    if yc.size <= 1 or ys.size <= 1:
        return None
    (mc, vc), (ms, vs) = _mean_var(yc), _mean_var(ys)
    scale = math.sqrt(vs) if vs > 0 else math.sqrt((vc + vs) / 2)
    k = spec.max_prediction_shift
    if scale == 0:  # both constant: equal passes, different fails
        same = mc == ms
        est, var, rho = (0.0 if same else math.copysign(math.inf, mc - ms)), 0.0, 1.0
    else:
        # ρ: the information of m rows at the larger side's variance; at the canary's alone, a canary that
        # predicts one value for every row (none) would make ρ endless and the sequence never end
        est, var, rho = (mc - ms) / scale, (vc / yc.size + vs / ys.size) / scale**2, m * scale**2 / max(vc, vs)
    return _decide(
        "prediction_shift",
        est,
        var,
        rho,
        spec.alpha,
        fail_above=k,
        fail_below=-k,
        pass_within=(-k, k),
        canary=mc,
        stable=ms,
    )


def _smoothed(k: float, n: int) -> float:
    """A share's variance per row from the rate smoothed by half a count (a share of 0 still has a variance)."""
    q = (k + 0.5) / (n + 1)
    return q * (1 - q)


def _class_mix(cc: np.ndarray, cs: np.ndarray, spec: AnalysisConfig, m: int) -> MetricResult | None:
    """Each class's share, canary − stable, in stable standard deviations, at ``alpha`` split over the classes.

    None unless both sides have class labels and there are more than two classes, or the labels are text
    (numbers 0/1 are the prediction shift's: the same test, as a mean). Reported as one metric: the
    failing class furthest out, else the class furthest from passing.
    """
    if cc.size == 0 or cs.size == 0:
        return None
    (names_c, n_c), (names_s, n_s) = (np.unique(x.astype(str), return_counts=True) for x in (cc, cs))
    names = np.union1d(names_c, names_s)
    if names.size <= 2 and all(_is_number(x) for x in names):
        return None
    k = len(names)
    counts_c, counts_s = np.zeros(k), np.zeros(k)
    counts_c[np.searchsorted(names, names_c)] = n_c
    counts_s[np.searchsorted(names, names_s)] = n_s
    nc, ns = cc.size, cs.size
    # two classes: both shares move together, one test; more: Bonferroni over the classes
    alpha = spec.alpha if k <= 2 else spec.alpha / k
    limit = spec.max_prediction_shift
    results = []
    for i, name in enumerate(names.tolist()):
        vc, vs = _smoothed(counts_c[i], nc), _smoothed(counts_s[i], ns)
        scale = math.sqrt(vs)
        share_c, share_s = counts_c[i] / nc, counts_s[i] / ns
        r = _decide(
            "class_mix",
            (share_c - share_s) / scale,
            (vc / nc + vs / ns) / vs,
            m / (vc / vs),
            alpha,
            fail_above=limit,
            fail_below=-limit,
            pass_within=(-limit, limit),
            canary=share_c,
            stable=share_s,
        )
        results.append(replace(r, detail=f"class {name!r}"))
    failed = [r for r in results if r.decision == FAIL]
    if failed:
        return max(failed, key=lambda r: abs(r.estimate))
    open_ = [r for r in results if r.decision != PASS]
    return max(open_ or results, key=lambda r: abs(r.estimate))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _agreement(agree: np.ndarray, spec: AnalysisConfig, m: int) -> MetricResult | None:
    """The shadow's agreement with the stable version, against the ``min_agreement`` floor; None without a shadow."""
    n = int(agree.size)
    if n == 0:
        return None
    hits = float(np.count_nonzero(agree))
    per_row = _smoothed(hits, n)
    r = _decide(
        "shadow_agreement",
        hits / n,
        per_row / n,
        m / per_row,
        spec.alpha,
        fail_above=None,
        fail_below=spec.min_agreement,
        pass_within=(spec.min_agreement, math.inf),
        canary=hits / n,
        stable=spec.min_agreement,
    )
    return _enough(replace(r, detail=f"{n} rows scored by the shadow"), n, m)


def _enough(r: MetricResult, rows: int, m: int, *, required: bool = False) -> MetricResult:
    """A metric on rows of its own (the shadow's, the labelled ones) decides only from ``m`` of them.

    Below that it can still fail (its sequence is valid at any size); otherwise it is ``too_few``, which
    does not hold the analysis back, or, when the analysis ``required`` it, waits.
    """
    if r.decision != FAIL and rows < m:
        return replace(r, decision=WAIT if required else TOO_FEW, detail=f"{r.detail}; {m} are needed")
    return r


def _performance(canary: Arm, stable: Arm, spec: AnalysisConfig, m: int) -> MetricResult | None:
    """Accuracy, canary − stable, realized from labels or estimated (CBPE), per ``spec.performance``.

    ``auto``: realized once each side has ``m`` labelled rows, else estimated when both sides have
    calibrated probabilities, else realized on the labels there are; None when there is nothing to
    compare; below ``m`` rows a side it can fail but does not hold a pass back. ``realized`` or
    ``estimated`` named outright is required: without its rows, or with fewer than ``m``, it waits.
    """
    source = spec.performance
    if source in ("auto", "realized") and (canary.abs_error.size or stable.abs_error.size):
        return _mae(canary.abs_error, stable.abs_error, spec, m)
    labelled = canary.correct.size > 0 and stable.correct.size > 0
    estimated = canary.expected.size > 0 and stable.expected.size > 0
    if source == "off":
        return None
    if source == "auto":
        enough = min(canary.correct.size, stable.correct.size) >= m
        source = "realized" if enough or (labelled and not estimated) else "estimated" if estimated else ""
        if not source:
            return None
    xc, xs = (canary.correct, stable.correct) if source == "realized" else (canary.expected, stable.expected)
    drop = spec.max_performance_drop
    if xc.size == 0 or xs.size == 0:
        missing = "labelled rows" if source == "realized" else "calibrated probabilities"
        return MetricResult(
            "performance", math.nan, -math.inf, math.inf, -drop, None, (-drop, math.inf), WAIT, math.nan,
            math.nan, f"{source} accuracy: no {missing} on {'the canary' if xc.size == 0 else 'the stable side'}",
        )  # fmt: skip
    if source == "realized":  # 0/1 per row: the share's smoothed variance, so that 100% right still has one
        vc, vs = _smoothed(float(xc.sum()), xc.size), _smoothed(float(xs.sum()), xs.size)
    else:
        vc, vs = max(_mean_var(xc)[1], 1e-6), max(_mean_var(xs)[1], 1e-6)
    mc, ms = float(xc.mean()), float(xs.mean())
    r = _decide(
        "performance",
        mc - ms,
        vc / xc.size + vs / xs.size,
        m / vc,
        spec.alpha,
        fail_above=None,
        fail_below=-drop,
        pass_within=(-drop, math.inf),
        canary=mc,
        stable=ms,
    )
    rows = f"{xc.size} canary and {xs.size} stable rows"
    what = "realized accuracy" if source == "realized" else "estimated accuracy (CBPE)"
    return _enough(replace(r, detail=f"{what}, {rows}"), min(xc.size, xs.size), m, required=spec.performance != "auto")


def _mae(ac: np.ndarray, as_: np.ndarray, spec: AnalysisConfig, m: int) -> MetricResult:
    """A regression's realized mean absolute error, canary over stable − 1, against ``max_mae_increase``.

    The ratio's variance by the delta method (both means uncertain); ``ρ`` the information of ``m`` canary
    rows on that scale. No estimated counterpart: the monitor's error model (DLE) gives a window's mean
    from its quantile sketches, not an error per row. Below ``m`` labelled rows a side it can fail but is
    ``too_few``, unless the analysis names ``performance: realized``, which waits (``estimated`` always
    waits for a regression: there is no estimate to compare).
    """
    limit = spec.max_mae_increase
    required = spec.performance != "auto"
    if ac.size == 0 or as_.size == 0:
        return MetricResult(
            "performance", math.nan, -math.inf, math.inf, None, limit, (-math.inf, limit), WAIT if required
            else TOO_FEW, math.nan, math.nan,
            f"realized MAE: no labelled rows on {'the canary' if ac.size == 0 else 'the stable side'}",
        )  # fmt: skip
    (mc, vc), (ms, vs) = _mean_var(ac), _mean_var(as_)
    base = max(ms, 1e-12)  # a stable version with no error at all: any canary error is an endless increase
    vc, vs = max(vc, 1e-12), max(vs, 1e-12)
    r = _decide(
        "performance",
        mc / base - 1.0,
        vc / (ac.size * base**2) + mc**2 * vs / (as_.size * base**4),
        m * base**2 / vc,
        spec.alpha,
        fail_above=limit,
        fail_below=None,
        pass_within=(-math.inf, limit),
        canary=mc,
        stable=ms,
    )
    detail = f"realized MAE, {ac.size} canary and {as_.size} stable rows"
    return _enough(replace(r, detail=detail), min(ac.size, as_.size), m, required=required)


def _say(x: MetricResult) -> str:
    if x.name == "error_rate":
        return f"error rate {x.canary:.2%} vs {x.stable:.2%} (difference at least {x.lower:+.2%})"
    if x.name == "latency":
        return f"latency {x.canary:.3g} ms vs {x.stable:.3g} ms (at least {math.exp(x.lower):.2f}x)"
    if x.name == "class_mix":
        return f"{x.detail} is {x.canary:.1%} of predictions vs {x.stable:.1%} ({x.estimate:+.2f} sd)"
    if x.name == "shadow_agreement":
        return (
            f"the shadow agrees with the stable version on {x.canary:.1%} of rows "
            f"(at most {x.upper:.1%}, floor {x.stable:.0%})"
        )
    if x.name == "performance" and x.detail.startswith("realized MAE"):
        return f"realized MAE {x.canary:.4g} vs {x.stable:.4g} (an increase of at least {x.lower:+.1%})"
    if x.name == "performance":
        return f"{x.detail.split(',')[0]} {x.canary:.3f} vs {x.stable:.3f} (difference at most {x.upper:+.3f})"
    return f"mean prediction {x.canary:.4g} vs {x.stable:.4g} ({x.estimate:+.2f} standard deviations)"


def _waiting(x: MetricResult) -> str:
    text = f"{x.name} {x.estimate:+.4g} in [{x.lower:.4g}, {x.upper:.4g}]" if math.isfinite(x.estimate) else x.name
    return f"{text} ({x.detail})" if x.detail else text


def read_log(
    folder: str | Path,
    name: str,
    versions: Sequence[int],
    since: datetime,
    until: datetime,
    *,
    labels: str | Path | None = None,
    calibrations: Mapping[int, Calibration | ClassCalibration] | None = None,
) -> dict[int, Arm]:
    """Each version's :class:`Arm` from the prediction log under ``folder`` for ``since <= time < until``.

    Requests, errors, latencies and predictions come from the rows each version served (its shadow rows
    are left out: the shadow served nobody); a version with no file gives an empty arm. Class-label
    outputs (integers, booleans, text) also give each row's class, and a version's shadow rows its
    agreement with the class another of ``versions`` served on the same request and row. ``labels``, the
    folder ``mlgate labels add`` writes, gives each labelled row whether it was right (a regression's, how
    far it was off); ``calibrations``
    (by version, :func:`calibrations`) gives each row with probabilities the chance its class is right (CBPE,
    two classes or more).
    """
    import polars as pl

    # one time zone for the filter: a PostgreSQL registry's times come back in Etc/UTC, which Polars
    # refuses to compare with the log's UTC
    since, until = since.astimezone(UTC), until.astimezone(UTC)
    frames: dict[int, pl.DataFrame] = {}
    first, last = f"hour={since.astimezone(UTC):%Y-%m-%dT%H}", f"hour={until.astimezone(UTC):%Y-%m-%dT%H}"
    for number in versions:
        # the hour folders outside the window are never opened: a long-lived log costs only its window
        files = [
            f
            for f in sorted(Path(folder).glob(f"model={name}/version={number}/**/*.parquet"))
            if not (hour := next((p for p in f.parts if p.startswith("hour=")), None)) or first <= hour <= last
        ]
        if files:
            frames[number] = (
                pl.concat([_scan(f) for f in files], how="diagonal_relaxed")
                .filter((pl.col("time") >= since) & (pl.col("time") < until))
                .collect()
            )
    known = _labels(labels)
    served = {v: f.filter(pl.col("route") != "shadow") for v, f in frames.items()}
    out: dict[int, Arm] = {}
    for number in versions:
        frame = served.get(number)
        if frame is None or frame.height == 0:
            out[number] = Arm.empty()
            continue
        per_request = frame.group_by("request_id").agg(
            ((pl.col("status") >= 500) | pl.col("prediction").is_nan().fill_null(False)).any().alias("error"),
            pl.col("latency_ms").first(),
        )
        scored = frame.filter(pl.col("class").is_not_null())
        correct, abs_error = np.empty(0), np.empty(0)
        if known is not None and scored.height:
            joined = scored.join(known, on=["request_id", "row"], how="inner")
            correct = (joined["class"] == joined["label"]).cast(pl.Float64).to_numpy()
        numeric = frame.filter(pl.col("class").is_null() & pl.col("prediction").is_not_null())
        if known is not None and numeric.height:  # a regression: how far each labelled prediction is off
            joined = numeric.join(known, on=["request_id", "row"], how="inner")
            off = (joined["prediction"] - joined["label"].cast(pl.Float64, strict=False)).abs().to_numpy()
            abs_error = off[np.isfinite(off)].astype(float)
        others = [served[v] for v in versions if v != number and v in served]
        out[number] = Arm(
            per_request["error"].to_numpy().astype(bool),
            per_request["latency_ms"].to_numpy().astype(float),
            frame["prediction"].drop_nulls().to_numpy().astype(float),
            classes=scored["class"].to_numpy().astype(object),
            agreement=_shadow_agreement(frames[number], others),
            correct=correct,
            expected=_expected(frame, (calibrations or {}).get(number)),
            abs_error=abs_error,
        )
    return out


def _scan(path: Path) -> Any:
    """One file's columns as the analysis reads them: ``prediction`` as float, ``class`` as text, the probabilities."""
    import polars as pl

    names = pl.read_parquet_schema(path)
    pred = names.get("prediction")
    cols: list[Any] = [pl.col(c) for c in ("time", "request_id", "row", "route", "status", "latency_ms")]
    if pred is not None and (pred.is_numeric() or pred == pl.Boolean):
        cols.append(pl.col("prediction").cast(pl.Float64))
    else:  # text labels (or no prediction): no number to average
        cols.append(pl.lit(None, dtype=pl.Float64).alias("prediction"))
    if pred is not None and not pred.is_float():  # integers, booleans, text: class labels
        cols.append(pl.col("prediction").cast(pl.String).alias("class"))
    else:
        cols.append(pl.lit(None, dtype=pl.String).alias("class"))
    cols += [pl.col(c).cast(pl.Float64) for c in names if c.startswith("proba_")]
    return pl.scan_parquet(path, hive_partitioning=False).select(cols)


def _labels(folder: str | Path | None) -> Any:
    """The labels stored in ``folder`` as (request_id, row, label) with the log's types; None without any."""
    if folder is None:
        return None
    import polars as pl

    from mlgate.monitor.labels import read_labels

    known = read_labels(folder)
    if known is None:
        return None
    return known.select(pl.col("request_id"), pl.col("row").cast(pl.Int32), pl.col("label").cast(pl.String))


def _shadow_agreement(frame: Any, others: list[Any]) -> np.ndarray:
    """Per row this version scored as a shadow, whether its class equals the one another version served."""
    import polars as pl

    shadow = frame.filter((pl.col("route") == "shadow") & pl.col("class").is_not_null())
    if shadow.height == 0 or not others:
        return np.empty(0, dtype=bool)
    served = pl.concat([o.select("request_id", "row", pl.col("class").alias("served")) for o in others])
    joined = shadow.join(served.filter(pl.col("served").is_not_null()), on=["request_id", "row"], how="inner")
    return (joined["class"] == joined["served"]).to_numpy().astype(bool)


def _expected(frame: Any, calibration: Calibration | ClassCalibration | None) -> np.ndarray:
    """Per served row with probabilities, the calibrated chance its predicted class is right (CBPE).

    Two classes: the positive probability (the second ``proba_`` column, the class order the model gives)
    goes through the version's isotonic map (:class:`mlgate.monitor.estimate.Calibration`); a row at or
    above 0.5 is predicted positive, so it is right with the calibrated chance ``c``, below with ``1 − c``.
    More classes: the row's top probability goes through its predicted class's one-vs-rest map
    (:class:`mlgate.monitor.estimate.ClassCalibration`), the chance a row of that probability is of that
    class. Both as in the monitor's estimate. Empty without a calibration, or when the log's ``proba_``
    columns are not the classes it was fitted on.
    """
    from mlgate.monitor.estimate import Calibration

    probas = [c for c in frame.columns if c.startswith("proba_")]
    if calibration is None or len(probas) < 2:
        return np.empty(0)
    if isinstance(calibration, Calibration):
        if len(probas) != 2:
            return np.empty(0)
        positive = frame[probas[1]].drop_nans().drop_nulls().to_numpy().astype(float)
        c = np.asarray(calibration(positive), dtype=float)
        return np.where(positive >= 0.5, c, 1.0 - c)
    maps = calibration.ordered([c.removeprefix("proba_") for c in probas])
    if maps is None:
        return np.empty(0)
    p = frame.select(probas).to_numpy().astype(float)
    p = p[np.isfinite(p).all(axis=1)]
    predicted = p.argmax(axis=1)
    top = p[np.arange(len(p)), predicted]
    out = np.empty(len(p))
    for k, chance in enumerate(maps):
        rows = predicted == k
        out[rows] = chance(top[rows])
    return out


def calibrations(registry: Registry, name: str, versions: Sequence[int]) -> dict[int, Calibration | ClassCalibration]:
    """Each version's CBPE calibration, from the outputs its latest passing gate report kept.

    Classifiers only (an isotonic map for two classes, one per class for more; a regression's error
    model gives no per-row estimate), all of one kind, and all or none: taken as they are, two models'
    probabilities compare their confidence, not their accuracy (a more regularized model is less sure
    and no less right), so the estimate is compared only when every version is calibrated on its own
    evaluation outputs; else the mapping is empty.
    """
    from mlgate.monitor.estimate import Calibration, ClassCalibration, calibration
    from mlgate.monitor.prediction import gate_reference
    from mlgate.refs import Ref

    out: dict[int, Calibration | ClassCalibration] = {}
    for number in versions:
        ref = gate_reference(registry, registry.get(Ref(name, number=number)))
        fitted = calibration(ref[1]) if ref is not None else None
        if not isinstance(fitted, (Calibration, ClassCalibration)):
            return {}
        out[number] = fitted
    if len({type(c) for c in out.values()}) > 1:  # two classes on one side, more on the other: no comparison
        return {}
    return out
