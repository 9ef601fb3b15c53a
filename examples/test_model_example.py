"""Behaviour tests for a model, written with mlgate.testing. Copy this file into your tests/ folder.

Replace the two fixtures at the top: ``model`` with your own model (a registry reference such as
``mlgate.load_model("fraud@candidate")``, or the fitted estimator your training code returns) and
``sample`` with a few hundred real rows, as a DataFrame with the columns the model is served with.
The tests below then need no change. Run them with ``pytest``; a failure lists every check that
failed, one line each, with the rows that showed it.

As shipped, the file trains a small model on scikit-learn's bundled breast-cancer data, so it runs
anywhere mlgate is installed: ``pytest examples/test_model_example.py``.
"""

from __future__ import annotations

import pytest

from mlgate.testing import (
    assert_batch_invariant,
    assert_column_order_robust,
    assert_deterministic,
    assert_no_nan,
    assert_probabilities_valid,
    check_model,
)


@pytest.fixture(scope="module")
def sample():
    """Real rows the model is served with. In your project: ``pd.read_parquet("data/test.parquet").head(500)``."""
    from sklearn.datasets import load_breast_cancer

    X, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    return X.sample(300, random_state=0)


@pytest.fixture(scope="module")
def model():
    """The model under test. In your project: ``mlgate.load_model("fraud@candidate")``."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(X, y)


def test_model_behaves(model, sample):
    """All the default checks at once: finite outputs, shape, determinism, batch invariance, dtypes, column order."""
    check_model(model, sample)


def test_probabilities_are_valid(model, sample):
    """Each row's probabilities lie in [0, 1] and sum to 1. Drop this test for a regression model."""
    assert_probabilities_valid(model, sample)


def test_no_nan_on_extreme_rows(model, sample):
    """Values far outside the training range must still give an answer, not NaN."""
    extreme = sample.copy()
    numeric = extreme.select_dtypes("number").columns
    extreme[numeric] = extreme[numeric] * 1000
    assert_no_nan(model, extreme)


def test_no_nan_on_zeros(model, sample):
    """All-zero rows (a default that upstream code fills in) must still give an answer."""
    zeros = sample.head(20).copy()
    numeric = zeros.select_dtypes("number").columns
    zeros[numeric] = 0
    assert_no_nan(model, zeros)


@pytest.mark.parametrize("rows", [1, 50])
def test_one_row_or_a_few_give_the_batch_answer(model, sample, rows):
    """Serving predicts one request at a time; the answer must not depend on the batch around it."""
    assert_batch_invariant(model, sample, rows=rows)


def test_same_answer_twice(model, sample):
    assert_deterministic(model, sample)


def test_columns_are_read_by_name(model, sample):
    """Upstream code reorders columns sooner or later; a model must read them by name."""
    assert_column_order_robust(model, sample)
