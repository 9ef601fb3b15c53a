"""A/B tests on outcomes: the rows a minimum effect needs, a sequential test, per-slice effects, a ratio check.

An A/B split is a rollout held at its weight: ``mlgate rollout start B --steps 50`` then ``mlgate rollout
pause``; every replica keeps sending half the traffic to B. The outcome is joined to the prediction log
by request id and row from the labels ``mlgate labels add`` stored: ``correct`` (the prediction equals
the label: accuracy) or ``label`` (the label is the outcome itself, a business event such as a
conversion 0/1 or a revenue amount).

- :func:`plan`: rows for a minimum detectable effect ``mde`` at ``alpha`` and ``power``, for a single
  test at the end (``fixed``) and for the always-valid test, which may be read at any time
  (``sequential``, the normal-mixture confidence sequence of :mod:`mlgate.delivery.analysis` with its
  mixing tuned to the planned size: it needs more rows for the right to look early).
- :func:`analyse_outcomes`: the effect B − A with its confidence sequence (the decision) and a fixed
  95% interval (for reading), per slice too, and the sample-ratio-mismatch check: a chi-square test of
  the arms' sizes against the split. A mismatch (p < 0.001) means the split or the logging is broken,
  and no effect is trusted.
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


def _z(p: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(p))


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
        raise UsageError(f"--split must be B's share strictly between 0 and 100%, got {split:.4g}")
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
    decision: str  # b_better, a_better, inconclusive, too_few


@dataclass(frozen=True)
class AbReport:
    """The whole test: the overall effect, per-slice effects and the sample-ratio check."""

    outcome: str
    alpha: float
    split: float
    overall: Effect
    slices: tuple[Effect, ...] = ()
    srm_p: float = 1.0
    srm: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def srm_p(rows_a: int, rows_b: int, split: float) -> float:
    """The chi-square p-value of the arms' sizes against B's expected share ``split`` (1 df)."""
    from scipy.stats import chisquare

    total = rows_a + rows_b
    if total == 0:
        return 1.0
    return float(chisquare([rows_a, rows_b], [total * (1 - split), total * split]).pvalue)


def _effect(name: str, a: np.ndarray, b: np.ndarray, alpha: float, min_rows: int) -> Effect:
    na, nb = int(a.size), int(b.size)
    if na < 2 or nb < 2:
        nan = float("nan")
        ma = float(a.mean()) if na else nan
        mb = float(b.mean()) if nb else nan
        return Effect(name, na, nb, ma, mb, mb - ma, (nan, nan), (nan, nan), "too_few")
    ma, mb = float(a.mean()), float(b.mean())
    va, vb = float(a.var(ddof=1)), float(b.var(ddof=1))
    # a rate of 0 or 1 on one side still has a variance: half a row each way, as the rollout analysis does
    va = max(va, 0.25 / na**2)
    vb = max(vb, 0.25 / nb**2)
    var = va / na + vb / nb
    eff = mb - ma
    h = half_width(var, min_rows / max(va + vb, 1e-12), alpha)
    z = 1.959963984540054 * math.sqrt(var)
    cs, ci = (eff - h, eff + h), (eff - z, eff + z)
    if min(na, nb) < min_rows:
        decision = "too_few"
    elif cs[0] > 0:
        decision = "b_better"
    elif cs[1] < 0:
        decision = "a_better"
    else:
        decision = "inconclusive"
    return Effect(name, na, nb, ma, mb, eff, cs, ci, decision)


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
) -> AbReport:
    """The A/B report of per-row outcomes ``a`` and ``b`` (optionally labelled by slice)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    p = srm_p(a.size, b.size, split)
    overall = _effect("all", a, b, alpha, min_rows)
    notes = []
    effects = []
    if slices_a is not None and slices_b is not None:
        sa, sb = np.asarray(slices_a, dtype=object), np.asarray(slices_b, dtype=object)
        for value in sorted({*sa.tolist(), *sb.tolist()}, key=str):
            effects.append(_effect(str(value), a[sa == value], b[sb == value], alpha, min_rows))
        notes.append(f"slices are not corrected for multiplicity: {len(effects)} of them, each at alpha {alpha}")
    srm = p < SRM_ALPHA
    if srm:
        notes.append(
            f"sample ratio mismatch: {a.size} A and {b.size} B rows against a {split:.0%} split (p = {p:.2g}); "
            "the split or the logging is broken, so no effect here can be trusted"
        )
    return AbReport(outcome, alpha, split, overall, tuple(effects), p, srm, tuple(notes))


def outcomes_from_log(
    log: str | Path,
    labels: str | Path,
    name: str,
    a: int,
    b: int,
    *,
    since: datetime,
    until: datetime,
    outcome: str = "correct",
    slice_by: str | None = None,
) -> tuple[np.ndarray, np.ndarray, list[Any] | None, list[Any] | None]:
    """Per labelled row of versions ``a`` and ``b`` in the log: the outcome, and the slice column's value.

    ``outcome``: ``correct`` (prediction equals label) or ``label`` (the label's own value, a number).
    """
    import polars as pl

    from mlgate.monitor.labels import read_labels

    if outcome not in ("correct", "label"):
        raise UsageError(f"--outcome must be correct or label, got {outcome!r}")
    lab = read_labels(labels)
    if lab is None:
        raise InputError(f"no labels in {labels}", hint="add them with `mlgate labels add FILE`")
    out: list[Any] = []
    for number in (a, b):
        files = sorted(Path(log).glob(f"model={name}/version={number}/**/*.parquet"))
        cols = ["time", "request_id", "row", "route", "prediction", *([slice_by] if slice_by else [])]
        frames = []
        for f in files:
            schema = pl.read_parquet_schema(f)
            if slice_by and slice_by not in schema:
                raise UsageError(f"--slice {slice_by!r} is not a column of the log of {name}:{number}")
            frames.append(pl.read_parquet(f, columns=cols, hive_partitioning=False))
        if not frames:
            out.append((np.zeros(0), [] if slice_by else None))
            continue
        rows = pl.concat(frames, how="vertical_relaxed").filter(
            (pl.col("time") >= since) & (pl.col("time") < until) & (pl.col("route") != "shadow")
        )
        joined = rows.join(lab.select("request_id", "row", "label"), on=["request_id", "row"], how="inner")
        if outcome == "correct":
            values = (joined["prediction"].cast(pl.String) == joined["label"].cast(pl.String)).cast(pl.Float64)
        else:
            try:
                values = joined["label"].cast(pl.Float64)
            except Exception as exc:
                raise InputError("--outcome label needs numeric labels (a conversion 0/1, an amount)") from exc
        out.append((values.to_numpy(), joined[slice_by].to_list() if slice_by else None))
    (va, sa), (vb, sb) = out
    return va, vb, sa, sb
