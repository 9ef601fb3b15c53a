"""The behaviour checks themselves, one function each, over a :class:`_Run` (the model, its rows and outputs).

:mod:`mlgate.gates.behaviour` documents each check and runs them (``CHECKS`` maps a name to its function).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mlgate.gates.calls import (
    ATOL,
    DTYPE_ATOL,
    DTYPE_RTOL,
    MAX_EXAMPLES,
    PROBA_TOLERANCE,
    RTOL,
    TIE_MARGIN,
    Outputs,
    Predictor,
    _nonfinite,
    _per_row,
    call,
    differing,
    label_keys,
    row_list,
    show,
)
from mlgate.gates.types import Check

if TYPE_CHECKING:
    import pandas as pd

    from mlgate.gates.behaviour import Options


# --- the checks -------------------------------------------------------------------------------------------------


@dataclass
class _Run:
    predictor: Predictor
    X: pd.DataFrame  # the rows checked (a seeded sample of the caller's)
    rows: np.ndarray  # their positions in the caller's frame, for messages
    task: str
    n_classes: int | None
    classes: Sequence[Any] | None
    options: Options
    frame_input: bool  # the caller gave named columns (column order means something)
    base: Outputs = field(init=False)
    deterministic: bool | None = None

    @property
    def n(self) -> int:
        return len(self.X)

    def positions(self, mask: np.ndarray) -> list[int]:
        return [int(self.rows[i]) for i in np.flatnonzero(mask) if i < len(self.rows)]

    def check(self, name: str, status: str, message: str, *, bad: int | None = None, **details: Any) -> Check:
        return Check(
            name=name,
            kind="behaviour",
            status=status,  # type: ignore[arg-type]
            message=message,
            value=None if bad is None else float(bad),
            rows=self.n,
            details=details,
        )

    def examples(self, mask: np.ndarray, *outs: tuple[str, Outputs]) -> list[dict[str, Any]]:
        picked = np.flatnonzero(mask)[:MAX_EXAMPLES]
        examples = []
        for i in picked:
            row: dict[str, Any] = {"row": int(self.rows[i])}
            for label, out in outs:
                row.update({f"{label}{'_' if label else ''}{k}": v for k, v in out.at(int(i)).items()})
            examples.append(row)
        return examples

    def compare(self, a: Outputs, b: Outputs, *, rtol: float = RTOL, atol: float = ATOL, exact: bool = False) -> Any:
        """Per row: the two calls' outputs differ (labels exactly for classification, numbers within tolerance)."""
        bad = differing(a.label, b.label, exact=exact or self.task != "regression", rtol=rtol, atol=atol)
        if (a.proba is None) != (b.proba is None):
            return np.ones(len(a.label), dtype=bool)
        if a.proba is not None and b.proba is not None:
            pbad = differing(a.proba, b.proba, exact=exact, rtol=rtol, atol=atol)
            if len(pbad) != len(bad):
                return np.ones(len(a.label), dtype=bool)
            bad = bad | pbad
        return bad


def _finite(run: _Run) -> Check:
    name, out = "finite outputs", run.base
    pred_bad = _nonfinite(out.label)
    proba_bad = _nonfinite(out.proba) if out.proba is not None else np.zeros(0, dtype=bool)
    bad = np.zeros(max(len(pred_bad), len(proba_bad)), dtype=bool)
    bad[: len(pred_bad)] |= pred_bad
    bad[: len(proba_bad)] |= proba_bad
    what = "predictions and probabilities" if out.proba is not None else "predictions"
    if not bad.any():
        return run.check(name, "pass", f"no NaN or infinite values in the {what} of {run.n} rows", bad=0)
    rows = run.positions(bad)
    return run.check(
        name,
        "fail",
        f"{int(bad.sum())} of {run.n} rows give NaN or infinite {what} ({row_list(rows)})",
        bad=int(bad.sum()),
        count=int(bad.sum()),
        predictions=int(pred_bad.sum()),
        probabilities=int(proba_bad.sum()),
        examples=run.examples(bad, ("", out)),
    )


def _shape(run: _Run) -> Check:
    name, out, n = "output shape", run.base, run.n
    problems = []
    shape = out.label_shape
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)) or shape[0] != n:
        problems.append(f"predictions have shape {shape}, expected one per row ({n},)")
    if out.proba is not None:
        pshape = tuple(out.proba.shape)
        k = run.n_classes
        if len(pshape) != 2 or pshape[0] != n or (k is not None and pshape[1] != k):
            want = f"({n}, {k})" if k is not None else f"({n}, classes)"
            problems.append(f"probabilities have shape {pshape}, expected {want}")
    details: dict[str, Any] = {
        "predictions": list(shape),
        "probabilities": None if out.proba is None else list(out.proba.shape),
        "n_classes": run.n_classes,
    }
    if problems:
        return run.check(name, "fail", "; ".join(problems), **details)
    text = f"one prediction per row {shape}" + (f", probabilities {out.proba.shape}" if out.proba is not None else "")
    return run.check(name, "pass", text, **details)


def _known_classes(run: _Run) -> list[Any] | None:
    if run.classes is not None:
        return list(run.classes)
    try:
        classes = getattr(run.predictor.native, "classes_", None)
    except Exception:  # a property that raises for this model (a regressor's pipeline, say)
        classes = None
    return None if classes is None else list(np.asarray(classes).ravel())


def _dtype_range(run: _Run) -> Check:
    name, label = "output dtype/range", run.base.label
    if run.task == "regression":
        if label.dtype.kind not in "biuf":
            return run.check(
                name, "fail", f"predictions have dtype {label.dtype}: a regression model must return numbers"
            )
        if run.options.range is None:
            return run.check(name, "pass", f"numeric predictions ({label.dtype}); no range configured")
        lo, hi = run.options.range
        values = label.astype(float)
        bad = _per_row((values < lo) | (values > hi), len(values))
        if bad.any():
            return run.check(
                name,
                "fail",
                f"{int(bad.sum())} of {run.n} predictions fall outside the range [{lo:g}, {hi:g}]"
                f" ({row_list(run.positions(bad))})",
                bad=int(bad.sum()),
                range=[lo, hi],
                examples=run.examples(bad, ("", run.base)),
            )
        return run.check(name, "pass", f"all {run.n} predictions within [{lo:g}, {hi:g}]", bad=0, range=[lo, hi])
    known = _known_classes(run)
    if known is not None:
        allowed = set(label_keys(known).tolist())
        bad = _per_row(~np.isin(label_keys(label), list(allowed)), len(label))
        shown = show(known[:20])
        if bad.any():
            got = sorted({str(v) for v in label_keys(label[bad]).ravel().tolist()})[:MAX_EXAMPLES]
            return run.check(
                name,
                "fail",
                f"{int(bad.sum())} of {run.n} predictions are not among the model's {len(known)} classes {shown}"
                f" ({row_list(run.positions(bad))}; got {', '.join(got)})",
                bad=int(bad.sum()),
                classes=shown,
                examples=run.examples(bad, ("", run.base)),
            )
        return run.check(name, "pass", f"all predictions among the {len(known)} classes {shown}", bad=0, classes=shown)
    if label.dtype.kind == "f":
        finite = np.isfinite(label)
        bad = _per_row(finite & (label != np.round(label)), len(label))
        if bad.any():
            return run.check(
                name,
                "fail",
                f"{int(bad.sum())} of {run.n} predictions are continuous values, not class labels"
                f" ({row_list(run.positions(bad))})",
                bad=int(bad.sum()),
                examples=run.examples(bad, ("", run.base)),
            )
    distinct = len(set(label_keys(label).ravel().tolist()))
    if run.n_classes is not None and distinct > run.n_classes:
        return run.check(
            name, "fail", f"the model predicts {distinct} distinct labels, more than the {run.n_classes} classes"
        )
    return run.check(name, "pass", f"{distinct} distinct labels; the model does not list its classes (no classes_)")


def _proba_sum(run: _Run) -> Check:
    name, proba = "probabilities sum to 1", run.base.proba
    if run.task == "regression":
        return run.check(name, "skip", "regression: the model gives no probabilities")
    if proba is None:
        return run.check(name, "skip", "the model gives no probabilities (no predict_proba)")
    if proba.ndim != 2 or proba.dtype.kind not in "iuf":
        return run.check(
            name,
            "fail",
            f"probabilities have shape {proba.shape} and dtype {proba.dtype}, expected (rows, classes) numbers",
        )
    sums = proba.sum(axis=1)
    # written as "not within" so that NaN rows count as bad
    off = ~(np.abs(sums - 1.0) <= PROBA_TOLERANCE)
    outside = _per_row(~((proba >= -PROBA_TOLERANCE) & (proba <= 1 + PROBA_TOLERANCE)), len(proba))
    bad = off | outside
    if not bad.any():
        return run.check(name, "pass", f"the probabilities of all {run.n} rows lie in [0, 1] and sum to 1", bad=0)
    examples = run.examples(bad, ("", run.base))
    for ex, i in zip(examples, np.flatnonzero(bad), strict=False):
        ex["sum"] = show(sums[i])
    return run.check(
        name,
        "fail",
        f"the probabilities of {int(bad.sum())} of {run.n} rows do not sum to 1 (±{PROBA_TOLERANCE:g}) or fall"
        f" outside [0, 1] ({row_list(run.positions(bad))})",
        bad=int(bad.sum()),
        not_summing=int(off.sum()),
        outside_0_1=int(outside.sum()),
        examples=examples,
    )


def _deterministic(run: _Run) -> Check:
    name = "deterministic"
    again = call(run.predictor, run.X, proba=run.base.proba is not None)
    bad = run.compare(run.base, again, exact=True)
    run.deterministic = not bad.any()
    if run.deterministic:
        return run.check(name, "pass", f"predicting the same {run.n} rows twice gives identical outputs", bad=0)
    biggest = _max_difference(run.base, again)
    return run.check(
        name,
        "fail",
        f"predicting the same {run.n} rows twice gives different outputs in {int(bad.sum())} rows"
        f" ({row_list(run.positions(bad))})" + (f"; largest difference {biggest:.3g}" if biggest is not None else ""),
        bad=int(bad.sum()),
        max_difference=biggest,
        examples=run.examples(bad, ("first", run.base), ("second", again)),
    )


def _max_difference(a: Outputs, b: Outputs) -> float | None:
    pairs = [(a.label, b.label), (a.proba, b.proba)]
    diffs = []
    for x, y in pairs:
        if x is not None and y is not None and x.shape == y.shape and x.dtype.kind in "iuf" and y.dtype.kind in "iuf":
            d = np.abs(x.astype(float) - y.astype(float))
            d = d[np.isfinite(d)]
            if d.size:
                diffs.append(float(d.max()))
    return max(diffs) if diffs else None


def _not_deterministic(run: _Run, name: str) -> Check | None:
    if run.deterministic is False:
        return run.check(name, "skip", "the model is not deterministic, so differences between calls mean nothing")
    return None


def _batch(run: _Run) -> Check:
    name = "batch invariance"
    if (skipped := _not_deterministic(run, name)) is not None:
        return skipped
    m = min(run.options.batch_rows, run.n)
    bad = np.zeros(m, dtype=bool)
    singles: list[Outputs] = []
    for i in range(m):
        try:
            single = call(run.predictor, run.X.iloc[[i]], proba=run.base.proba is not None)
        except Exception as exc:
            return run.check(
                name,
                "fail",
                f"predicting one row at a time fails on row {int(run.rows[i])}: {type(exc).__name__}: {exc}",
            )
        singles.append(single)
        batch = Outputs(run.base.label[i : i + 1], None if run.base.proba is None else run.base.proba[i : i + 1], (1,))
        bad[i] = bool(run.compare(batch, single).any())
    if not bad.any():
        return run.check(name, "pass", f"the first {m} rows predicted one at a time equal the batch result", bad=0)
    examples = []
    for i in np.flatnonzero(bad)[:MAX_EXAMPLES]:
        row = {"row": int(run.rows[i])}
        row.update({f"batch_{k}": v for k, v in run.base.at(int(i)).items()})
        row.update({f"single_{k}": v for k, v in singles[i].at(0).items()})
        examples.append(row)
    return run.check(
        name,
        "fail",
        f"predicting rows one at a time differs from the batch result in {int(bad.sum())} of the first {m} rows"
        f" ({row_list(run.positions(bad))})",
        bad=int(bad.sum()),
        batch_rows=m,
        examples=examples,
    )


def _column_orders(columns: Sequence[Any]) -> list[tuple[str, list[Any]]]:
    cols = list(columns)
    orders = [("reversed", cols[::-1])]
    if len(cols) > 2:
        rng = np.random.default_rng(0)
        for _ in range(20):
            perm = [cols[i] for i in rng.permutation(len(cols))]
            if perm not in (cols, cols[::-1]):
                orders.append(("shuffled", perm))
                break
    return orders


def _column_order(run: _Run) -> Check:
    name = "column order"
    if not run.frame_input:
        return run.check(name, "skip", "the input is an array: it has no column names to reorder")
    if run.X.shape[1] < 2:
        return run.check(name, "skip", "the input has a single column")
    if (skipped := _not_deterministic(run, name)) is not None:
        return skipped
    found: dict[str, int] = {}
    first: tuple[str, np.ndarray, Outputs] | None = None
    for label, order in _column_orders(run.X.columns):
        try:
            moved = call(run.predictor, run.X[order], proba=run.base.proba is not None)
        except Exception as exc:
            return run.check(
                name, "fail", f"the model fails when the input columns are {label}: {type(exc).__name__}: {exc}"
            )
        bad = run.compare(run.base, moved)
        found[label] = int(bad.sum())
        if bad.any() and first is None:
            first = (label, bad, moved)
    if first is None:
        return run.check(
            name, "pass", f"reordering the input columns ({', '.join(found)}) does not change the outputs", bad=0
        )
    label, bad, moved = first
    reason = run.predictor.positional_reason()
    return run.check(
        name,
        "fail",
        f"predictions change when the input columns are reordered: {reason} ({int(bad.sum())} of {run.n} rows"
        f" differ with the columns {label}, {row_list(run.positions(bad))})",
        bad=int(bad.sum()),
        explanation=reason,
        differing_rows=found,
        examples=run.examples(bad, ("original", run.base), (label, moved)),
    )


def _dtype_robustness(run: _Run) -> Check:
    name = "dtype robustness"
    if (skipped := _not_deterministic(run, name)) is not None:
        return skipped
    X = run.X
    ints = [c for c in X.columns if X[c].dtype.kind in "iu"]
    floats = [c for c in X.columns if X[c].dtype == np.float64]
    variants: list[tuple[str, dict[Any, str], dict[Any, str] | None]] = []
    if ints:
        variants.append(("integer columns arrive as float64", dict.fromkeys(ints, "float64"), None))
    if floats:
        # compared with the same values rounded to float32 but still float64, so that only the dtype differs:
        # a tree whose threshold equals a training value would otherwise flip on the rounding alone
        variants.append(
            ("float64 columns arrive as float32", dict.fromkeys(floats, "float32"), dict.fromkeys(floats, "float64"))
        )
    if not variants:
        return run.check(name, "skip", "the input has no integer or float64 columns")
    proba = run.base.proba is not None
    for label, casts, back in variants:
        try:
            cast = X.astype(casts)
            reference = run.base if back is None else call(run.predictor, cast.astype(back), proba=proba)
            moved = call(run.predictor, cast, proba=proba)
        except Exception as exc:
            return run.check(name, "fail", f"the model fails when {label}: {type(exc).__name__}: {exc}")
        bad = _dtype_differences(run.task, reference, moved)
        if bad.any():
            return run.check(
                name,
                "fail",
                f"outputs change when {label} ({int(bad.sum())} of {run.n} rows, {row_list(run.positions(bad))};"
                f" tolerance {DTYPE_RTOL:g} relative)",
                bad=int(bad.sum()),
                columns=[str(c) for c in casts][:20],
                examples=run.examples(bad, ("original", reference), ("cast", moved)),
            )
    tried = " and ".join(label for label, _, _ in variants)
    return run.check(name, "pass", f"outputs unchanged (within float32 precision) when {tried}", bad=0)


def _dtype_differences(task: str, base: Outputs, moved: Outputs) -> np.ndarray:
    bad = differing(base.label, moved.label, exact=task != "regression", rtol=DTYPE_RTOL, atol=DTYPE_ATOL)
    if base.proba is not None and moved.proba is not None:
        pbad = differing(base.proba, moved.proba, exact=False, rtol=DTYPE_RTOL, atol=DTYPE_ATOL)
        if base.proba.ndim == 2 and base.proba.shape[1] >= 2 and len(pbad) == len(bad):
            # float32 arithmetic inside the model may flip a near tie; that is not the model misreading a dtype
            top = np.sort(base.proba, axis=1)
            near_tie = (top[:, -1] - top[:, -2]) < TIE_MARGIN
            bad = (bad & ~near_tie) | pbad
    return bad


CHECKS: dict[str, Callable[[_Run], Check]] = {
    "finite outputs": _finite,
    "output shape": _shape,
    "output dtype/range": _dtype_range,
    "probabilities sum to 1": _proba_sum,
    "deterministic": _deterministic,
    "batch invariance": _batch,
    "column order": _column_order,
    "dtype robustness": _dtype_robustness,
}
