"""Calling a model the way the behaviour, golden and latency checks do, and comparing what it returns.

:class:`Predictor` wraps a loaded version or a bare estimator; :func:`call` gets its labels or values and
probabilities as :class:`Outputs`; :func:`differing` finds the rows where two calls disagree beyond the
tolerances below, and :func:`show` / :func:`row_list` / :func:`label_keys` describe them for a report.
The names of the behaviour checks and their tolerances live here too (shared with :mod:`mlgate.testing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

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
    return np.asarray(mask.reshape(len(mask), -1).any(axis=1)) if mask.ndim > 1 else mask


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
