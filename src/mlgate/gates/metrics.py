"""The metrics gates decide on: each knows its tasks, its direction and its additive sufficient statistics.

``compute`` gives the exact value on all rows (it agrees with ``sklearn.metrics`` to 1e-9). Every built-in
metric except multiclass ROC AUC is also a function of per-row statistics that add up: ``sums`` returns
them per group of rows, ``(n_groups, k)``, and ``from_sums`` turns any non-negative weighting of the groups,
``(..., k)``, back into the metric. A bootstrap resample is a weight per group, so a thousand resamples are
one matrix product ``W @ S`` (:mod:`mlgate.gates.stats`). The layouts (K classes, J rank buckets):

=========================  ====================================================================
metric                     statistics per group (columns)
=========================  ====================================================================
accuracy                   rows, correct
balanced_accuracy          rows of each class (K), correct rows of each class (K)
precision, recall, f1      true positives, predicted positives, actual positives (positive = 1)
\\*_macro, \\*_weighted      true positives (K), predicted (K), actual (K), per class
roc_auc, pr_auc (binary)   positives (J), negatives (J) per rank bucket of the score, ascending
log_loss                   rows, Σ −log p(true class), p clipped to [eps, 1 − eps] as sklearn does
brier                      rows, Σ squared error: binary on the positive class, multiclass summed
                           over the classes (sklearn's ``brier_score_loss`` with its defaults)
ece                        rows, Σ (confidence − correct) in each of 15 equal-width bins of the
                           max-probability confidence; the prediction is the argmax of the proba
mae, rmse, mape            rows, Σ |e|, Σ e², Σ |e| / max(|y|, eps)
r2                         rows, Σ (y − c), Σ (y − c)², Σ e², with c the mean of y on all rows
                           (a fixed shift: the variance is unchanged and nothing cancels)
=========================  ====================================================================

Zero division gives 0, as sklearn's ``zero_division=0``: the precision of a class never predicted, the
recall of a class never seen. Macro averages run over the classes present in the truth or the
predictions, weighted averages weight by the true count, as sklearn does.

**Rank buckets.** ROC AUC and average precision need the order of the scores. Their statistics count
positives and negatives per bucket of the score: one bucket per distinct score while there are at most
``MAX_BUCKETS`` (2048) of them, which is exact (tied scores count 1/2 for AUC, exactly as sklearn),
otherwise 2048 quantile buckets (tied scores never split), within which the order is lost. The error
of the bucketed value is then bounded, and :meth:`Metric.bucket_error` computes the bound on the rows:

* AUC: pairs within one bucket count 1/2 instead of 0 or 1, so ``|AUC_b − AUC| ≤ ½ Σ_j pos_j·neg_j /
  (P·N)``, at most ``0.5 / 2048 ≈ 2.4e-4`` when each bucket holds 1/2048 of the rows (1.3e-4 for 30%
  positives at AUC 0.85, where the measured error is 1e-7: the half-counted pairs mostly balance);
* average precision: within bucket j (``c_j`` rows above it, ``m_j`` rows in it) the precision at any
  row differs from the bucket's end precision by at most ``(m_j − 1)/(c_j + m_j)``, so
  ``|AP_b − AP| ≤ Σ_j (pos_j/P)·(m_j − 1)/(c_j + m_j)``; the top buckets dominate, so it is about
  ``ln(2048)/(2048·share of positives)``: 1e-2 at 30% positives, where the measured error is 2e-4.

The bootstrap centres its distribution on the exact value (:mod:`mlgate.gates.stats`), so the bias of
the buckets cancels; what remains is how that bias changes between resamples, far below the bound.
Both bounds and errors were measured on 20,000 and 1,000,000 generated rows (tests pin the bound).

**Custom metrics** are named by import path, ``"mypkg.mymod:fn"``, with ``fn(y_true, y_pred_or_proba)
-> float``. Optional attributes on ``fn``: ``higher_is_better`` (default True) and ``needs`` (default
``"label"``; ``"proba"`` passes the positive-class probability for a binary task and the ``(n, K)``
probabilities otherwise, as sklearn's scorers do; ``"value"`` for regression). ``y_true`` holds class
indices (the report's class order) for classification. Custom metrics have no additive form: the
bootstrap recomputes them on every resample's rows, which costs ``resamples`` × two calls.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mlgate.errors import ConfigError, InputError, UsageError
from mlgate.gates.ranks import _ap_from_sums, _auc_from_sums, _rank_buckets, _rank_index, _rank_sums
from mlgate.gates.types import Cells, Pred

TASKS = ("binary", "multiclass", "regression")
NEEDS = ("label", "proba", "value")
MAX_BUCKETS = 2048  # rank buckets of a score; the bound above scales with 1 / MAX_BUCKETS
ECE_BINS = 15
MIN_COUNTED = 10  # inside a slice, the rows a metric counts (positives for recall) needed to compare it
_EPS = float(np.finfo(np.float64).eps)

_Sums = Callable[[np.ndarray, np.ndarray, np.ndarray, int, "int | None"], np.ndarray]
_FromSums = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Metric:
    """A metric: its tasks, its direction, what it reads from a :class:`Pred`, and how it is computed."""

    name: str
    tasks: frozenset[str]  # subset of {"binary", "multiclass", "regression"}
    higher_is_better: bool
    needs: str  # "label" (class indices), "proba" (probabilities), "value" (regression)
    summary: str = ""
    _sums: _Sums | None = field(default=None, repr=False, compare=False)
    _from_sums: _FromSums | None = field(default=None, repr=False, compare=False)
    # the exact value where it is not from_sums of one group (custom metrics, multiclass AUC)
    _exact: Callable[[np.ndarray, np.ndarray], float] | None = field(default=None, repr=False, compare=False)
    _rank: bool = field(default=False, repr=False, compare=False)

    def compute(self, y: np.ndarray, p: Pred) -> float:
        """The exact value on all rows; InputError when the outputs are missing or the metric is undefined."""
        y, out = self._inputs(y, p)
        if self._rank:
            _require_both_classes(self.name, y, out)
        if self._sums is not None and self._additive(out):  # one group, exact rank buckets
            value = float(self.from_sums(self._sums(y, out, np.zeros(y.size, np.int64), 1, None)[0]))
        else:
            assert self._exact is not None
            value = float(self._exact(y, out))
        if not np.isfinite(value):
            raise InputError(
                f"{self.name} is not defined on these {y.size} rows (it came out as {value})",
                hint="check the rows and the model's outputs; a custom metric must return a finite number",
            )
        return value

    def undefined_on(self, y: np.ndarray, preds: list[Pred]) -> str | None:
        """Why this metric is undefined on these rows (a slice), or None: recall without positives, AUC with one
        class. Zero division gives 0 on all rows, as sklearn does; inside a slice it is "not tested" instead."""
        y = np.asarray(y)
        if self.name in ("recall", "f1") and not (y == 1).any():
            return f"no positive rows, so {self.name} is undefined here"
        if self.name in ("recall", "f1") and (y == 1).sum() < MIN_COUNTED:  # one positive row: recall 0 or 1
            return f"{int((y == 1).sum())} positive row(s), too few to compare {self.name} (at least {MIN_COUNTED})"
        if self.name == "precision" and any(p.label is not None and not (p.label == 1).any() for p in preds):
            return "a model predicts no positive row here, so precision is undefined"
        if self._rank and np.unique(y).size < 2:
            return f"one class only, so {self.name} is undefined here"
        if self._rank and np.unique(y, return_counts=True)[1].min() < MIN_COUNTED:
            return f"fewer than {MIN_COUNTED} rows of one class, too few to compare {self.name}"
        return None

    def within_slice(self) -> Metric:
        """The metric as defined inside a slice: macro averages run over the classes defined there (recall over
        the slice's true classes, precision over the predicted ones), not over zeros for absent classes."""
        for kind in ("recall", "precision"):
            if self.name == f"{kind}_macro":
                return replace(self, _from_sums=_class_from(kind, "defined"))
        return self

    def additive(self, p: Pred) -> bool:
        """Whether ``sums``/``from_sums`` apply to these outputs (else the bootstrap recomputes the metric)."""
        if self._sums is None:
            return False
        return self._additive(self._output(p))

    def sums(self, y: np.ndarray, p: Pred, groups: np.ndarray, n_groups: int) -> np.ndarray:
        """Additive sufficient statistics per group of rows, ``(n_groups, k)`` (layouts in the module docstring).

        float64, except the rank metrics' bucket counts, which come as int64.
        """
        y, out, groups = self._checked(y, p, groups, n_groups)
        return self._sums(y, out, groups, n_groups, MAX_BUCKETS)  # type: ignore[misc]

    def cells(self, y: np.ndarray, p: Pred, groups: np.ndarray, n_groups: int) -> Cells | None:
        """The nonzero cells of :meth:`sums` for rank metrics (None for others), without the dense matrix.

        A slice of 20,000 rows fills about 1% of the 2,000 × 4,096 bucket counts; building and scanning
        the dense matrix cost more than the bootstrap's product over its nonzero cells.
        """
        if not self._rank:
            return None
        y, out, groups = self._checked(y, p, groups, n_groups)
        index, n_b = _rank_index(y, out[:, 1], groups, MAX_BUCKETS)
        flat, counts = np.unique(index, return_counts=True)  # row-major order, as np.flatnonzero gives
        rows, cols = np.divmod(flat, 2 * n_b)
        return Cells(counts.astype(np.int64), rows, cols, (n_groups, 2 * n_b))

    def _checked(self, y: np.ndarray, p: Pred, groups: np.ndarray, n_groups: int) -> tuple[Any, Any, np.ndarray]:
        y, out = self._inputs(y, p)
        if self._sums is None or not self._additive(out):
            raise UsageError(
                f"{self.name} has no additive statistics for these outputs",
                hint="check Metric.additive(p) first; such metrics are recomputed on each resample's rows",
            )
        groups = np.asarray(groups, dtype=np.int64)
        if groups.shape != y.shape or (groups.size and (groups.min() < 0 or groups.max() >= n_groups)):
            raise UsageError(f"groups must hold one index in [0, {n_groups}) per row ({y.size} rows)")
        if self._rank:
            _require_both_classes(self.name, y, out)
        return y, out, groups

    def from_sums(self, s: np.ndarray) -> np.ndarray:
        """The metric from (weighted) statistics: ``(..., k)`` → ``(...)``; NaN where it is undefined."""
        if self._from_sums is None:
            raise UsageError(f"{self.name} has no additive statistics")
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._from_sums(np.asarray(s, dtype=np.float64))

    def bucket_error(self, y: np.ndarray, p: Pred) -> float:
        """Bound on ``|from_sums(sums(...).sum(0)) − compute|``: 0 except for rank metrics over 2048 scores."""
        if not self._rank or not self.additive(p):
            return 0.0
        y, out = self._inputs(y, p)
        bucket, n_buckets, exact = _rank_buckets(out[:, 1], MAX_BUCKETS)
        if exact:
            return 0.0
        s = np.bincount((1 - y) * n_buckets + bucket, minlength=2 * n_buckets).astype(np.float64)
        pos, neg = np.split(s, 2)
        n_pos, n_neg = pos.sum(), neg.sum()
        if self.name == "roc_auc":
            return float(0.5 * (pos * neg).sum() / (n_pos * n_neg))
        m = (pos + neg)[::-1]  # descending score: rows in each bucket, then rows above it
        above = np.cumsum(m) - m
        return float((pos[::-1] / n_pos * (m - 1) / (above + m)).sum())

    # -- inputs ------------------------------------------------------------------------------------

    def _additive(self, out: np.ndarray) -> bool:
        # ROC AUC is additive for a binary task only; multiclass one-vs-rest goes the generic way
        return not self._rank or (out.ndim == 2 and out.shape[1] == 2)

    def _output(self, p: Pred) -> np.ndarray:
        out = {"label": p.label, "proba": p.proba, "value": p.value}[self.needs]
        if out is None:
            what = {"label": "predicted labels", "proba": "predicted probabilities", "value": "predicted values"}
            hint = {
                "proba": "use a label metric such as accuracy or f1, or a model with predict_proba",
                "label": "label metrics need a classifier's predictions",
                "value": "value metrics need a regressor's predictions",
            }
            raise InputError(f"{self.name} needs {what[self.needs]}; the model gave none", hint=hint[self.needs])
        return np.asarray(out)

    def _inputs(self, y: np.ndarray, p: Pred) -> tuple[np.ndarray, np.ndarray]:
        out = self._output(p)
        y = np.asarray(y)
        if y.ndim != 1 or out.shape[0] != y.shape[0]:
            raise InputError(f"{self.name}: {y.shape[0] if y.ndim else 0} true values but {out.shape[0]} predictions")
        if y.size == 0:
            raise InputError(f"{self.name} needs at least one row; got none")
        if self.needs == "value":
            y = y.astype(np.float64, copy=False)
            out = out.astype(np.float64, copy=False)
            if not (np.isfinite(y).all() and np.isfinite(out).all()):
                raise InputError(f"{self.name}: the true or predicted values contain NaN or infinity")
            return y, out
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise InputError(f"{self.name} needs class indices (non-negative integers) as true values, got {y.dtype}")
        y = y.astype(np.int64, copy=False)
        if self.needs == "label":
            if not np.issubdtype(out.dtype, np.integer) or out.min() < 0:
                raise InputError(f"{self.name} needs class indices (non-negative integers) as predicted labels")
            out = out.astype(np.int64, copy=False)
        else:
            out = out.astype(np.float64, copy=False)
            if out.ndim != 2 or out.shape[1] < 2:
                raise InputError(f"{self.name} needs probabilities of shape (rows, classes); got {out.shape}")
            if not np.isfinite(out).all():
                raise InputError(f"{self.name}: the predicted probabilities contain NaN or infinity")
            if y.max() >= out.shape[1]:
                raise InputError(
                    f"{self.name}: true class index {int(y.max())} but only {out.shape[1]} probability columns"
                )
        if "binary" in self.tasks and "multiclass" not in self.tasks:
            labels = out if self.needs == "label" else None
            wide = self.needs == "proba" and out.shape[1] != 2
            if wide or y.max() > 1 or (labels is not None and labels.max() > 1):
                averages = [f"{self.name}_{a}" for a in ("macro", "weighted") if f"{self.name}_{a}" in METRICS]
                raise InputError(
                    f"{self.name} is a binary metric but the rows hold more than two classes",
                    hint=f"use {' or '.join(averages) or 'another metric'} for a multiclass task",
                )
        return y, out


# -- rank buckets ----------------------------------------------------------------------------------


def _auc_ovr(y: np.ndarray, proba: np.ndarray) -> float:
    """Multiclass AUC as sklearn's ``multi_class="ovr"``: the mean of each class's AUC against the rest."""
    zeros = np.zeros(y.size, np.int64)
    per_class = [
        _auc_from_sums(_rank_sums((y == c).astype(np.int64), proba[:, c], zeros, 1, None)[0].astype(np.float64))
        for c in range(proba.shape[1])
    ]
    return float(np.mean(per_class))


def _require_both_classes(name: str, y: np.ndarray, proba: np.ndarray) -> None:
    counts = np.bincount(y, minlength=proba.shape[1])
    if proba.shape[1] == 2:
        if counts.min() == 0:
            raise InputError(
                f"{name} is undefined on these {y.size} rows: it needs positive and negative rows, "
                f"found {counts[1]} positive and {counts[0]} negative",
                hint="use more rows (or a larger slice), or a metric that is defined on one class such as accuracy",
            )
    elif counts.min() == 0 or counts.max() == y.size:
        absent = [int(c) for c in np.flatnonzero(counts == 0)]
        raise InputError(
            f"{name} (one-vs-rest) is undefined on these {y.size} rows: every class needs rows of its own "
            f"and of the others; classes without rows: {absent}",
            hint="use more rows (or a larger slice), or a metric such as accuracy or f1_macro",
        )


# -- statistics per group --------------------------------------------------------------------------


def _cols(groups: np.ndarray, n_groups: int, *weights: np.ndarray | None) -> np.ndarray:
    """One column per weight: its sum over each group's rows (None counts the rows)."""
    out = np.empty((n_groups, len(weights)))
    for j, w in enumerate(weights):
        out[:, j] = np.bincount(groups, weights=w, minlength=n_groups)
    return out


def _per_class(groups: np.ndarray, n_groups: int, cls: np.ndarray, k: int, w: np.ndarray | None) -> np.ndarray:
    return np.bincount(groups * k + cls, weights=w, minlength=n_groups * k).reshape(n_groups, k).astype(np.float64)


def _n_classes(y: np.ndarray, label: np.ndarray) -> int:
    return int(max(y.max(), label.max())) + 1


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def _accuracy_sums(y: np.ndarray, label: np.ndarray, groups: np.ndarray, g: int, _cap: int | None) -> np.ndarray:
    return _cols(groups, g, None, (label == y).astype(np.float64))


def _balanced_sums(y: np.ndarray, label: np.ndarray, groups: np.ndarray, g: int, _cap: int | None) -> np.ndarray:
    k = _n_classes(y, label)
    return np.hstack([_per_class(groups, g, y, k, None), _per_class(groups, g, y, k, (label == y).astype(float))])


def _balanced_from_sums(s: np.ndarray) -> np.ndarray:
    rows, correct = np.split(s, 2, axis=-1)
    present = rows > 0
    return _ratio(correct, rows).sum(axis=-1) / present.sum(axis=-1)


def _binary_sums(y: np.ndarray, label: np.ndarray, groups: np.ndarray, g: int, _cap: int | None) -> np.ndarray:
    tp = ((label == 1) & (y == 1)).astype(np.float64)
    return _cols(groups, g, tp, (label == 1).astype(np.float64), (y == 1).astype(np.float64))


def _class_sums(y: np.ndarray, label: np.ndarray, groups: np.ndarray, g: int, _cap: int | None) -> np.ndarray:
    k = _n_classes(y, label)
    tp = _per_class(groups, g, y, k, (label == y).astype(np.float64))
    return np.hstack([tp, _per_class(groups, g, label, k, None), _per_class(groups, g, y, k, None)])


def _prf(kind: str, tp: np.ndarray, pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    if kind == "precision":
        return _ratio(tp, pred)
    if kind == "recall":
        return _ratio(tp, true)
    return _ratio(2 * tp, pred + true)


def _binary_from(kind: str) -> _FromSums:
    def from_sums(s: np.ndarray) -> np.ndarray:
        return _prf(kind, s[..., 0], s[..., 1], s[..., 2])

    return from_sums


def _class_from(kind: str, average: str) -> _FromSums:
    def from_sums(s: np.ndarray) -> np.ndarray:
        tp, pred, true = np.split(s, 3, axis=-1)
        per_class = _prf(kind, tp, pred, true)
        if average == "weighted":
            return (per_class * true).sum(axis=-1) / true.sum(axis=-1)
        if average == "defined":  # recall where a class has true rows, precision where it is predicted
            present = (true if kind == "recall" else pred) > 0
            return (per_class * present).sum(axis=-1) / present.sum(axis=-1)
        present = (pred + true) > 0
        return (per_class * present).sum(axis=-1) / present.sum(axis=-1)

    return from_sums


def _rank_sums_of(y: np.ndarray, proba: np.ndarray, groups: np.ndarray, g: int, cap: int | None) -> np.ndarray:
    return _rank_sums(y, proba[:, 1], groups, g, cap)


def _log_loss_sums(y: np.ndarray, proba: np.ndarray, groups: np.ndarray, g: int, _cap: int | None) -> np.ndarray:
    p_true = np.clip(proba[np.arange(y.size), y], _EPS, 1 - _EPS)
    return _cols(groups, g, None, -np.log(p_true))


def _brier_sums(y: np.ndarray, proba: np.ndarray, groups: np.ndarray, g: int, _cap: int | None) -> np.ndarray:
    if proba.shape[1] == 2:
        err = (proba[:, 1] - y) ** 2
    else:
        onehot = np.zeros_like(proba)
        onehot[np.arange(y.size), y] = 1.0
        err = ((proba - onehot) ** 2).sum(axis=1)
    return _cols(groups, g, None, err)


def _ece_sums(y: np.ndarray, proba: np.ndarray, groups: np.ndarray, g: int, _cap: int | None) -> np.ndarray:
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, ECE_BINS + 1)
    bins = np.searchsorted(edges[1:-1], confidence, side="left")  # bin b holds (edges[b], edges[b + 1]]
    gap = _per_class(groups, g, bins, ECE_BINS, confidence - correct)
    return np.hstack([_cols(groups, g, None), gap])


def _ece_from_sums(s: np.ndarray) -> np.ndarray:
    return np.abs(s[..., 1:]).sum(axis=-1) / s[..., 0]


def _error_sums(kind: str) -> _Sums:
    def sums(y: np.ndarray, value: np.ndarray, groups: np.ndarray, g: int, _cap: int | None) -> np.ndarray:
        e = value - y
        if kind == "mae":
            return _cols(groups, g, None, np.abs(e))
        if kind == "rmse":
            return _cols(groups, g, None, e**2)
        if kind == "mape":
            return _cols(groups, g, None, np.abs(e) / np.maximum(np.abs(y), _EPS))
        centred = y - y.mean()
        return _cols(groups, g, None, centred, centred**2, e**2)

    return sums


def _mean_from_sums(s: np.ndarray) -> np.ndarray:
    return s[..., 1] / s[..., 0]


def _r2_from_sums(s: np.ndarray) -> np.ndarray:
    n, s1, s2, ss_res = s[..., 0], s[..., 1], s[..., 2], s[..., 3]
    ss_tot = s2 - s1**2 / n
    constant = ss_tot <= 1e-12 * s2  # the truth is constant on these rows: sklearn's force_finite rule
    fallback = np.where(ss_res == 0, 1.0, 0.0)
    return np.where(constant, fallback, 1 - ss_res / np.where(constant, 1.0, ss_tot))


# -- the catalogue ---------------------------------------------------------------------------------

_CLS = frozenset({"binary", "multiclass"})
_BIN = frozenset({"binary"})
_REG = frozenset({"regression"})


def _catalogue() -> dict[str, Metric]:
    m: list[Metric] = [
        Metric("accuracy", _CLS, True, "label", "share of rows predicted right", _accuracy_sums, _mean_from_sums),
        Metric("balanced_accuracy", _CLS, True, "label", "mean class recall", _balanced_sums, _balanced_from_sums),
    ]
    for kind in ("precision", "recall", "f1"):
        m.append(Metric(kind, _BIN, True, "label", f"{kind} of class 1", _binary_sums, _binary_from(kind)))
        for average in ("macro", "weighted"):
            summary = f"{kind} per class, {'mean' if average == 'macro' else 'weighted by true count'}"
            m.append(Metric(f"{kind}_{average}", _CLS, True, "label", summary, _class_sums, _class_from(kind, average)))
    m += [
        Metric(
            "roc_auc",
            _CLS,
            True,
            "proba",
            "area under the ROC curve (multiclass: one-vs-rest, macro)",
            _rank_sums_of,
            _auc_from_sums,
            _auc_ovr,
            _rank=True,
        ),
        Metric("pr_auc", _BIN, True, "proba", "average precision of class 1", _rank_sums_of, _ap_from_sums, _rank=True),
        Metric("log_loss", _CLS, False, "proba", "cross-entropy", _log_loss_sums, _mean_from_sums),
        Metric("brier", _CLS, False, "proba", "mean squared error of the probabilities", _brier_sums, _mean_from_sums),
        Metric("ece", _CLS, False, "proba", "expected calibration error, 15 bins", _ece_sums, _ece_from_sums),
        Metric("mae", _REG, False, "value", "mean absolute error", _error_sums("mae"), _mean_from_sums),
        Metric(
            "rmse",
            _REG,
            False,
            "value",
            "root mean squared error",
            _error_sums("rmse"),
            lambda s: np.sqrt(_mean_from_sums(s)),
        ),
        Metric("r2", _REG, True, "value", "coefficient of determination", _error_sums("r2"), _r2_from_sums),
        Metric("mape", _REG, False, "value", "mean absolute percentage error", _error_sums("mape"), _mean_from_sums),
    ]
    return {metric.name: metric for metric in m}


METRICS: dict[str, Metric] = _catalogue()


def metrics_for(task: str) -> list[str]:
    """Names of the built-in metrics that fit a task, in catalogue order."""
    return [name for name, metric in METRICS.items() if task in metric.tasks]


def get_metric(name: str, task: str, *, where: str = "") -> Metric:
    """The metric called ``name`` (built-in or ``"pkg.mod:fn"``) for a task; ConfigError when it does not fit.

    ``where`` prefixes the messages with the place the name came from (``"mlgate.yaml, gates[2].metric"``).
    """
    if task not in TASKS:
        raise UsageError(f"unknown task {task!r}", hint=f"one of: {', '.join(TASKS)}")
    at = f"{where}: " if where else ""
    fitting = metrics_for(task)
    if ":" in name:
        metric = _custom(name, at)
    elif name in METRICS:
        metric = METRICS[name]
    else:
        close = difflib.get_close_matches(name, list(METRICS), n=3, cutoff=0.6)
        guess = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise ConfigError(
            f"{at}unknown metric {name!r}",
            hint=f"{guess}metrics for a {task} task: {', '.join(fitting)}; or a custom one as 'pkg.module:function'",
        )
    if task not in metric.tasks:
        fits = " and ".join(t for t in TASKS if t in metric.tasks)
        alternatives = [f"{name}_{a}" for a in ("macro", "weighted") if f"{name}_{a}" in fitting]
        guess = f"use {' or '.join(alternatives)}; " if alternatives else ""
        raise ConfigError(
            f"{at}metric {name!r} does not fit a {task} task: it fits {fits} tasks",
            hint=f"{guess}metrics for a {task} task: {', '.join(fitting)}",
        )
    return metric


def _custom(path: str, at: str) -> Metric:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"{at}cannot import the module of custom metric {path!r}: {exc}",
            hint="name it as 'package.module:function', importable from where mlgate runs",
        ) from exc
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ConfigError(
            f"{at}custom metric {path!r}: {module_name} has no function {attr!r}",
            hint="name it as 'package.module:function' with fn(y_true, y_pred) -> float",
        )
    needs = getattr(fn, "needs", "label")
    if needs not in NEEDS:
        raise ConfigError(f"{at}custom metric {path!r} has needs={needs!r}", hint=f"one of: {', '.join(NEEDS)}")
    higher = getattr(fn, "higher_is_better", True)
    if not isinstance(higher, bool):
        raise ConfigError(f"{at}custom metric {path!r} has higher_is_better={higher!r}", hint="True or False")
    tasks = _REG if needs == "value" else _CLS

    def exact(y: np.ndarray, out: np.ndarray) -> float:
        if needs == "proba" and out.shape[1] == 2:
            out = out[:, 1]  # sklearn's convention for a binary task: the positive-class probability
        try:
            value: Any = fn(y, out)
            return float(value)
        except Exception as exc:  # the user's code: any failure means "undefined on these rows"
            raise InputError(
                f"custom metric {path} failed on these {y.size} rows: {type(exc).__name__}: {exc}",
                hint=f"make {attr}(y_true, y_pred) return a number for every set of rows it can be given",
            ) from exc

    return Metric(path, tasks, higher, needs, f"custom: {path}", _exact=exact)
