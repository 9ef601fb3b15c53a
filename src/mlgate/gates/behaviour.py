"""Behaviour checks: properties a model must have whatever its accuracy.

Each check asks one question of the model's outputs on real rows and answers with one
:class:`~mlgate.gates.types.Check` of kind ``behaviour``:

- ``finite outputs``: no NaN or infinite prediction or probability;
- ``output shape``: one prediction per row, probabilities of shape (rows, classes);
- ``output dtype/range``: labels among the known classes; numbers (optionally in ``range``) for regression;
- ``probabilities sum to 1``: every row within 1e-6 of 1, every value in [0, 1];
- ``deterministic``: the same rows twice give identical outputs;
- ``batch invariance``: rows predicted one at a time equal the batch result (1e-9 relative);
- ``column order``: reordering the input's columns does not change the outputs;
- ``dtype robustness`` (used by :mod:`mlgate.testing`): integer columns as float64, and float64 columns as
  float32, give the same outputs (1e-3 relative). The float32 call is compared with the same values
  rounded to float32 but kept float64, so that only the dtype differs.

A check that cannot run (the model raises, a column is missing) reports status ``error`` with the reason
instead of raising; only bad configuration raises :class:`~mlgate.errors.ConfigError`. When the model is
not deterministic, the comparisons between calls (batch invariance, column order, dtype robustness) are
skipped: their differences would mean nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mlgate.errors import ConfigError
from mlgate.gates.types import Check

if TYPE_CHECKING:
    import pandas as pd

TASKS = ("binary", "multiclass", "regression")
BEHAVIOUR_CHECKS = (
    "finite outputs",
    "output shape",
    "output dtype/range",
    "probabilities sum to 1",
    "deterministic",
    "batch invariance",
    "column order",
)
EXTRA_CHECKS = ("dtype robustness",)
ALL_CHECKS = BEHAVIOUR_CHECKS + EXTRA_CHECKS
CONFIG_KEYS = ("skip", "batch_rows", "range", "sample_rows")

MAX_EXAMPLES = 5  # example rows in a check's details
PROBA_TOLERANCE = 1e-6
RTOL, ATOL = 1e-9, 1e-12  # batch invariance and column order; the tiny ATOL only guards values at zero
DTYPE_RTOL, DTYPE_ATOL = 1e-3, 1e-5  # float32 keeps ~7 digits, and models amplify the rounding somewhat
SKIPPED = "disabled in the configuration (behaviour.skip)"
TIE_MARGIN = 1e-3  # a label may flip under float32 rounding when its top two probabilities are this close


# --- calling a model ---------------------------------------------------------------------------------------


def _is_loaded(model: Any) -> bool:
    """A :class:`mlgate.models.LoadedModel` (duck-typed, so that this module does not import the registry)."""
    return hasattr(model, "prepare") and hasattr(model, "flavor") and hasattr(getattr(model, "metadata", None), "ref")


class Predictor:
    """How the checks call a model: a ``LoadedModel`` or any object with ``predict`` (and maybe ``predict_proba``).

    Checks hold their rows as a DataFrame; :meth:`shape` turns it into what the model takes. A
    ``LoadedModel`` shapes its input itself (columns by name, or a positional array for a tensor
    signature). A scikit-learn estimator fitted on a DataFrame gets its columns in fit order, as
    ``LoadedModel`` would give them (scikit-learn itself refuses other orders with an error, never
    silently); one fitted on an array gets an array, because it warns when given named columns.
    """

    def __init__(self, model: Any, *, arrays: bool = False) -> None:
        if not callable(getattr(model, "predict", None)):
            raise TypeError(f"{type(model).__qualname__} has no predict() method")
        self.model = model
        self.loaded = _is_loaded(model)
        self.native = model.native if self.loaded else model
        names = None if self.loaded else getattr(model, "feature_names_in_", None)
        self.columns = [str(c) for c in names] if names is not None else None
        self.unnamed_sklearn = not self.loaded and names is None and hasattr(model, "n_features_in_")
        self.arrays = arrays or self.unnamed_sklearn
        proba = getattr(model, "predict_proba", None)
        self._proba = proba if callable(proba) else None

    def shape(self, X: pd.DataFrame) -> Any:
        """``X`` as the model takes it."""
        if self.columns is not None and all(c in X.columns for c in self.columns):
            X = X[self.columns]
        return np.array(X.to_numpy()) if self.arrays else X

    def predict(self, X: pd.DataFrame) -> Any:
        """The model's predictions for ``X``."""
        return self.model.predict(self.shape(X))

    def predict_proba(self, X: pd.DataFrame) -> Any | None:
        """The model's class probabilities for ``X``, or None when it gives none."""
        return None if self._proba is None else self._proba(self.shape(X))

    def positional_reason(self) -> str:
        """Why outputs change with the column order, in words a reviewer understands, and the fix."""
        if self.loaded:
            inputs = self.model.metadata.signature.get("inputs", {})
            if inputs.get("type") == "tensor":
                return (
                    f"the model reads its input by position (its signature is a tensor of shape {inputs.get('shape')},"
                    " trained on an array), not by column name; register it with a DataFrame sample so the signature"
                    " names the columns"
                )
            return "the model's outputs depend on the order of its input columns although its signature names them"
        if self.unnamed_sklearn:
            return (
                "the model reads its input by position (it was fitted on an array, without column names), not by"
                " column name; fit it on a DataFrame so that it knows its columns"
            )
        return (
            "the model reads its input by position, not by column name; select the columns by name inside the"
            " model, or always pass them in the training order"
        )


@dataclass
class Outputs:
    """One call's outputs as arrays: labels (or values) flattened to one per row, probabilities or None."""

    label: np.ndarray
    proba: np.ndarray | None
    label_shape: tuple[int, ...]

    def at(self, i: int) -> dict[str, Any]:
        """Row ``i`` for a check's details."""
        out: dict[str, Any] = {"prediction": show(self.label[i]) if i < len(self.label) else None}
        if self.proba is not None and self.proba.ndim >= 1 and i < len(self.proba):
            out["probabilities"] = show(self.proba[i])
        return out


def call(predictor: Predictor, X: pd.DataFrame, *, proba: bool = True) -> Outputs:
    """Predictions (and probabilities when ``proba`` and the model gives them) for ``X``, as arrays."""
    raw = np.atleast_1d(np.asarray(predictor.predict(X)))
    label = raw.reshape(len(raw)) if raw.ndim == 2 and raw.shape[1] == 1 else raw
    probs = predictor.predict_proba(X) if proba else None
    return Outputs(label, None if probs is None else np.atleast_1d(np.asarray(probs)), tuple(raw.shape))


# --- small shared helpers -------------------------------------------------------------------------------------


def show(value: Any) -> Any:
    """A JSON-friendly form of an output for details: NumPy to Python, NaN and infinities as text."""
    if isinstance(value, np.ndarray):
        return [show(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [show(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # timestamps, decimals, categories: text keeps the report JSON-ready


def label_keys(values: Any) -> np.ndarray:
    """Labels as comparable text: ``1``, ``1.0``, ``np.int64(1)`` and ``"1"`` all become ``"1"``."""
    arr = np.asarray(values, dtype=object)
    keys = []
    for v in arr.ravel():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and np.isfinite(v) and v.is_integer():
            v = int(v)
        keys.append(str(v))
    return np.array(keys, dtype=object).reshape(arr.shape)


def row_list(rows: Sequence[int]) -> str:
    """``rows 4, 17, 52`` — at most five, then how many more."""
    shown = ", ".join(str(int(r)) for r in rows[:MAX_EXAMPLES])
    more = len(rows) - MAX_EXAMPLES
    return f"row{'s' if len(rows) != 1 else ''} {shown}" + (f" and {more} more" if more > 0 else "")


def _per_row(mask: np.ndarray, n: int) -> np.ndarray:
    """A mask over values reduced to one flag per row (its first axis)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim == 0:
        return np.full(n, bool(mask))
    return mask.reshape(len(mask), -1).any(axis=1) if mask.ndim > 1 else mask


def _nonfinite(arr: np.ndarray) -> np.ndarray:
    """Per row: holds a NaN, an infinity or a missing value."""
    if arr.dtype.kind in "fc":
        return _per_row(~np.isfinite(arr), len(arr))
    if arr.dtype.kind == "O":
        import pandas as pd

        def bad(v: Any) -> bool:
            if isinstance(v, float | np.floating):
                return not np.isfinite(v)
            return v is None or bool(pd.isna(v)) if np.ndim(v) == 0 else False

        flat = np.array([bad(v) for v in arr.ravel()], dtype=bool).reshape(arr.shape)
        return _per_row(flat, len(arr))
    return np.zeros(len(arr), dtype=bool)


def differing(a: np.ndarray, b: np.ndarray, *, exact: bool, rtol: float = RTOL, atol: float = ATOL) -> np.ndarray:
    """Per row of ``a``: True where ``b`` differs. NaN equals NaN; shapes that disagree differ everywhere."""
    if a.shape != b.shape:
        return np.ones(len(a), dtype=bool)
    if a.dtype.kind in "iuf" and b.dtype.kind in "iuf":
        if exact:
            both_nan = np.isnan(a) & np.isnan(b) if "f" in (a.dtype.kind + b.dtype.kind) else False
            diff = (a != b) & ~both_nan
        else:
            diff = ~np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    elif a.dtype.kind == b.dtype.kind and a.dtype.kind in "bUS":
        diff = a != b
    else:
        diff = label_keys(a) != label_keys(b)
    return _per_row(diff, len(a))


# --- configuration ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """Validated ``behaviour`` configuration."""

    skip: tuple[str, ...] = ()
    batch_rows: int = 20
    range: tuple[float, float] | None = None
    sample_rows: int = 1000


def _positive_int(config: Mapping[str, Any], key: str, default: int) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(
            f"behaviour: {key!r} must be a positive integer, got {value!r}", hint=f"for example {key}: {default}"
        )
    return int(value)


def parse_options(config: Mapping[str, Any] | None) -> Options:
    """Check the ``behaviour`` configuration; a ConfigError names the key that is wrong."""
    if config is None:
        return Options()
    if not isinstance(config, Mapping):
        raise ConfigError(f"behaviour: the configuration must be a mapping, got {type(config).__name__}")
    unknown = [k for k in config if k not in CONFIG_KEYS]
    if unknown:
        raise ConfigError(f"behaviour: unknown key {unknown[0]!r}", hint=f"known keys: {', '.join(CONFIG_KEYS)}")
    skip = config.get("skip") or ()
    if isinstance(skip, str) or not isinstance(skip, Sequence):
        raise ConfigError(f"behaviour: 'skip' must be a list of check names, got {skip!r}")
    for name in skip:
        if name not in ALL_CHECKS:
            raise ConfigError(
                f"behaviour: 'skip' names an unknown check {name!r}",
                hint=f"known checks: {', '.join(ALL_CHECKS)}",
            )
    bounds = config.get("range")
    if bounds is not None:
        ok = isinstance(bounds, Sequence) and not isinstance(bounds, str) and len(bounds) == 2
        ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in bounds)
        if not ok or bounds[0] > bounds[1]:
            raise ConfigError(
                f"behaviour: 'range' must be two numbers [low, high] with low <= high, got {bounds!r}",
                hint="for example range: [0, 1000]",
            )
        bounds = (float(bounds[0]), float(bounds[1]))
    return Options(
        skip=tuple(skip),
        batch_rows=_positive_int(config, "batch_rows", 20),
        range=bounds,
        sample_rows=_positive_int(config, "sample_rows", 1000),
    )


def _check_task(task: str | None, n_classes: int | None) -> None:
    if task is not None and task not in TASKS:
        raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if n_classes is not None and (isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2):
        raise ConfigError(f"n_classes must be an integer >= 2 or None, got {n_classes!r}")


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
    details = {
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
    variants = []
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


# --- running ----------------------------------------------------------------------------------------------------


def as_frame(X: Any) -> tuple[pd.DataFrame, bool]:
    """The rows as a DataFrame, and whether the caller gave named columns."""
    import pandas as pd

    from mlgate.inputs import to_pandas

    frame = to_pandas(X)
    if frame is not None:
        return frame, True
    arr = np.asarray(X)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    return pd.DataFrame(arr), False


def _sample(X: pd.DataFrame, sample_rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    n = len(X)
    if n <= sample_rows:
        return X, np.arange(n)
    rows = np.sort(np.random.default_rng(0).choice(n, size=sample_rows, replace=False))
    return X.iloc[rows], rows


def _infer_task(base: Outputs) -> str:
    if base.proba is not None and base.proba.ndim == 2:
        return "binary" if base.proba.shape[1] == 2 else "multiclass"
    return "regression" if base.label.dtype.kind in "fc" else "multiclass"


def evaluate(
    model: Any,
    X: Any,
    *,
    names: Sequence[str],
    task: str | None,
    n_classes: int | None = None,
    classes: Sequence[Any] | None = None,
    options: Options | None = None,
) -> list[Check]:
    """Run the named checks in order; ``task=None`` infers it from the outputs. Never raises for the model's faults.

    ``X`` is a DataFrame (or anything :func:`mlgate.inputs.to_pandas` reads); a NumPy array is handed to the
    model as an array, and then the column-order check is skipped.
    """
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ConfigError(f"unknown behaviour check {unknown[0]!r}", hint=f"known checks: {', '.join(ALL_CHECKS)}")
    _check_task(task, n_classes)
    options = options or Options()
    frame, frame_input = as_frame(X)
    sample, rows = _sample(frame, options.sample_rows)

    def errors(message: str) -> list[Check]:
        return [
            Check(name=n, kind="behaviour", status="skip", message=SKIPPED, rows=len(sample))
            if n in options.skip
            else Check(name=n, kind="behaviour", status="error", message=message, rows=len(sample))
            for n in names
        ]

    try:
        predictor = Predictor(model, arrays=not frame_input)
    except TypeError as exc:
        return errors(f"cannot call the model: {exc}")
    if len(sample) == 0:
        return errors("the data has no rows to check the model on")
    try:
        base = call(predictor, sample, proba=task != "regression")
    except Exception as exc:
        return errors(f"the model raised {type(exc).__name__} when predicting {len(sample)} rows: {exc}")
    run = _Run(predictor, sample, rows, task or _infer_task(base), n_classes, classes, options, frame_input)
    run.base = base
    out = []
    for name in names:
        if name in options.skip:
            out.append(run.check(name, "skip", SKIPPED))
            continue
        try:
            out.append(CHECKS[name](run))
        except Exception as exc:  # a check that cannot run reports why instead of stopping the others
            out.append(run.check(name, "error", f"the check could not run: {type(exc).__name__}: {exc}"))
    return out


def run(
    model: Any,
    X: pd.DataFrame,
    *,
    task: str,
    n_classes: int | None,
    config: Mapping[str, Any] | None = None,
    classes: Sequence[Any] | None = None,
) -> list[Check]:
    """The behaviour checks of a gate, on a seeded sample of ``X`` (``config["sample_rows"]``, default 1000).

    ``classes`` lists the labels the model may predict; without it they come from the model's ``classes_``.
    ``config`` keys (all optional): ``skip`` (check names), ``batch_rows`` (20), ``range`` ([low, high] for
    regression outputs), ``sample_rows`` (1000). Bad configuration raises ConfigError naming the key.
    """
    options = parse_options(config)
    _check_task(task, n_classes)
    if task is None:
        raise ConfigError(f"task must be one of {', '.join(TASKS)}, got None")
    return evaluate(model, X, names=BEHAVIOUR_CHECKS, task=task, n_classes=n_classes, classes=classes, options=options)
