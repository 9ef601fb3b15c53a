"""What gates produce: one :class:`Check` per decision, and the predictions they are decided on.

A check's ``status`` is one of ``pass``, ``fail``, ``undecided``, ``warn``, ``skip`` or ``error``.
``error`` means the check could not run (a missing column, too few rows); gates fail closed, so an
error fails the gate exactly like ``fail`` unless a waiver in ``mlgate.yaml`` names the check.
``undecided`` is a change check whose interval straddles its margin: it blocks when ``blocks`` says so
(by default when the point estimate is beyond the margin; always with ``undecided: block``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

Status = Literal["pass", "fail", "undecided", "warn", "skip", "error"]
Task = Literal["binary", "multiclass", "regression"]

REPORT_SCHEMA = "mlgate.gate-report/1"
# why a check blocks, most specific first: a report leads with the first one any blocking check carries.
# An input mismatch comes first: it is a cause, and NaN, constant or lost-class outputs are often its symptoms
REASONS = (
    "input mismatch",
    "non-finite output",
    "constant output",
    "lost class",
    "slice drop",
    "calibration worse",
    "aggregate drop",
    "latency",
    "size",
    "environment",
    "check error",
)


@dataclass
class Check:
    """One decision in a gate report."""

    name: str  # unique within a report: "roc_auc >= 0.85", "roc_auc vs production", "no NaN outputs" …
    kind: str  # bound, change, slices, slice, behaviour, golden, latency, size, environment
    status: Status
    message: str = ""  # one line saying why, in words a reviewer understands
    metric: str | None = None
    value: float | None = None  # the candidate's figure (metric value, latency in ms, size in MB …)
    champion: float | None = None  # the champion's figure on the same rows, when compared
    delta: float | None = None  # candidate − champion
    ci: tuple[float, float] | None = None  # interval of delta for change checks, of value for bounds
    bound: float | None = None  # the threshold the figure was held to
    p_value: float | None = None
    mde: float | None = None  # smallest change the test set could detect (same units as delta)
    rows: int | None = None
    slice: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    waived: dict[str, Any] | None = None  # {"until": "2026-12-31", "reason": "…"} when a waiver applied
    blocks: bool = False  # whether an ``undecided`` check blocks (decided by the gate's `undecided:` rule)
    reason: str | None = None  # why it blocks, one of REASONS (aggregate drop, slice drop …)

    @property
    def blocking(self) -> bool:
        """Whether this check stops a promotion: failed, errored or a blocking undecided, and not waived."""
        stops = self.status in ("fail", "error") or (self.status == "undecided" and self.blocks)
        return stops and self.waived is None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["blocking"] = self.blocking
        if self.ci is not None:
            out["ci"] = [float(self.ci[0]), float(self.ci[1])]
        return {k: _plain(v) for k, v in out.items()}


def _plain(value: Any) -> Any:
    """JSON-friendly: NumPy scalars to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


@dataclass
class Pred:
    """One model's outputs on the evaluation rows, encoded for the metrics.

    Classification: ``label`` holds class indices into the report's class list (int64, shape (n,)) and
    ``proba`` the probabilities in the same class order (float64, shape (n, k)) or None when the model
    gives none. The positive class of a binary task is index 1. Regression: ``value`` (float64, (n,)).
    """

    label: np.ndarray | None = None
    proba: np.ndarray | None = None
    value: np.ndarray | None = None

    @property
    def score(self) -> np.ndarray | None:
        """The positive-class probability of a binary task."""
        if self.proba is None:
            return None
        return self.proba[:, 1] if self.proba.shape[1] == 2 else None

    def take(self, index: np.ndarray) -> Pred:
        """The same outputs restricted to some rows (a boolean mask or integer index)."""
        return Pred(
            None if self.label is None else self.label[index],
            None if self.proba is None else self.proba[index],
            None if self.value is None else self.value[index],
        )


@dataclass(frozen=True)
class Cells:
    """The nonzero cells of a statistics matrix: values, their rows and columns (row-major), and its shape."""

    data: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    shape: tuple[int, int]

    def dense(self) -> np.ndarray:
        """The whole matrix (int64)."""
        out = np.zeros(self.shape, dtype=np.int64)
        out[self.rows, self.cols] = self.data
        return out
