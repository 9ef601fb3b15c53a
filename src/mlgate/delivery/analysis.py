"""Canary against stable on the same window, decided by always-valid confidence sequences.

Three metrics, each a difference canary − stable with its variance estimated from the data:

- **error rate** — the share of requests that failed (status 5xx, or a NaN prediction), per request;
- **latency** — the difference of mean log latency (a ratio of geometric means), per request;
- **prediction shift** — the difference of mean predictions in standard deviations of the stable's,
  per scored row (numeric predictions; class labels 0/1 count as a share; text labels skip it).

Around each difference lies a two-sided *normal-mixture confidence sequence* (Robbins 1970; Howard,
Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic confidence sequences",
eq. 14, used here with the plug-in variance as Waudby-Smith et al. 2021 do for their asymptotic
confidence sequences). With information ``I = 1 / var`` of the estimate and mixing parameter ``ρ``::

    half-width = sqrt((I + ρ) · log((I + ρ) / (ρ · α²))) / I

The sequence covers the true difference at *every* check at once with probability ≥ 1 − α, so
checking every few seconds, or at every step of a rollout, does not inflate false aborts the way
re-testing a fixed threshold does. ``ρ`` is the information of ``min_requests`` canary requests,
so the sequence is tightest where the first decision can be taken.

A metric *fails* when its sequence lies wholly beyond its limit (error rate: above 0, any credible
increase in errors; latency: above ``log(max_latency_ratio)``; predictions: beyond
``±max_prediction_shift``); it *passes* when the sequence lies wholly inside (error rate: below
``max_error_increase``). One failing metric fails the analysis; it passes only when every metric
passes and each side has ``min_requests`` requests. Anything else waits: no data or too little data
never passes, and the controller aborts a step that is still waiting at its deadline. For a healthy
canary the chance that any metric ever fails is at most ``α/2`` per metric (3 · 0.005 = 1.5% at the
default α = 0.01), however often it is checked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mlgate.config.sections import AnalysisConfig

PASS, FAIL, WAIT = "pass", "fail", "wait"


@dataclass(frozen=True)
class Arm:
    """What one side served in the window: per request an error flag and a latency, per row a prediction."""

    errors: np.ndarray  # bool, one per request
    latency_ms: np.ndarray  # float, one per request
    predictions: np.ndarray = field(default_factory=lambda: np.empty(0))  # float, one per scored row

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

    # predictions: standardized difference of means, either way
    yc = canary.predictions[np.isfinite(canary.predictions)] if canary.predictions.size else canary.predictions
    ys = stable.predictions[np.isfinite(stable.predictions)] if stable.predictions.size else stable.predictions
    if yc.size > 1 and ys.size > 1:
        (mc, vc), (ms, vs) = _mean_var(yc), _mean_var(ys)
        scale = math.sqrt(vs) if vs > 0 else math.sqrt((vc + vs) / 2)
        k = spec.max_prediction_shift
        if scale == 0:  # both constant: equal passes, different fails
            same = mc == ms
            est, var, rho = (0.0 if same else math.copysign(math.inf, mc - ms)), 0.0, 1.0
        else:
            est, var, rho = (mc - ms) / scale, (vc / yc.size + vs / ys.size) / scale**2, m / max(vc / scale**2, 1e-12)
        metrics.append(
            _decide(
                "prediction_shift",
                est,
                var,
                rho,
                alpha,
                fail_above=k,
                fail_below=-k,
                pass_within=(-k, k),
                canary=mc,
                stable=ms,
            )
        )

    failed = [x for x in metrics if x.decision == FAIL]
    if failed:
        what = "; ".join(_say(x) for x in failed)
        return out(FAIL, f"the canary is worse: {what}")
    if nc < m or ns < m:
        return out(WAIT, f"too little data: {nc} canary and {ns} stable requests, {m} each are needed")
    waiting = [x for x in metrics if x.decision != PASS]
    if waiting:
        what = "; ".join(f"{x.name} {x.estimate:+.4g} in [{x.lower:.4g}, {x.upper:.4g}]" for x in waiting)
        return out(WAIT, f"inconclusive: {what}")
    return out(PASS, f"every metric is within its limits over {nc} canary requests")


def _say(x: MetricResult) -> str:
    if x.name == "error_rate":
        return f"error rate {x.canary:.2%} vs {x.stable:.2%} (difference at least {x.lower:+.2%})"
    if x.name == "latency":
        return f"latency {x.canary:.3g} ms vs {x.stable:.3g} ms (at least {math.exp(x.lower):.2f}x)"
    return f"mean prediction {x.canary:.4g} vs {x.stable:.4g} ({x.estimate:+.2f} standard deviations)"


def read_log(
    folder: str | Path, name: str, versions: Sequence[int], since: datetime, until: datetime
) -> dict[int, Arm]:
    """Each version's :class:`Arm` from the prediction log under ``folder`` for ``since <= time < until``.

    Shadow rows are left out (the shadow served nobody); a version with no file gives an empty arm.
    """
    import polars as pl

    out: dict[int, Arm] = {}
    first, last = f"hour={since.astimezone(UTC):%Y-%m-%dT%H}", f"hour={until.astimezone(UTC):%Y-%m-%dT%H}"
    for number in versions:
        # the hour folders outside the window are never opened: a long-lived log costs only its window
        files = [
            f
            for f in sorted(Path(folder).glob(f"model={name}/version={number}/**/*.parquet"))
            if not (hour := next((p for p in f.parts if p.startswith("hour=")), None)) or first <= hour <= last
        ]
        if not files:
            out[number] = Arm.empty()
            continue
        frame = (
            pl.concat(
                [
                    pl.scan_parquet(f, hive_partitioning=False).select(
                        "time", "request_id", "route", "status", "latency_ms", _prediction(f)
                    )
                    for f in files
                ],
                how="vertical",
            )
            .filter(
                (pl.col("time") >= since) & (pl.col("time") < until) & (pl.col("route") != "shadow"),
            )
            .collect()
        )
        if frame.height == 0:
            out[number] = Arm.empty()
            continue
        per_request = frame.group_by("request_id").agg(
            ((pl.col("status") >= 500) | pl.col("prediction").is_nan().fill_null(False)).any().alias("error"),
            pl.col("latency_ms").first(),
        )
        out[number] = Arm(
            per_request["error"].to_numpy().astype(bool),
            per_request["latency_ms"].to_numpy().astype(float),
            frame["prediction"].drop_nulls().to_numpy().astype(float),
        )
    return out


def _prediction(path: Path) -> Any:
    """The ``prediction`` column as float (null where it is text or missing)."""
    import polars as pl

    names = pl.read_parquet_schema(path)
    if "prediction" not in names:
        return pl.lit(None, dtype=pl.Float64).alias("prediction")
    if names["prediction"].is_numeric() or names["prediction"] == pl.Boolean:
        return pl.col("prediction").cast(pl.Float64)
    return pl.lit(None, dtype=pl.Float64).alias("prediction")
