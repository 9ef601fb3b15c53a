"""Performance estimated without labels: confidence-based performance estimation (CBPE) for classifiers.

If the logged probabilities are calibrated, a row whose top class has probability ``p`` is right with
probability ``p``, so the expected accuracy of a window is the mean top probability; for two classes,
the expected ROC curve counts each row as ``p`` of a positive and ``1 - p`` of a negative at its score,
and its area is the expected ROC AUC (NannyML's CBPE). Both come from additive sums in the window's
partials: the top probabilities, and per bin of the positive probability (``SCORE_BINS`` bins) the rows
and the sum of that probability, so the AUC is exact up to ties within a bin (counted as half).

The estimate is only as good as the calibration. When the version's gate kept its outputs on the
evaluation rows (``gates/outputs.py``), a binary classifier's positive probability is recalibrated
first: an isotonic map (pool-adjacent-violators) of the stored probabilities to the stored labels,
applied to each score bin at the bin's mean probability, so a bin of ``n`` rows counts ``n·c`` positives
with ``c`` the calibrated probability; rows at or above 0.5 are predicted positive, so the expected
accuracy is the bins' ``c`` above 0.5 and ``1 − c`` below. Without stored outputs (or for more than two
classes) the probabilities are taken as they are. Either way the estimate is shown beside the realized
figures, which check it once labels arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlgate.monitor.partials import Partial

METHOD = "CBPE, probabilities taken as calibrated"
CALIBRATED = "CBPE, probabilities calibrated on the gate's evaluation outputs (isotonic, {rows} rows)"


@dataclass(frozen=True)
class Estimated:
    """Metrics a window's probabilities let one expect, without labels."""

    rows: int
    metrics: dict[str, float]
    method: str = METHOD

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"rows": self.rows, "metrics": self.metrics, "method": self.method}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Estimated:
        """Inverse of :meth:`to_dict`."""
        return cls(int(data["rows"]), {k: float(v) for k, v in data["metrics"].items()}, str(data["method"]))

    def describe(self) -> str:
        """``accuracy 0.941, roc_auc 0.987 (n=240)``."""
        return ", ".join(f"{k} {v:.3f}" for k, v in self.metrics.items()) + f" (n={self.rows})"


@dataclass(frozen=True)
class Calibration:
    """An isotonic map of a binary classifier's positive probability to the chance of a positive."""

    x: list[float]  # the blocks' mean probabilities, increasing
    y: list[float]  # the blocks' positive rates, non-decreasing
    rows: int

    def __call__(self, scores: Any) -> Any:
        """The calibrated probabilities of ``scores`` (linear between the blocks, flat beyond them)."""
        import numpy as np

        return np.interp(np.asarray(scores, dtype=np.float64), self.x, self.y)

    @classmethod
    def fit(cls, scores: Any, positive: Any) -> Calibration:
        """Pool adjacent violators on the scores sorted, ties pooled first."""
        import numpy as np

        s = np.asarray(scores, dtype=np.float64)
        t = np.asarray(positive, dtype=np.float64)
        order = np.argsort(s, kind="stable")
        s, t = s[order], t[order]
        uniq, start = np.unique(s, return_index=True)
        counts = np.diff(np.append(start, len(s)))
        sums = np.add.reduceat(t, start)
        xs: list[float] = []
        ys: list[float] = []
        ws: list[float] = []
        for x, w, total in zip(uniq.tolist(), counts.tolist(), sums.tolist(), strict=True):
            xs.append(x * w)
            ys.append(total)
            ws.append(w)
            while len(ws) > 1 and ys[-2] / ws[-2] >= ys[-1] / ws[-1]:
                x_last, y_last, w_last = xs.pop(), ys.pop(), ws.pop()
                xs[-1] += x_last
                ys[-1] += y_last
                ws[-1] += w_last
        return cls([x / w for x, w in zip(xs, ws, strict=True)], [y / w for y, w in zip(ys, ws, strict=True)], len(s))


def calibration(stored: Any) -> Calibration | None:
    """The calibration of a binary classifier's stored gate outputs; None for other tasks or too few rows."""
    proba = getattr(stored, "proba", None)
    if proba is None or proba.ndim != 2 or proba.shape[1] != 2 or len(stored.y) < 20:
        return None
    y = stored.y
    if (y == 1).all() or (y == 0).all():
        return None
    return Calibration.fit(proba[:, 1], y == 1)


def estimate(p: Partial, calibration: Calibration | None = None) -> Estimated | None:
    """The estimate of one window's partial; None without logged probabilities."""
    if p.confident_rows == 0:
        return None
    if calibration is not None and p.score_rows is not None and p.score_sums is not None:
        return _calibrated(p, calibration)
    metrics = {"accuracy": p.confidence_sum / p.confident_rows}
    if p.score_rows is not None and p.score_sums is not None:
        auc = _auc(list(p.score_sums), [n - s for n, s in zip(p.score_rows, p.score_sums, strict=True)])
        if auc is not None:
            metrics["roc_auc"] = auc
    return Estimated(p.confident_rows, metrics)


def _calibrated(p: Partial, calibration: Calibration) -> Estimated:
    import numpy as np

    assert p.score_rows is not None and p.score_sums is not None
    rows = np.asarray(p.score_rows, dtype=np.float64)
    means = np.divide(p.score_sums, rows, out=np.zeros_like(rows), where=rows > 0)
    c = calibration(means)
    positives = rows * c
    predicted = means >= 0.5
    right = np.where(predicted, positives, rows - positives)
    metrics = {"accuracy": float(right.sum() / rows.sum())}
    auc = _auc(positives.tolist(), (rows - positives).tolist())
    if auc is not None:
        metrics["roc_auc"] = auc
    return Estimated(p.confident_rows, metrics, CALIBRATED.format(rows=calibration.rows))


def _auc(positives: list[float], negatives: list[float]) -> float | None:
    """The ROC AUC of expected positives and negatives per bin, bins in increasing score (ties: half)."""
    total_pos, total_neg = sum(positives), sum(negatives)
    if total_pos <= 0 or total_neg <= 0:
        return None
    below = 0.0
    area = 0.0
    for pos, neg in zip(positives, negatives, strict=True):
        area += pos * (below + 0.5 * neg)  # a positive outranks the negatives of lower bins
        below += neg
    return area / (total_pos * total_neg)
