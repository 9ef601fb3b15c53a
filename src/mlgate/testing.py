"""Behaviour tests for your own pytest suite: the checks mlgate's gates run, as assertions.

::

    from mlgate.testing import check_model

    def test_model_behaves(model, X_test):
        check_model(model, X_test.head(200))

``model`` is a ``LoadedModel``, a registry reference (``"fraud@production"``) or any object with
``predict`` (and optionally ``predict_proba``): a fitted scikit-learn estimator works directly. A
failure raises ``AssertionError`` listing every failed check at once, one line each, with the rows
that showed it. See docs/testing.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlgate.gates.types import Check

__all__ = [
    "DEFAULT_CHECKS",
    "assert_batch_invariant",
    "assert_column_order_robust",
    "assert_deterministic",
    "assert_no_nan",
    "assert_probabilities_valid",
    "check_model",
]

DEFAULT_CHECKS = (
    "finite outputs",
    "output shape",
    "deterministic",
    "batch invariance",
    "dtype robustness",
    "column order",
)


def _model(model: Any) -> Any:
    if isinstance(model, str):
        from mlgate.models import load_model

        return load_model(model)
    return model


def _run(
    model: Any,
    sample: Any,
    names: Sequence[str],
    *,
    task: str | None = None,
    batch_rows: int = 20,
    fail_on_skip: bool = False,
) -> list[Check]:
    from mlgate.errors import UsageError
    from mlgate.gates import behaviour

    unknown = [n for n in names if n not in behaviour.CHECKS]
    if unknown:
        raise UsageError(
            f"mlgate.testing knows no check {unknown[0]!r}", hint=f"known checks: {', '.join(behaviour.ALL_CHECKS)}"
        )
    options = behaviour.parse_options({"batch_rows": batch_rows})
    checks = behaviour.evaluate(_model(model), sample, names=names, task=task, options=options)
    failed = [c for c in checks if c.status in ("fail", "error") or (fail_on_skip and c.status == "skip")]
    if failed:
        lines = [f"  {c.name}: {'(' + c.status + ') ' if c.status != 'fail' else ''}{c.message}" for c in failed]
        raise AssertionError(f"{len(failed)} of {len(checks)} model checks failed:\n" + "\n".join(lines))
    return checks


def check_model(
    model: Any, sample: Any, *, task: str | None = None, checks: Sequence[str] | None = None
) -> list[Check]:
    """Run the behaviour checks on ``sample`` (at most 1,000 rows of it, seeded) and return them.

    ``checks`` picks among ``finite outputs``, ``output shape``, ``output dtype/range``, ``probabilities sum
    to 1``, ``deterministic``, ``batch invariance``, ``column order`` and ``dtype robustness``; by default
    :data:`DEFAULT_CHECKS`. ``task`` (``binary``, ``multiclass``, ``regression``) is inferred when omitted:
    a model with probabilities classifies, one returning floats without them regresses. Raises
    AssertionError listing every check that failed or could not run.
    """
    return _run(model, sample, tuple(checks) if checks is not None else DEFAULT_CHECKS, task=task)


def assert_no_nan(model: Any, sample: Any) -> None:
    """No NaN or infinite prediction or probability on any row of ``sample``."""
    _run(model, sample, ("finite outputs",))


def assert_deterministic(model: Any, sample: Any) -> None:
    """Predicting ``sample`` twice gives identical outputs."""
    _run(model, sample, ("deterministic",))


def assert_batch_invariant(model: Any, sample: Any, rows: int = 20) -> None:
    """The first ``rows`` rows predicted one at a time equal the batch result (1e-9 relative)."""
    _run(model, sample, ("batch invariance",), batch_rows=rows)


def assert_column_order_robust(model: Any, sample: Any) -> None:
    """Reordering the columns of the DataFrame ``sample`` (reversed, shuffled) does not change the outputs."""
    _run(model, sample, ("column order",))


def assert_probabilities_valid(model: Any, sample: Any) -> None:
    """Probabilities exist, lie in [0, 1] and sum to 1 (±1e-6) on every row, with one column per class."""
    _run(model, sample, ("output shape", "probabilities sum to 1"), fail_on_skip=True)
