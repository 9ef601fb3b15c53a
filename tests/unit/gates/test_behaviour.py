"""Behaviour checks on real models: good ones pass, each broken one fails the check that names its fault."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlgate
from mlgate.errors import ConfigError
from mlgate.gates import behaviour
from mlgate.gates.behaviour import BEHAVIOUR_CHECKS, differing, label_keys, row_list


@pytest.fixture(scope="module")
def diabetes() -> tuple[Any, Any]:
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="module")
def linreg(diabetes: tuple[Any, Any]) -> Any:
    from sklearn.linear_model import LinearRegression

    X, y = diabetes
    return LinearRegression().fit(X, y)


# Models with one fault each, defined at the top level so that the pyfunc flavor can store them.


class NanOnHighBmi:
    """A regressor that returns NaN when ``bmi`` is above a cut-off: the kind of gap a feature transform leaves."""

    def __init__(self, est: Any, cut: float = 0.1) -> None:
        self.est, self.cut = est, cut

    def predict(self, X: Any) -> Any:
        out = self.est.predict(X).astype(float)
        out[X["bmi"].to_numpy() > self.cut] = np.nan
        return out


class NanAt:
    """A regressor that returns NaN on the rows whose index label is in ``rows``."""

    def __init__(self, est: Any, rows: set[int]) -> None:
        self.est, self.rows = est, rows

    def predict(self, X: Any) -> Any:
        out = self.est.predict(X).astype(float)
        out[np.isin(X.index.to_numpy(), list(self.rows))] = np.nan
        return out


class Noisy:
    """A classifier whose probabilities carry fresh random noise on every call."""

    def __init__(self, est: Any) -> None:
        self.est, self.rng = est, np.random.default_rng()
        self.classes_ = est.classes_

    def predict(self, X: Any) -> Any:
        return self.est.predict(X)

    def predict_proba(self, X: Any) -> Any:
        p = self.est.predict_proba(X)[:, 1] + self.rng.normal(0, 1e-3, len(X))
        p = np.clip(p, 0, 1)
        return np.column_stack([1 - p, p])


class BatchCentred:
    """Centres each batch on its own mean before predicting: fine on a big batch, wrong on one row."""

    def __init__(self, est: Any) -> None:
        self.est = est
        self.classes_ = est.classes_

    def predict(self, X: Any) -> Any:
        return self.est.predict(X - X.mean())

    def predict_proba(self, X: Any) -> Any:
        return self.est.predict_proba(X - X.mean())


class DropsLast:
    """Loses the last row's prediction."""

    def __init__(self, est: Any) -> None:
        self.est = est

    def predict(self, X: Any) -> Any:
        return self.est.predict(X)[:-1]


class Unnormalised:
    """Returns scores that are not probabilities: each row sums to 1.5."""

    def __init__(self, est: Any) -> None:
        self.est = est
        self.classes_ = est.classes_

    def predict(self, X: Any) -> Any:
        return self.est.predict(X)

    def predict_proba(self, X: Any) -> Any:
        return self.est.predict_proba(X) * 1.5


class PassThrough:
    """Hands its input straight to a scikit-learn estimator fitted on a DataFrame."""

    def __init__(self, est: Any) -> None:
        self.est = est

    def predict(self, X: Any) -> Any:
        return self.est.predict(X)


class Broken:
    """Raises on every call, as a model with a missing dependency does."""

    def predict(self, X: Any) -> Any:
        raise ValueError("feature 'amount' has unexpected dtype")


def by_name(checks: list[Any]) -> dict[str, Any]:
    """The checks by name, after making sure that each one serialises to JSON as a gate report stores it."""
    for c in checks:
        assert json.loads(json.dumps(c.to_dict()))["name"] == c.name
    return {c.name: c for c in checks}


# --- real registered models -----------------------------------------------------------------------------------


def test_a_good_registered_model_passes_every_check(registry: Any, breast_cancer: Any, sk_model: Any) -> None:
    X, _ = breast_cancer
    mv = mlgate.log_model(sk_model, "bc", sample_input=X.head(5), registry=registry)
    model = mlgate.load_model(mv.ref, registry=registry)
    checks = behaviour.run(model, X, task="binary", n_classes=2)
    assert [c.name for c in checks] == list(BEHAVIOUR_CHECKS)
    assert {c.name: c.status for c in checks} == dict.fromkeys(BEHAVIOUR_CHECKS, "pass")
    assert all(c.kind == "behaviour" and c.rows == len(X) for c in checks)
    assert "among the 2 classes [0, 1]" in by_name(checks)["output dtype/range"].message


def test_a_model_trained_on_reversed_columns_and_registered_with_an_array_fails_column_order(
    registry: Any, breast_cancer: Any
) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = breast_cancer
    reversed_array = X.to_numpy()[:, ::-1]
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(reversed_array, y)
    mv = mlgate.log_model(est, "reversed", sample_input=reversed_array[:5], registry=registry)
    assert mv.signature["inputs"] == {"type": "tensor", "dtype": "float64", "shape": [-1, 30]}
    model = mlgate.load_model(mv.ref, registry=registry)

    checks = by_name(behaviour.run(model, X, task="binary", n_classes=2))
    order = checks["column order"]
    assert order.status == "fail"
    assert order.message.startswith(
        "predictions change when the input columns are reordered: the model reads its input by position (its "
        "signature is a tensor of shape [-1, 30], trained on an array), not by column name; register it with a "
        "DataFrame sample so the signature names the columns"
    )
    assert order.details["differing_rows"]["reversed"] > 0
    assert 1 <= len(order.details["examples"]) <= 5
    assert all(c.status == "pass" for name, c in checks.items() if name != "column order")


def test_nan_outputs_fail_finite_outputs_naming_the_rows(registry: Any, diabetes: Any, linreg: Any) -> None:
    X, _ = diabetes
    mv = mlgate.log_model(NanOnHighBmi(linreg), "gappy", sample_input=X.head(5), registry=registry)
    assert mv.flavor == "pyfunc"
    with pytest.warns(RuntimeWarning, match="ran code stored in its artifact"):
        model = mlgate.load_model(mv.ref, registry=registry, allow_code=True)
    nan_rows = np.flatnonzero(X["bmi"].to_numpy() > 0.1).tolist()
    assert len(nan_rows) > 5

    checks = by_name(behaviour.run(model, X, task="regression", n_classes=None))
    finite = checks["finite outputs"]
    assert finite.status == "fail"
    shown = ", ".join(map(str, nan_rows[:5]))
    assert finite.message == (
        f"{len(nan_rows)} of {len(X)} rows give NaN or infinite predictions (rows {shown} and {len(nan_rows) - 5} more)"
    )
    assert [e["row"] for e in finite.details["examples"]] == nan_rows[:5]
    assert finite.details["examples"][0]["prediction"] == "nan"
    assert finite.value == len(nan_rows)
    assert checks["probabilities sum to 1"].status == "skip"
    assert checks["deterministic"].status == "pass"


def test_sampled_rows_are_reported_by_their_position_in_the_callers_frame(diabetes: Any, linreg: Any) -> None:
    X, _ = diabetes
    nan_rows = set(np.flatnonzero(X["bmi"].to_numpy() > 0.1).tolist())
    checks = behaviour.run(NanOnHighBmi(linreg), X, task="regression", n_classes=None, config={"sample_rows": 200})
    finite = by_name(checks)["finite outputs"]
    assert finite.rows == 200
    reported = [e["row"] for e in finite.details["examples"]]
    assert reported and set(reported) <= nan_rows
    assert reported == sorted(reported)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.sets(st.integers(0, 441), max_size=40))
def test_finite_outputs_counts_every_nan_row_and_shows_at_most_five(diabetes: Any, linreg: Any, rows: set[int]) -> None:
    X, _ = diabetes
    check = by_name(behaviour.run(NanAt(linreg, rows), X, task="regression", n_classes=None))["finite outputs"]
    assert check.status == ("fail" if rows else "pass")
    assert check.value == len(rows)
    examples = [e["row"] for e in check.details.get("examples", [])]
    assert examples == sorted(rows)[:5]
    if rows:
        assert row_list(sorted(rows)) in check.message


# --- one fault each -------------------------------------------------------------------------------------------


def test_a_nondeterministic_model_fails_deterministic_and_skips_the_comparisons(
    breast_cancer: Any, sk_model: Any
) -> None:
    X, _ = breast_cancer
    checks = by_name(behaviour.run(Noisy(sk_model), X, task="binary", n_classes=2))
    det = checks["deterministic"]
    assert det.status == "fail"
    assert det.message.startswith(f"predicting the same {len(X)} rows twice gives different outputs in ")
    assert 0 < det.details["max_difference"] < 0.02
    assert {"row", "first_probabilities", "second_probabilities"} <= set(det.details["examples"][0])
    for name in ("batch invariance", "column order"):
        assert checks[name].status == "skip"
        assert "not deterministic" in checks[name].message


def test_a_model_that_uses_batch_statistics_fails_batch_invariance(breast_cancer: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    X, y = breast_cancer
    est = LogisticRegression(max_iter=5000).fit(X - X.mean(), y)
    checks = by_name(behaviour.run(BatchCentred(est), X, task="binary", n_classes=2, config={"batch_rows": 10}))
    batch = checks["batch invariance"]
    assert batch.status == "fail"
    assert "differs from the batch result in " in batch.message and "of the first 10 rows" in batch.message
    assert batch.details["batch_rows"] == 10
    example = batch.details["examples"][0]
    assert example["batch_probabilities"] != example["single_probabilities"]
    assert checks["deterministic"].status == "pass"


def test_a_model_that_refuses_reordered_columns_fails_column_order(diabetes: Any, linreg: Any) -> None:
    X, _ = diabetes
    order = by_name(behaviour.run(PassThrough(linreg), X, task="regression", n_classes=None))["column order"]
    assert order.status == "fail"
    assert order.message.startswith(
        "the model fails when the input columns are reversed: ValueError: The feature names should match"
    )
    # the estimator itself is called with its columns in fit order, as a LoadedModel would call it
    assert by_name(behaviour.run(linreg, X, task="regression", n_classes=None))["column order"].status == "pass"


def test_a_missing_prediction_fails_output_shape(diabetes: Any, linreg: Any) -> None:
    X, _ = diabetes
    shape = by_name(behaviour.run(DropsLast(linreg), X, task="regression", n_classes=None))["output shape"]
    assert shape.status == "fail"
    assert shape.message == f"predictions have shape ({len(X) - 1},), expected one per row ({len(X)},)"


def test_probabilities_of_the_wrong_width_fail_output_shape(breast_cancer: Any, sk_model: Any) -> None:
    X, _ = breast_cancer
    shape = by_name(behaviour.run(sk_model, X, task="multiclass", n_classes=3))["output shape"]
    assert shape.status == "fail"
    assert shape.message == f"probabilities have shape ({len(X)}, 2), expected ({len(X)}, 3)"


def test_labels_outside_the_known_classes_fail_dtype_range() -> None:
    from sklearn.datasets import load_wine
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_wine(return_X_y=True, as_frame=True)
    est = DecisionTreeClassifier(random_state=0).fit(X, y)
    check = by_name(behaviour.run(est, X, task="binary", n_classes=2, classes=["0", "1"]))["output dtype/range"]
    twos = np.flatnonzero(est.predict(X) == 2).tolist()
    assert check.status == "fail"
    assert check.message.startswith(f"{len(twos)} of {len(X)} predictions are not among the model's 2 classes")
    assert check.message.endswith("got 2)")
    assert [e["row"] for e in check.details["examples"]] == twos[:5]
    # the model's own classes_ are used when none are given, compared as text ("1" matches 1)
    assert by_name(behaviour.run(est, X, task="multiclass", n_classes=3))["output dtype/range"].status == "pass"


def test_continuous_outputs_for_a_classification_task_fail_dtype_range(diabetes: Any, linreg: Any) -> None:
    X, _ = diabetes
    check = by_name(behaviour.run(linreg, X, task="binary", n_classes=2))["output dtype/range"]
    assert check.status == "fail"
    assert "continuous values, not class labels" in check.message


def test_regression_outputs_outside_the_configured_range_fail(diabetes: Any, linreg: Any) -> None:
    X, _ = diabetes
    pred = linreg.predict(X)
    high = np.flatnonzero(pred > 200).tolist()
    check = by_name(behaviour.run(linreg, X, task="regression", n_classes=None, config={"range": [0, 200]}))
    dr = check["output dtype/range"]
    assert dr.status == "fail"
    assert dr.message.startswith(f"{len(high)} of {len(X)} predictions fall outside the range [0, 200]")
    assert [e["row"] for e in dr.details["examples"]] == high[:5]
    wide = behaviour.run(linreg, X, task="regression", n_classes=None, config={"range": [-1e6, 1e6]})
    assert by_name(wide)["output dtype/range"].status == "pass"


def test_scores_that_do_not_sum_to_one_fail_and_a_model_without_probabilities_is_skipped(
    breast_cancer: Any, sk_model: Any
) -> None:
    from sklearn.svm import LinearSVC

    X, y = breast_cancer
    check = by_name(behaviour.run(Unnormalised(sk_model), X, task="binary", n_classes=2))["probabilities sum to 1"]
    assert check.status == "fail"
    assert check.details["not_summing"] == len(X)
    assert check.details["examples"][0]["sum"] == pytest.approx(1.5)
    assert "do not sum to 1 (±1e-06) or fall outside [0, 1]" in check.message

    svc = LinearSVC().fit((X - X.mean()) / X.std(), y)
    skipped = by_name(behaviour.run(svc, X, task="binary", n_classes=2))["probabilities sum to 1"]
    assert skipped.status == "skip"
    assert skipped.message == "the model gives no probabilities (no predict_proba)"


def test_a_model_that_raises_turns_every_check_into_an_error(breast_cancer: Any) -> None:
    X, _ = breast_cancer
    checks = behaviour.run(Broken(), X, task="binary", n_classes=2)
    assert [c.name for c in checks] == list(BEHAVIOUR_CHECKS)
    assert {c.status for c in checks} == {"error"}
    assert checks[0].message == (
        f"the model raised ValueError when predicting {len(X)} rows: feature 'amount' has unexpected dtype"
    )
    skipped = behaviour.run(Broken(), X, task="binary", n_classes=2, config={"skip": ["column order"]})
    assert [c.status for c in skipped] == ["error"] * 6 + ["skip"]


def test_a_missing_column_is_an_error_naming_it(registry: Any, breast_cancer: Any, sk_model: Any) -> None:
    X, _ = breast_cancer
    mv = mlgate.log_model(sk_model, "bc", sample_input=X.head(5), registry=registry)
    model = mlgate.load_model(mv.ref, registry=registry)
    checks = behaviour.run(model, X.drop(columns=["mean radius"]), task="binary", n_classes=2)
    assert {c.status for c in checks} == {"error"}
    assert "missing 1 column(s) the model needs: 'mean radius'" in checks[0].message


def test_skipped_checks_are_reported_as_skipped(breast_cancer: Any, sk_model: Any) -> None:
    X, _ = breast_cancer
    checks = by_name(
        behaviour.run(sk_model, X, task="binary", n_classes=2, config={"skip": ["deterministic", "column order"]})
    )
    assert checks["deterministic"].status == "skip"
    assert checks["column order"].message == "disabled in the configuration (behaviour.skip)"
    assert checks["batch invariance"].status == "pass"


def test_an_array_input_skips_column_order(diabetes: Any, linreg: Any) -> None:
    X, _ = diabetes
    from sklearn.linear_model import LinearRegression

    est = LinearRegression().fit(X.to_numpy(), linreg.predict(X))
    checks = by_name(behaviour.evaluate(est, X.to_numpy(), names=BEHAVIOUR_CHECKS, task="regression"))
    assert checks["column order"].status == "skip"
    assert checks["column order"].message == "the input is an array: it has no column names to reorder"
    assert checks["batch invariance"].status == "pass"


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"skip": ["determinism"]}, r"'skip' names an unknown check 'determinism'"),
        ({"skip": "deterministic"}, r"'skip' must be a list of check names"),
        ({"batch_rows": 0}, r"'batch_rows' must be a positive integer, got 0"),
        ({"sample_rows": "many"}, r"'sample_rows' must be a positive integer, got 'many'"),
        ({"range": [5, 1]}, r"'range' must be two numbers \[low, high\] with low <= high, got \[5, 1\]"),
        ({"range": ["a", "b"]}, r"'range' must be two numbers"),
        ({"colour": "red"}, r"unknown key 'colour'"),
    ],
)
def test_bad_configuration_raises_naming_the_key(breast_cancer: Any, sk_model: Any, config: Any, match: str) -> None:
    X, _ = breast_cancer
    with pytest.raises(ConfigError, match=match):
        behaviour.run(sk_model, X, task="binary", n_classes=2, config=config)


def test_a_bad_task_or_class_count_raises() -> None:
    with pytest.raises(ConfigError, match=r"task must be one of binary, multiclass, regression, got 'ranking'"):
        behaviour.run(Broken(), None, task="ranking", n_classes=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"n_classes must be an integer >= 2 or None, got 1"):
        behaviour.run(Broken(), None, task="binary", n_classes=1)  # type: ignore[arg-type]


# --- helpers ----------------------------------------------------------------------------------------------------


def test_labels_compare_as_text_across_types() -> None:
    keys = label_keys(np.array([1, 1.0, "1", np.int64(1), 2.5], dtype=object))
    assert keys.tolist() == ["1", "1", "1", "1", "2.5"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=30))
def test_an_array_never_differs_from_itself(values: list[float]) -> None:
    arr = np.array(values)
    assert not differing(arr, arr.copy(), exact=True).any()
    assert not differing(arr, arr.copy(), exact=False).any()
    shifted = arr + 1.0
    finite = np.isfinite(arr) & (np.abs(arr) < 1e6)
    assert differing(arr, shifted, exact=False)[finite].all()
