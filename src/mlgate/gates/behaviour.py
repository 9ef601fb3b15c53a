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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mlgate.errors import ConfigError

# what the checks share, importable from here as before (golden, budgets, testing and tests use them)
from mlgate.gates.behaviour_checks import CHECKS as CHECKS
from mlgate.gates.behaviour_checks import _Run as _Run
from mlgate.gates.calls import (
    ALL_CHECKS,
    BEHAVIOUR_CHECKS,
    CONFIG_KEYS,
    SKIPPED,
    TASKS,
    Outputs,
    Predictor,
    as_frame,
    call,
)
from mlgate.gates.calls import EXTRA_CHECKS as EXTRA_CHECKS
from mlgate.gates.calls import MAX_EXAMPLES as MAX_EXAMPLES
from mlgate.gates.calls import differing as differing
from mlgate.gates.calls import label_keys as label_keys
from mlgate.gates.calls import row_list as row_list
from mlgate.gates.calls import show as show
from mlgate.gates.types import Check

if TYPE_CHECKING:
    import pandas as pd

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
