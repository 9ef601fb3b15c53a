"""A/B tests on outcomes: the rows a minimum effect needs, a sequential test, per-slice effects, a ratio check.

The statistics of an A/B test; its life in the registry (start, status, stop) is
:mod:`mlgate.delivery.experiment`. The outcome of each served row is joined from the prediction log by
request id and row to the labels ``mlgate labels add`` (or ``POST /labels``) stored, and is one of
(:func:`parse_metric`):

- ``accuracy``: 1 when the arm's prediction equals the label, else 0;
- ``label``: the label's own value, a number (a conversion 0/1, an amount);
- ``label=VALUE``: 1 when the label is ``VALUE`` (``label=purchase``: the purchase rate);
- ``value``: the labels' ``value`` column, the number a business event carries (a purchase's amount).

Rows without a label are left out (``missing="skip"``) or, for business events where no event means
nothing happened, count 0 (``missing="zero"``: revenue per served row).

- :func:`plan`: rows for a minimum detectable effect ``mde`` at ``alpha`` and ``power``, for a single
  test at the end (``fixed``) and for the always-valid test, which may be read at any time
  (``sequential``, the normal-mixture confidence sequence of :mod:`mlgate.delivery.analysis` with its
  mixing tuned to the planned size: it needs more rows for the right to look early).
- :func:`sequential_effects`: the decision rule, on arrays (one check or many at once): B − A with its
  confidence sequence, which covers the true effect at every check at once with probability 1 − alpha.
  ``b_better`` when it lies above 0, ``b_worse`` below, ``no_difference`` when it lies within ±``mde``,
  else ``inconclusive``; ``too_few`` while an arm has fewer than ``min_rows`` rows.
- :func:`analyse_outcomes`: the report: that effect (and a fixed 95% interval, for reading), per slice
  too, and the sample-ratio-mismatch check: a chi-square test of the arms' sizes (requests) against the
  split. A mismatch (p < 0.001) means the split or the logging is broken, and no effect is trusted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from mlgate.delivery.analysis import half_width
from mlgate.errors import InputError, UsageError

SRM_ALPHA = 0.001
Z95 = 1.959963984540054
DECISIONS = ("b_better", "b_worse", "no_difference", "inconclusive", "too_few")


def _z(p: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(p))


@dataclass(frozen=True)
class Metric:
    """What an A/B test measures per row: ``kind`` accuracy, label, label_is (with ``value``) or value."""

    kind: str
    value: str | None = None

    @property
    def name(self) -> str:
        """As written on the command line: ``accuracy``, ``label``, ``label=purchase``, ``value``."""
        return f"label={self.value}" if self.kind == "label_is" else self.kind

    @property
    def rate(self) -> bool:
        """Whether every outcome is 0 or 1 (its standard deviation follows from its mean)."""
        return self.kind in ("accuracy", "label_is")


def parse_metric(text: str) -> Metric:
    """``accuracy``, ``label``, ``label=VALUE`` or ``value``; UsageError naming the choices otherwise."""
    text = text.strip()
    if text in ("accuracy", "label", "value"):
        return Metric(text)
    if text.startswith("label=") and text[len("label=") :]:
        return Metric("label_is", text[len("label=") :])
    raise UsageError(
        f"--metric {text!r} is not a metric of an A/B test",
        hint="accuracy (prediction = label), label (the label's number), label=VALUE (the share of rows "
        "labelled VALUE) or value (the labels' value column: a business event's amount)",
    )


@dataclass(frozen=True)
class Plan:
    """Rows needed on both arms together, fixed-horizon and sequential, for ``mde`` at ``alpha``, ``power``."""

    baseline: float
    mde: float
    split: float
    alpha: float
    power: float
    sd: float
    fixed: int
    sequential: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def check_split(percent: float) -> float:
    """``--split`` as typed, B's share in percent strictly between 0 and 100 (UsageError showing it otherwise).

    A value below 1 is refused: it is most likely a fraction (0.5 meant as 50%), and a share that small
    would take the test a hundred times the traffic anyway.
    """
    if not (math.isfinite(percent) and 0 < percent < 100):
        raise UsageError(
            f"--split must be B's share in percent, strictly between 0 and 100; got {percent:g}",
            hint="for example --split 50 (half the requests to B) or --split 10",
        )
    if percent < 1:
        raise UsageError(
            f"--split is a percent: {percent:g} would send {percent:g}% of the requests to B",
            hint=f"did you mean {percent * 100:g}? (--split {percent * 100:g}); a share under 1% is not supported",
        )
    return percent


def plan(
    baseline: float,
    mde: float,
    *,
    split: float = 0.5,
    alpha: float = 0.05,
    power: float = 0.8,
    sd: float | None = None,
) -> Plan:
    """Rows (both arms) to detect an absolute effect ``mde`` on an outcome whose mean under A is ``baseline``.

    ``sd`` is the outcome's standard deviation per row; for a rate (``baseline`` in (0, 1), no ``sd``)
    it is ``sqrt(p(1 − p))``. ``split`` is B's share.
    """
    if not 0 < split < 1:
        raise UsageError(f"--split must be B's share strictly between 0 and 100%, got {split * 100:.4g}%")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise UsageError(f"alpha and power must lie strictly between 0 and 1, got {alpha} and {power}")
    if not mde > 0:
        raise UsageError(f"--mde must be a positive effect, got {mde}")
    if sd is None:
        if not 0 < baseline < 1:
            raise UsageError(
                f"a baseline of {baseline} is not a rate in (0, 1): give the outcome's --sd for a mean outcome"
            )
        sd = math.sqrt(baseline * (1 - baseline))
    if not sd > 0:
        raise UsageError(f"--sd must be positive, got {sd}")
    spread = sd * sd * (1 / split + 1 / (1 - split))  # N · var(effect) for N rows in all
    zb = _z(power)
    fixed = math.ceil((_z(1 - alpha / 2) + zb) ** 2 * spread / mde**2)

    def enough(n: int) -> bool:
        var = spread / n
        # ρ tuned to the fixed-horizon size: the sequence is tightest where the answer is expected
        return half_width(var, fixed / spread, alpha) + zb * math.sqrt(var) <= mde

    lo, hi = fixed, fixed
    while not enough(hi):
        lo, hi = hi, hi * 2
    while lo < hi:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid + 1
    return Plan(baseline, mde, split, alpha, power, sd, fixed, hi)


_half_widths = np.vectorize(half_width, otypes=[float])


def sequential_effects(
    mean_a: Any,
    var_a: Any,
    rows_a: Any,
    mean_b: Any,
    var_b: Any,
    rows_b: Any,
    *,
    split: float,
    alpha: float = 0.05,
    min_rows: int = 100,
    tune_rows: float | None = None,
    mde: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The decision rule on arrays of checks: ``(effect, cs_low, cs_high, ci95 half-width, decision)``.

    Each argument may be an array (many checks, or many simulated tests, at once). The confidence
    sequence's mixing is tuned to ``tune_rows`` rows in all (the plan's fixed size; default
    ``2 · min_rows``), at the observed variances and B's share ``split``. A variance of 0 (a rate of 0
    or 1 on one side) counts as half a row each way, as the rollout analysis does.
    """
    ma, mb = np.asarray(mean_a, dtype=float), np.asarray(mean_b, dtype=float)
    na, nb = np.asarray(rows_a, dtype=float), np.asarray(rows_b, dtype=float)
    va = np.maximum(np.asarray(var_a, dtype=float), 0.25 / np.maximum(na, 1) ** 2)
    vb = np.maximum(np.asarray(var_b, dtype=float), 0.25 / np.maximum(nb, 1) ** 2)
    var = va / np.maximum(na, 1) + vb / np.maximum(nb, 1)
    rho = (tune_rows if tune_rows else 2.0 * min_rows) / np.maximum(va / (1 - split) + vb / split, 1e-12)
    effect = mb - ma
    h = _half_widths(var, rho, alpha)
    lo, hi = effect - h, effect + h
    decision = np.full(np.shape(effect), "inconclusive", dtype=object)
    if mde is not None:
        decision[(lo > -mde) & (hi < mde)] = "no_difference"
    decision[lo > 0] = "b_better"
    decision[hi < 0] = "b_worse"
    decision[np.minimum(na, nb) < max(min_rows, 2)] = "too_few"
    return effect, lo, hi, Z95 * np.sqrt(var), decision


@dataclass(frozen=True)
class Effect:
    """B − A on one set of rows: the means, the effect, its confidence sequence and a fixed 95% interval."""

    slice: str
    rows_a: int
    rows_b: int
    mean_a: float
    mean_b: float
    effect: float
    cs: tuple[float, float]
    ci95: tuple[float, float]
    decision: str  # b_better, b_worse, no_difference, inconclusive, too_few


@dataclass(frozen=True)
class AbReport:
    """The whole test: the overall effect, per-slice effects and the sample-ratio check on requests."""

    outcome: str
    alpha: float
    split: float
    overall: Effect
    slices: tuple[Effect, ...] = ()
    srm_p: float = 1.0
    srm: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    requests_a: int = 0
    requests_b: int = 0
    mde: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; a mean or interval that does not exist yet (no rows) is None, not NaN."""
        out: dict[str, Any] = _finite(asdict(self))
        return out


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float as None: JSON (and PostgreSQL's JSONB) has no NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def srm_p(rows_a: int, rows_b: int, split: float) -> float:
    """The chi-square p-value of the arms' sizes against B's expected share ``split`` (1 df)."""
    from scipy.stats import chisquare

    total = rows_a + rows_b
    if total == 0:
        return 1.0
    return float(chisquare([rows_a, rows_b], [total * (1 - split), total * split]).pvalue)


def _effect(
    name: str,
    a: np.ndarray,
    b: np.ndarray,
    *,
    split: float,
    alpha: float,
    min_rows: int,
    tune_rows: float | None,
    mde: float | None,
) -> Effect:
    na, nb = int(a.size), int(b.size)
    nan = float("nan")
    if na < 2 or nb < 2:
        ma = float(a.mean()) if na else nan
        mb = float(b.mean()) if nb else nan
        return Effect(name, na, nb, ma, mb, mb - ma, (nan, nan), (nan, nan), "too_few")
    ma, mb = float(a.mean()), float(b.mean())
    eff, lo, hi, z, decision = sequential_effects(
        ma,
        a.var(ddof=1),
        na,
        mb,
        b.var(ddof=1),
        nb,
        split=split,
        alpha=alpha,
        min_rows=min_rows,
        tune_rows=tune_rows,
        mde=mde,
    )
    e, zz = float(eff), float(z)
    return Effect(name, na, nb, ma, mb, e, (float(lo), float(hi)), (e - zz, e + zz), str(decision))


def analyse_outcomes(
    a: np.ndarray,
    b: np.ndarray,
    *,
    split: float,
    outcome: str = "outcome",
    alpha: float = 0.05,
    slices_a: Sequence[Any] | None = None,
    slices_b: Sequence[Any] | None = None,
    min_rows: int = 100,
    tune_rows: float | None = None,
    mde: float | None = None,
    requests: tuple[int, int] | None = None,
) -> AbReport:
    """The A/B report of per-row outcomes ``a`` and ``b`` (optionally labelled by slice).

    ``requests`` (A's, B's) are the arms' sizes the ratio check tests; by default their rows.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ra, rb = requests if requests is not None else (int(a.size), int(b.size))
    p = srm_p(ra, rb, split)
    kw: dict[str, Any] = {"split": split, "alpha": alpha, "min_rows": min_rows, "tune_rows": tune_rows, "mde": mde}
    overall = _effect("all", a, b, **kw)
    notes = []
    effects = []
    if slices_a is not None and slices_b is not None:
        sa, sb = np.asarray(slices_a, dtype=object), np.asarray(slices_b, dtype=object)
        for value in sorted({*sa.tolist(), *sb.tolist()}, key=str):
            effects.append(_effect(str(value), a[sa == value], b[sb == value], **kw))
        notes.append(f"slices are not corrected for multiplicity: {len(effects)} of them, each at alpha {alpha}")
    srm = p < SRM_ALPHA
    if srm:
        what = "requests" if requests is not None else "rows"
        notes.append(
            f"sample ratio mismatch: {ra} A and {rb} B {what} against a {split:.0%} split (p = {p:.2g}); "
            "the split or the logging is broken, so no effect here can be trusted"
        )
    return AbReport(outcome, alpha, split, overall, tuple(effects), p, srm, tuple(notes), ra, rb, mde)


@dataclass(frozen=True)
class Outcomes:
    """Per arm: each labelled row's outcome and slice value, the requests served, from ``start`` on."""

    a: np.ndarray
    b: np.ndarray
    slices_a: list[Any] | None
    slices_b: list[Any] | None
    requests_a: int
    requests_b: int
    start: datetime  # B's first logged row in the window (the split's real start), else the window's


def read_outcomes(
    log: str | Path,
    labels: str | Path,
    name: str,
    a: int,
    b: int,
    *,
    since: datetime,
    until: datetime,
    metric: Metric | str = "accuracy",
    slice_by: str | None = None,
    missing: str = "skip",
) -> Outcomes:
    """The outcomes of versions ``a`` and ``b`` served in the log under ``log`` for ``since <= time < until``.

    Both arms start at B's first logged row (until every replica routes to B, A serves everyone, and
    counting those rows would tilt the ratio check). Shadow rows are left out: they served nobody. A
    numeric slice column of more than ``SLICE_BINS`` values is cut at its quartiles (``slice_bins``).
    """
    import polars as pl

    from mlgate.monitor.labels import read_labels
    from mlgate.serve.logfiles import hours

    metric = parse_metric(metric) if isinstance(metric, str) else metric
    if missing not in ("skip", "zero"):
        raise UsageError(f"--missing must be skip or zero, got {missing!r}")
    if missing == "zero" and metric.kind == "accuracy":
        raise UsageError("--missing zero counts unlabelled rows as 0, which means nothing for accuracy")
    lab = read_labels(labels)
    if lab is not None and metric.kind == "value" and "value" not in lab.columns:
        raise InputError(
            f"--metric value reads the labels' value column, and no label in {labels} has one",
            hint="add the business events with a value column: request_id,label,value (e.g. 23.5)",
        )
    frames: dict[int, pl.DataFrame] = {}
    for number in (a, b):
        cols = ["time", "request_id", "row", "route", "prediction", *([slice_by] if slice_by else [])]
        parts = []
        for hour in hours(Path(log), model=name, version=number, since=since, until=until):
            for f in hour.parts():
                if slice_by and slice_by not in pl.read_parquet_schema(f):
                    raise UsageError(f"--slice {slice_by!r} is not a column of the log of {name}:{number}")
                parts.append(pl.read_parquet(f, columns=cols, hive_partitioning=False))
        rows = pl.concat(parts, how="vertical_relaxed") if parts else None
        if rows is not None:
            rows = rows.filter((pl.col("time") >= since) & (pl.col("time") < until) & (pl.col("route") != "shadow"))
        frames[number] = rows if rows is not None else pl.DataFrame(schema={"time": pl.Datetime("us", "UTC")})
    first = frames[b]["time"].min() if frames[b].height else None
    # no B row at all: the whole window counts, so a split that never reaches B shows as a ratio mismatch
    start = first if isinstance(first, datetime) else since
    out: list[tuple[np.ndarray, list[Any] | None, int]] = []
    for number in (a, b):
        rows = frames[number]
        if rows.height == 0:
            out.append((np.zeros(0), [] if slice_by else None, 0))
            continue
        rows = rows.filter(pl.col("time") >= start)
        values, sl = _outcome(rows, lab, metric, missing, slice_by)
        out.append((values, sl, int(rows["request_id"].n_unique())))
    (va, sa, ra), (vb, sb, rb) = out
    if sa is not None and sb is not None:
        sa, sb = slice_bins(sa, sb)
    return Outcomes(va, vb, sa, sb, ra, rb, start)


SLICE_BINS = 10


def slice_bins(a: list[Any], b: list[Any], bins: int = 4) -> tuple[list[Any], list[Any]]:
    """Slice values as reported: kept when there are at most ``SLICE_BINS`` of them or they are not all
    numbers; else cut at the quartiles of both arms together, each row named by its bin (``[11.2, 13.4)``)."""
    values = [v for v in (*a, *b) if v is not None]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not numeric or len(set(values)) <= SLICE_BINS:
        return a, b
    edges = np.unique(np.quantile(np.asarray(values, dtype=float), np.linspace(0, 1, bins + 1)))
    last = len(edges) - 2
    names = [f"[{edges[i]:.4g}, {edges[i + 1]:.4g}{']' if i == last else ')'}" for i in range(last + 1)]

    def name(v: Any) -> Any:
        if v is None:
            return None
        i = int(np.clip(np.searchsorted(edges, float(v), side="right") - 1, 0, len(names) - 1))
        return names[i]

    return [name(v) for v in a], [name(v) for v in b]


def _outcome(
    rows: Any, lab: Any, metric: Metric, missing: str, slice_by: str | None
) -> tuple[np.ndarray, list[Any] | None]:
    import polars as pl

    keep = ["request_id", "row", "label", *(["value"] if metric.kind == "value" else [])]
    if lab is None:
        schema = {"request_id": pl.String, "row": pl.Int32, "label": pl.String, "value": pl.Float64}
        lab = pl.DataFrame(schema={k: schema[k] for k in keep})
    joined = rows.with_columns(pl.col("row").cast(pl.Int32), pl.col("request_id").cast(pl.String)).join(
        lab.select(keep), on=["request_id", "row"], how="inner" if missing == "skip" else "left"
    )
    label = joined["label"]
    if metric.kind == "accuracy":
        values = (joined["prediction"].cast(pl.String) == label).cast(pl.Float64)
    elif metric.kind == "label_is":
        values = (label == metric.value).cast(pl.Float64)
    elif metric.kind == "value":
        values = joined["value"].cast(pl.Float64).fill_null(0.0)  # an event without an amount counts 0
    else:
        values = label.cast(pl.Float64, strict=False)
        bad = values.is_null() & label.is_not_null()
        if bad.any():
            raise InputError(
                f"--metric label needs numeric labels (a conversion 0/1, an amount); one is {label.filter(bad)[0]!r}",
                hint="measure a label value's share with --metric label=VALUE instead",
            )
    if missing == "zero":
        values = values.fill_null(0.0)  # no event recorded for the row: nothing happened
    return values.to_numpy(), (joined[slice_by].to_list() if slice_by else None)
