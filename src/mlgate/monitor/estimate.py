"""Performance estimated without labels: confidence-based performance estimation (CBPE) for classifiers.

If the logged probabilities are calibrated, a row whose top class has probability ``p`` is right with
probability ``p``, so the expected accuracy of a window is the mean top probability; for two classes,
the expected ROC curve counts each row as ``p`` of a positive and ``1 - p`` of a negative at its score,
and its area is the expected ROC AUC (NannyML's CBPE). Both come from additive sums in the window's
partials: the top probabilities, and per bin of the positive probability (``SCORE_BINS`` bins) the rows
and the sum of that probability, so the AUC is exact up to ties within a bin (counted as half).

The estimate is only as good as the calibration: it is not yet recalibrated on the evaluation set the
gate scored, so it is shown beside the realized figures, which check it once labels arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlgate.monitor.partials import Partial

METHOD = "CBPE, probabilities taken as calibrated"


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


def estimate(p: Partial) -> Estimated | None:
    """The estimate of one window's partial; None without logged probabilities."""
    if p.confident_rows == 0:
        return None
    metrics = {"accuracy": p.confidence_sum / p.confident_rows}
    if p.score_rows is not None and p.score_sums is not None:
        positives = list(p.score_sums)
        negatives = [n - s for n, s in zip(p.score_rows, positives, strict=True)]
        total_pos, total_neg = sum(positives), sum(negatives)
        if total_pos > 0 and total_neg > 0:
            below = 0.0
            area = 0.0
            for pos, neg in zip(positives, negatives, strict=True):
                area += pos * (below + 0.5 * neg)  # a positive outranks the negatives of lower bins
                below += neg
            metrics["roc_auc"] = area / (total_pos * total_neg)
    return Estimated(p.confident_rows, metrics)
