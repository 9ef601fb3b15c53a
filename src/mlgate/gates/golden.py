"""The golden set: rows whose expected outputs are written down, checked on every candidate.

Classes must match exactly; when the expected and predicted labels have different types (``1`` and
``"1"``), they are compared as text. Numbers must lie within ``tolerance + rel_tolerance * |expected|``
of the expected value, the rule of :func:`numpy.isclose`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mlgate.errors import ConfigError
from mlgate.gates.calls import MAX_EXAMPLES, TASKS, Predictor, call, label_keys, row_list, show
from mlgate.gates.types import Check

if TYPE_CHECKING:
    import pandas as pd

NAME = "golden set"


def _tolerance(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not value >= 0:
        raise ConfigError(f"golden: {key!r} must be a number >= 0, got {value!r}", hint=f"for example {key}: 1e-6")
    return float(value)


def _required_columns(predictor: Predictor) -> list[str] | None:
    """The feature columns the model needs by name, when it says so."""
    if predictor.loaded:
        inputs = predictor.model.metadata.signature.get("inputs", {})
        if inputs.get("type") == "columns":
            return [c["name"] for c in inputs["columns"]]
        return None
    return predictor.columns


def _error(message: str, rows: int | None = None, **details: Any) -> Check:
    return Check(name=NAME, kind="golden", status="error", message=message, rows=rows, details=details)


def check(
    model: Any,
    golden: pd.DataFrame,
    *,
    target: str,
    task: str,
    tolerance: float = 1e-6,
    rel_tolerance: float = 0.0,
) -> Check:
    """Compare the model's outputs on ``golden`` with the expected outputs in its column ``target``."""
    if task not in TASKS:
        raise ConfigError(f"golden: task must be one of {', '.join(TASKS)}, got {task!r}")
    atol, rtol = _tolerance(tolerance, "tolerance"), _tolerance(rel_tolerance, "rel_tolerance")
    if target not in golden.columns:
        return _error(
            f"the golden set has no column {target!r} with the expected outputs",
            columns=[str(c) for c in golden.columns][:20],
        )
    n = len(golden)
    if n == 0:
        return _error("the golden set has no rows", rows=0)
    features = golden.drop(columns=[target])
    try:
        predictor = Predictor(model)
    except TypeError as exc:
        return _error(f"cannot call the model: {exc}", rows=n)
    needed = _required_columns(predictor)
    missing = [c for c in needed or () if c not in features.columns]
    if missing:
        return _error(
            f"the golden set is missing the feature column {missing[0]!r}"
            + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""),
            rows=n,
            missing=missing[:20],
        )
    try:
        got = call(predictor, features, proba=False).label
    except Exception as exc:
        return _error(f"the model raised {type(exc).__name__} on the golden set: {exc}", rows=n)
    expected = np.asarray(golden[target].to_numpy())
    if len(got) != n or got.ndim != 1:
        return _error(f"the model returned outputs of shape {got.shape} for {n} golden rows", rows=n)
    if task == "regression":
        try:
            diff = ~np.isclose(got.astype(float), expected.astype(float), atol=atol, rtol=rtol, equal_nan=True)
        except (TypeError, ValueError) as exc:
            return _error(f"cannot compare the outputs as numbers: {exc}", rows=n)
        rule = f"tolerance {atol:g}" + (f" + {rtol:g} × |expected|" if rtol else "")
    else:
        same_kind = got.dtype.kind in "biu" and expected.dtype.kind in "biu"
        diff = (got != expected) if same_kind else (label_keys(got) != label_keys(expected))
        rule = "exact match"
    diff = np.asarray(diff, dtype=bool)
    bad = np.flatnonzero(diff)
    examples = [
        {"row": int(i), "index": show(golden.index[i]), "expected": show(expected[i]), "got": show(got[i])}
        for i in bad[:MAX_EXAMPLES]
    ]
    details = {"differ": len(bad), "target": target, "rule": rule, "examples": examples}
    if len(bad) == 0:
        return Check(
            name=NAME,
            kind="golden",
            status="pass",
            message=f"all {n} golden rows match ({rule})",
            value=0.0,
            rows=n,
            details=details,
        )
    return Check(
        name=NAME,
        kind="golden",
        status="fail",
        message=f"{len(bad)} of {n} golden rows differ ({rule}): {row_list(bad.tolist())}",
        value=float(len(bad)),
        rows=n,
        details=details,
    )
