"""How small a change an evaluation set can resolve, measured on a comparison or estimated before one.

A change check passes when the pessimistic end of its interval is within the margin. For a candidate
that is as good as the champion (an ordinary retrain) the change is about 0, so it passes only when the
interval's half-width is at most the margin: the half-width is the smallest margin this set can resolve.
It shrinks as 1/√rows, so ``rows × (half-width / margin)²`` rows would resolve the margin.

Before any model is scored (``mlgate gate --plan``) the half-width is estimated from the rows alone:
``z × spread / √n_eff``, with ``n_eff`` the rows the metric counts (all rows; the positives for recall;
the smaller class for ROC AUC) and ``spread`` the standard deviation of one row's paired
difference between two retrains of the same model, measured on bundled data by
``benchmarks/gate_zoo.py`` (docs/gates.md). It is an estimate: models that disagree more need more rows.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np

# per-row spread of the paired difference between two ordinary retrains (benchmarks/gate_zoo.py, median
# over 24 random-forest retrains: accuracy 0.124 on breast cancer, 0.133 on digits; ROC AUC 0.017 per
# row of the smaller class on breast cancer); other label metrics use the accuracy figure
SPREAD = {"accuracy": 0.13, "roc_auc": 0.017}
DEFAULT_SPREAD = 0.13
_MINORITY = {"roc_auc"}
_POSITIVES = {"recall", "f1"}


def resolution(ci: tuple[float, float], n: int, margin: float) -> dict[str, Any]:
    """The measured resolution of a comparison: half-width, whether the margin is below it, rows needed."""
    half = (float(ci[1]) - float(ci[0])) / 2
    below = half > margin
    needed = None
    if below and margin > 0:
        needed = math.ceil(n * (half / margin) ** 2)
    return {"resolution": half, "below_resolution": below, "rows_needed": needed}


def describe(res: dict[str, Any], margin: float, *, key: str = "max_drop") -> str:
    """One sentence: what the set resolves, what the margin will do, and the two ways out."""
    half = res["resolution"]
    text = f"This set can tell changes ≥ {_up(half)}; {key} {margin:.4g} will be undecided for most equal retrains: "
    if res.get("rows_needed"):
        return text + f"use ≥ {res['rows_needed']:,} rows or a margin ≥ {_up(half)}"
    return text + f"use a margin ≥ {_up(half)}"


def estimate(metric: str, y: np.ndarray | None, n: int, margin: float, confidence: float = 0.95) -> dict[str, Any]:
    """The resolution expected before scoring: from the rows (and the class counts) alone."""
    n_eff = n
    if y is not None and metric in _MINORITY | _POSITIVES:
        counts = np.unique(y, return_counts=True)[1]
        if metric in _MINORITY:
            n_eff = int(counts.min()) if counts.size > 1 else 0
        else:
            n_eff = int(counts[-1]) if counts.size else 0
    spread = SPREAD.get(metric, DEFAULT_SPREAD)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    half = z * spread / math.sqrt(n_eff) if n_eff > 0 else math.inf
    out = resolution((-half, half), n, margin) if math.isfinite(half) else {
        "resolution": half, "below_resolution": True, "rows_needed": None}  # fmt: skip
    out["estimated"] = True
    return out


def _up(x: float) -> str:
    """A resolution rounded up to two significant digits, so that a margin of that size resolves."""
    if not math.isfinite(x) or x <= 0:
        return f"{x:g}"
    digits = 1 - math.floor(math.log10(x))
    return f"{math.ceil(x * 10**digits) / 10**digits:.{max(digits, 0)}f}"
