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
accuracy is the bins' ``c`` above 0.5 and ``1 − c`` below. Without stored outputs the probabilities
are taken as they are. Either way the estimate is shown beside the realized figures, which check it
once labels arrive.

More classes (up to ``MAX_CLASSES``): the partial keeps, per class ``k``, the bins of ``p_k`` over all
rows and the bins of ``p_k`` over the rows predicted ``k`` (:func:`class_bins`). Each class gets its
own isotonic map, one-vs-rest (``p_k`` to ``y == k`` on the stored evaluation rows), not renormalised:
the expected accuracy is the mean calibrated probability of each row's predicted class, and class
``k``'s expected ROC curve (rows ranked by ``p_k``, as the realized one-vs-rest AUC ranks them) counts
``c_k`` of a positive per row; their mean is the macro ROC AUC. Renormalising the calibrated vector
(NannyML's way) needs each row's whole vector, which additive bins cannot keep; the maps above are
exactly the conditional chances the two figures need (``P(y = k | p_k)``), and on the benchmark's
streams the two differ by less than the realized figures' own sampling error.

Regression (direct loss estimation, NannyML's DLE): an error model learnt from the gate's stored
evaluation rows (their numeric inputs, prediction and label) predicts each row's absolute and squared
error. It is additive, one step function per column (:class:`ErrorModel`: ridge regression on ten
quantile bins of each input and of the prediction), so its mean over a window needs only each
column's distribution, which the window's profiles already hold as quantile sketches: the estimate
comes from the cached partials, with no second read of the log and no model to run per row. The
estimated MAE is the mean predicted absolute error, the RMSE the root of the mean predicted squared
error. It is fitted when the monitor starts (closed form, milliseconds), deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlgate.monitor.partials import SCORE_BINS

if TYPE_CHECKING:
    from mlgate.monitor.partials import Partial

METHOD = "CBPE, probabilities taken as calibrated"
CALIBRATED = "CBPE, probabilities calibrated on the gate's evaluation outputs (isotonic, {rows} rows)"
CALIBRATED_OVR = (
    "CBPE, probabilities calibrated on the gate's evaluation outputs (isotonic one-vs-rest per class, {rows} rows)"
)
DLE = "DLE, additive error model learnt on the gate's evaluation rows ({rows} rows, {columns} columns)"
MAX_CLASSES = 20  # more classes: the accuracy from the mean top probability only (the bins grow with k)
ERROR_BINS = 10  # the regression's error model: a hinge at each decile of each column
GRID = 200  # quantiles of a window's sketch its mean basis is taken over
MIN_ROWS = 20
LOGIT_SPAN = 20.0


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


def calibration(stored: Any) -> Reference | None:
    """What the estimate learns from a version's stored gate outputs (gates/outputs.py): an isotonic map
    for two classes, one per class for more, an error model for a regression; None when they cannot
    give one (no probabilities, too few rows, a single class)."""
    if getattr(stored, "value", None) is not None:
        return ErrorModel.fit_outputs(stored)
    proba = getattr(stored, "proba", None)
    if proba is None or proba.ndim != 2 or proba.shape[1] < 2 or len(stored.y) < MIN_ROWS:
        return None
    y = stored.y
    if proba.shape[1] == 2:
        if (y == 1).all() or (y == 0).all():
            return None
        return Calibration.fit(proba[:, 1], y == 1)
    if proba.shape[1] > MAX_CLASSES or not stored.classes:
        return None
    return ClassCalibration(
        [str(c) for c in stored.classes], [Calibration.fit(proba[:, k], y == k) for k in range(proba.shape[1])], len(y)
    )


@dataclass(frozen=True)
class ClassCalibration:
    """One isotonic map per class (one-vs-rest) of a classifier with more than two classes."""

    classes: list[str]
    maps: list[Calibration]
    rows: int

    def ordered(self, classes: list[str]) -> list[Calibration] | None:
        """The maps in the order of ``classes`` (the log's ``proba_`` columns); None unless the same classes."""
        if sorted(classes) != sorted(self.classes) or len(set(classes)) != len(classes):
            return None
        return [self.maps[self.classes.index(c)] for c in classes]


def class_bin(p: Any) -> Any:
    """The bin of each probability: ``SCORE_BINS`` bins even in log-odds from ``-LOGIT_SPAN`` to
    ``LOGIT_SPAN`` (the two end bins open). Log-odds, not probability: an over-confident model puts
    most rows below 0.01 for most classes, and even bins of the probability would tie all of them,
    losing the order that the realized ROC AUC counts."""
    import numpy as np

    with np.errstate(divide="ignore"):
        logit = np.log(p) - np.log1p(-p)
    scaled = (np.clip(logit, -LOGIT_SPAN, LOGIT_SPAN) + LOGIT_SPAN) / (2 * LOGIT_SPAN)
    return np.minimum((scaled * SCORE_BINS).astype(np.int64), SCORE_BINS - 1)


def class_bins(proba: Any) -> dict[str, list[float]] | None:
    """The additive sums a window of more than two classes keeps for its estimate (rows × classes
    probabilities, finite): per class ``k`` and bin of ``p_k``, the rows and their ``p_k`` sum, over all
    rows (``class_*``) and over the rows predicted ``k`` (``top_*``). None past ``MAX_CLASSES``."""
    import numpy as np

    p = np.clip(np.asarray(proba, dtype=np.float64), 0.0, 1.0)
    n, k = p.shape
    if k > MAX_CLASSES or n == 0:
        return None
    offset = np.arange(k) * SCORE_BINS
    index = class_bin(p) + offset
    size = k * SCORE_BINS
    pred = p.argmax(axis=1)
    top = p[np.arange(n), pred]
    # the top probability is at least 1/k: even bins of the probability hold it finely enough
    top_index = np.minimum((top * SCORE_BINS).astype(np.int64), SCORE_BINS - 1) + offset[pred]
    return {
        "class_rows": np.bincount(index.ravel(), minlength=size).astype(np.float64).tolist(),
        "class_sums": np.bincount(index.ravel(), weights=p.ravel(), minlength=size).tolist(),
        "top_rows": np.bincount(top_index, minlength=size).astype(np.float64).tolist(),
        "top_sums": np.bincount(top_index, weights=top, minlength=size).tolist(),
    }


def estimate(p: Partial, calibration: Reference | None = None) -> Estimated | None:
    """The estimate of one window's partial; None without logged probabilities (or, for a regression,
    without an error model or predictions)."""
    if isinstance(calibration, ErrorModel):
        return calibration.estimate(p)
    if p.confident_rows == 0:
        return None
    if p.class_bins is not None:
        return _multiclass(p, calibration if isinstance(calibration, ClassCalibration) else None)
    if isinstance(calibration, Calibration) and p.score_rows is not None and p.score_sums is not None:
        return _calibrated(p, calibration)
    metrics = {"accuracy": p.confidence_sum / p.confident_rows}
    if p.score_rows is not None and p.score_sums is not None:
        auc = _auc(list(p.score_sums), [n - s for n, s in zip(p.score_rows, p.score_sums, strict=True)])
        if auc is not None:
            metrics["roc_auc"] = auc
    return Estimated(p.confident_rows, metrics)


def _multiclass(p: Partial, calibration: ClassCalibration | None) -> Estimated:
    import numpy as np

    assert p.class_bins is not None
    b = {key: np.asarray(v, dtype=np.float64).reshape(-1, SCORE_BINS) for key, v in p.class_bins.items()}
    names = [c.removeprefix("proba_") for c in (p.outputs.columns if p.outputs else {}) if c.startswith("proba_")]
    maps = calibration.ordered(names) if calibration is not None and len(names) == len(b["class_rows"]) else None

    def chance(rows: Any, sums: Any) -> Any:
        """Per class and bin, the chance that a row of the bin is of the class."""
        means = np.divide(sums, rows, out=np.zeros_like(rows), where=rows > 0)
        return means if maps is None else np.stack([m(means[k]) for k, m in enumerate(maps)])

    top = b["top_rows"]
    metrics = {"accuracy": float((top * chance(top, b["top_sums"])).sum() / top.sum())}
    rows = b["class_rows"]
    positives = rows * chance(rows, b["class_sums"])
    aucs = [_auc(pos.tolist(), (n - pos).tolist()) for pos, n in zip(positives, rows, strict=True)]
    if aucs and all(a is not None for a in aucs):
        metrics["roc_auc"] = float(np.mean([a for a in aucs if a is not None]))  # one-vs-rest, macro
    if maps is None or calibration is None:
        return Estimated(p.confident_rows, metrics)
    return Estimated(p.confident_rows, metrics, CALIBRATED_OVR.format(rows=calibration.rows))


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


@dataclass(frozen=True)
class ErrorModel:
    """A regression's expected absolute and squared error as a sum of one function per column.

    ``columns`` are input names (as the window's input profile names them) and, last, ``prediction``
    (the window's output profile). Column ``j``'s function is linear in its basis: the value and a hinge
    ``max(0, x − k)`` at each of ``knots[j]`` (the evaluation rows' deciles), all over ``scales[j]`` (a
    piecewise-linear function, linear past the outer knots, so an error that grows with a shifted input
    keeps growing). A row's error is the intercept plus its columns' functions, so a window's mean error
    is the intercept plus, per column, the weights times the window's mean basis, which the column's
    quantile sketch gives (the basis at ``GRID`` evenly spaced quantiles, averaged). A column the
    window does not have, or a null, counts as the evaluation rows' mean basis.
    """

    columns: list[str]
    knots: list[list[float]]
    scales: list[float]
    abs_weights: list[list[float]]
    sq_weights: list[list[float]]
    abs_intercept: float
    sq_intercept: float
    eval_basis: list[list[float]]
    rows: int

    @classmethod
    def fit_outputs(cls, stored: Any) -> ErrorModel | None:
        """The model of a regression's stored gate outputs; None without inputs kept or with too few rows."""
        import numpy as np

        if stored.inputs is None or not stored.input_names:
            return None
        y, value = np.asarray(stored.y, dtype=np.float64), np.asarray(stored.value, dtype=np.float64)
        if stored.input_rows is not None:
            y, value = y[stored.input_rows], value[stored.input_rows]
        return cls.fit(stored.inputs, list(stored.input_names), value, y)

    @classmethod
    def fit(cls, inputs: Any, names: list[str], prediction: Any, truth: Any) -> ErrorModel | None:
        """Ridge regression (its penalty chosen by leave-one-out, closed form) of ``|e|`` and ``e²`` on the
        basis of each column of ``inputs`` and of ``prediction``; None below ``MIN_ROWS`` rows."""
        import numpy as np
        from sklearn.linear_model import RidgeCV

        pred = np.asarray(prediction, dtype=np.float64)
        truth = np.asarray(truth, dtype=np.float64)
        X = np.column_stack([np.asarray(inputs, dtype=np.float64), pred])
        ok = np.isfinite(pred) & np.isfinite(truth)
        X, err = X[ok], pred[ok] - truth[ok]
        if len(err) < MIN_ROWS:
            return None
        knots: list[list[float]] = []
        scales: list[float] = []
        blocks: list[Any] = []
        means: list[list[float]] = []
        for j in range(X.shape[1]):
            col = X[:, j]
            finite = np.isfinite(col)
            if finite.sum() < 2:
                cuts, scale = np.zeros(0), 1.0
            else:
                cuts = np.unique(np.quantile(col[finite], np.arange(1, ERROR_BINS) / ERROR_BINS))
                scale = float(np.std(col[finite])) or 1.0
            block = np.zeros((len(col), len(cuts) + 1))
            block[finite] = _basis(col[finite], cuts, scale)
            mean = block[finite].mean(axis=0) if finite.any() else block[0]
            block[~finite] = mean  # a null: the evaluation rows' mean
            knots.append(cuts.tolist())
            scales.append(scale)
            blocks.append(block)
            means.append(mean.tolist())
        design = np.hstack(blocks)
        alphas = np.logspace(-3, 3, 13)
        weights = []
        for target in (np.abs(err), err**2):
            fit = RidgeCV(alphas=alphas).fit(design, target)
            weights.append((float(fit.intercept_), np.asarray(fit.coef_, dtype=np.float64)))

        def split(coef: Any) -> list[list[float]]:
            out, at = [], 0
            for cuts in knots:
                out.append(coef[at : at + len(cuts) + 1].tolist())
                at += len(cuts) + 1
            return out

        (abs_b, abs_w), (sq_b, sq_w) = weights
        return cls([*names, "prediction"], knots, scales, split(abs_w), split(sq_w), abs_b, sq_b, means, len(err))

    def mean_basis(self, p: Partial) -> list[Any] | None:
        """Per column, the window's mean basis (nulls and missing columns as the evaluation rows'); None
        without predictions in the window."""
        import numpy as np

        from mlgate.data.profile import ColumnProfile

        out_col = None if p.outputs is None else p.outputs.columns.get("prediction")
        if out_col is None or out_col.kind != "numeric" or out_col.finite == 0:
            return None
        found: list[ColumnProfile | None] = [
            None if p.inputs is None else p.inputs.columns.get(n) for n in self.columns[:-1]
        ]
        grid = ((np.arange(GRID) + 0.5) / GRID).tolist()
        out = []
        for col, cuts, scale, ref in zip([*found, out_col], self.knots, self.scales, self.eval_basis, strict=True):
            sketch = col.quantile_sketch() if col is not None and col.kind == "numeric" else None
            if col is None or sketch is None or sketch.is_empty():
                out.append(np.asarray(ref))
                continue
            values = np.asarray(sketch.get_quantiles(grid), dtype=np.float64)
            mean = _basis(values, np.asarray(cuts), scale).mean(axis=0)
            present = col.finite / col.count if col.count else 1.0
            out.append(present * mean + (1 - present) * np.asarray(ref))
        return out

    def estimate(self, p: Partial) -> Estimated | None:
        """The window's expected MAE and RMSE; None without predictions in it."""
        import math

        import numpy as np

        basis = self.mean_basis(p)
        if basis is None:
            return None
        mae, mse = self.abs_intercept, self.sq_intercept
        for b, wa, ws in zip(basis, self.abs_weights, self.sq_weights, strict=True):
            mae += float(np.dot(b, wa))
            mse += float(np.dot(b, ws))
        rows = p.outputs.columns["prediction"].finite if p.outputs is not None else 0
        method = DLE.format(rows=self.rows, columns=len(self.columns))
        return Estimated(rows, {"mae": max(mae, 0.0), "rmse": math.sqrt(max(mse, 0.0))}, method)


def _basis(x: Any, knots: Any, scale: float) -> Any:
    """Rows × (1 + knots): the value and a hinge at each knot, over ``scale``."""
    import numpy as np

    x = np.asarray(x, dtype=np.float64)[:, None]
    return np.hstack([x, np.maximum(0.0, x - np.asarray(knots)[None, :])]) / scale


Reference = Calibration | ClassCalibration | ErrorModel


def macro_auc(part: Any, probas: list[str]) -> float | None:
    """The realized one-vs-rest macro ROC AUC of labelled log rows (a Polars frame with ``label`` and the
    ``proba_<class>`` columns); None when a probability is missing or a class has no positive or no
    negative among the labels (its AUC is undefined)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    if any(part[c].null_count() for c in probas):
        return None
    labels = part["label"].cast(str).to_numpy()
    aucs = []
    for c in probas:
        y = labels == c.removeprefix("proba_")
        if y.all() or not y.any():
            return None
        aucs.append(float(roc_auc_score(y, part[c].to_numpy())))
    return float(np.mean(aucs))
