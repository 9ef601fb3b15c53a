"""The golden set: matching rows pass, each differing row is counted and the first five are shown."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlgate
from mlgate.errors import ConfigError
from mlgate.gates.golden import check


@pytest.fixture(scope="module")
def diabetes_model() -> tuple[Any, Any]:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X, Ridge(alpha=0.1).fit(X, y)


def golden_from(model: Any, X: Any, rows: int = 50) -> Any:
    golden = X.head(rows).copy()
    golden["expected"] = model.predict(golden)
    return golden


def test_a_registered_model_matches_its_own_golden_set(registry: Any, breast_cancer: Any, sk_model: Any) -> None:
    X, _ = breast_cancer
    mv = mlgate.log_model(sk_model, "bc", sample_input=X.head(5), registry=registry)
    model = mlgate.load_model(mv.ref, registry=registry)
    golden = golden_from(sk_model, X)
    result = check(model, golden, target="expected", task="binary")
    assert (result.name, result.kind, result.status) == ("golden set", "golden", "pass")
    assert result.message == "all 50 golden rows match (exact match)"
    assert result.rows == 50 and result.value == 0


def test_flipped_labels_are_counted_and_shown(breast_cancer: Any, sk_model: Any) -> None:
    X, _ = breast_cancer
    golden = golden_from(sk_model, X)
    flipped = [3, 9, 17, 21, 30, 44, 48]
    golden.loc[flipped, "expected"] = 1 - golden.loc[flipped, "expected"]
    result = check(sk_model, golden, target="expected", task="binary")
    assert result.status == "fail"
    assert result.message == "7 of 50 golden rows differ (exact match): rows 3, 9, 17, 21, 30 and 2 more"
    assert result.details["differ"] == 7 and result.value == 7
    examples = result.details["examples"]
    assert [e["row"] for e in examples] == flipped[:5]
    assert all(e["expected"] == 1 - e["got"] for e in examples)


def test_labels_of_different_types_compare_as_text(breast_cancer: Any, sk_model: Any) -> None:
    X, _ = breast_cancer
    golden = golden_from(sk_model, X)
    golden["expected"] = golden["expected"].astype(str)
    assert check(sk_model, golden, target="expected", task="binary").status == "pass"
    golden.loc[0, "expected"] = "2"
    result = check(sk_model, golden, target="expected", task="binary")
    assert result.message.startswith("1 of 50 golden rows differ")
    assert result.details["examples"] == [{"row": 0, "index": 0, "expected": "2", "got": int(sk_model.predict(X)[0])}]


def test_numbers_match_within_the_tolerance(diabetes_model: Any) -> None:
    X, model = diabetes_model
    golden = golden_from(model, X)
    golden["expected"] += 1e-9
    assert check(model, golden, target="expected", task="regression").status == "pass"
    golden.loc[[5, 6], "expected"] += 0.1
    result = check(model, golden, target="expected", task="regression")
    assert result.status == "fail"
    assert result.message == "2 of 50 golden rows differ (tolerance 1e-06): rows 5, 6"
    assert result.details["examples"][0]["got"] == pytest.approx(result.details["examples"][0]["expected"] - 0.1)
    assert check(model, golden, target="expected", task="regression", tolerance=0.2).status == "pass"
    # rows 5 and 6 predict about 104 and 83: 0.1 off is within 0.2 %, not within 0.1 %
    relative = check(model, golden, target="expected", task="regression", rel_tolerance=2e-3)
    assert relative.status == "pass" and "+ 0.002 × |expected|" in relative.message
    assert check(model, golden, target="expected", task="regression", rel_tolerance=1e-3).status == "fail"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sets(st.integers(0, 49), max_size=50))
def test_the_count_of_differing_rows_is_exact(diabetes_model: Any, rows: set[int]) -> None:
    X, model = diabetes_model
    golden = golden_from(model, X)
    golden.loc[sorted(rows), "expected"] += 1.0
    result = check(model, golden, target="expected", task="regression")
    assert result.details["differ"] == len(rows)
    assert [e["row"] for e in result.details["examples"]] == sorted(rows)[:5]
    assert result.status == ("fail" if rows else "pass")


def test_a_missing_target_or_feature_is_an_error_naming_the_column(
    registry: Any, breast_cancer: Any, sk_model: Any
) -> None:
    X, _ = breast_cancer
    golden = golden_from(sk_model, X)
    no_target = check(sk_model, golden, target="label", task="binary")
    assert no_target.status == "error"
    assert no_target.message == "the golden set has no column 'label' with the expected outputs"

    mv = mlgate.log_model(sk_model, "bc", sample_input=X.head(5), registry=registry)
    model = mlgate.load_model(mv.ref, registry=registry)
    for candidate in (model, sk_model):
        result = check(candidate, golden.drop(columns=["worst area"]), target="expected", task="binary")
        assert result.status == "error"
        assert result.message == "the golden set is missing the feature column 'worst area'"


def test_a_model_that_fails_on_the_golden_set_is_an_error(breast_cancer: Any, sk_model: Any) -> None:
    X, _ = breast_cancer
    golden = golden_from(sk_model, X)
    golden["mean radius"] = "large"
    result = check(sk_model, golden, target="expected", task="binary")
    assert result.status == "error"
    assert result.message.startswith("the model raised ValueError on the golden set")


def test_an_empty_golden_set_is_an_error(breast_cancer: Any, sk_model: Any) -> None:
    X, _ = breast_cancer
    golden = golden_from(sk_model, X).head(0)
    result = check(sk_model, golden, target="expected", task="binary")
    assert (result.status, result.message) == ("error", "the golden set has no rows")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tolerance": -1.0}, r"'tolerance' must be a number >= 0, got -1\.0"),
        ({"tolerance": "tight"}, r"'tolerance' must be a number >= 0, got 'tight'"),
        ({"rel_tolerance": float("nan")}, r"'rel_tolerance' must be a number >= 0"),
        ({"task": "ranking"}, r"task must be one of binary, multiclass, regression, got 'ranking'"),
    ],
)
def test_bad_options_raise_naming_the_key(breast_cancer: Any, sk_model: Any, kwargs: Any, match: str) -> None:
    X, _ = breast_cancer
    options = {"target": "expected", "task": "binary", **kwargs}
    with pytest.raises(ConfigError, match=match):
        check(sk_model, golden_from(sk_model, X), **options)


def test_example_rows_stay_json_ready_whatever_the_index(breast_cancer: Any, sk_model: Any) -> None:
    import json

    import pandas as pd

    X, _ = breast_cancer
    golden = golden_from(sk_model, X, rows=10)
    golden.index = pd.date_range("2026-01-01", periods=10, freq="D")
    golden.iloc[4, golden.columns.get_loc("expected")] = 7
    result = check(sk_model, golden, target="expected", task="binary")
    assert result.details["examples"][0]["index"] == "2026-01-05 00:00:00"
    assert json.loads(json.dumps(result.to_dict()))["details"]["examples"][0]["row"] == 4


def test_a_nan_expected_value_never_matches_a_number(diabetes_model: Any) -> None:
    X, model = diabetes_model
    golden = golden_from(model, X, rows=10)
    golden.loc[2, "expected"] = np.nan
    result = check(model, golden, target="expected", task="regression")
    assert result.status == "fail"
    assert result.details["examples"] == [
        {"row": 2, "index": 2, "expected": "nan", "got": pytest.approx(model.predict(X.head(10))[2])}
    ]
