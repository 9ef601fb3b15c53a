"""mlgate.testing in a user's suite: good models pass, each fault fails with a line that names it and its rows."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mlgate
from mlgate.errors import UsageError
from mlgate.testing import (
    DEFAULT_CHECKS,
    assert_batch_invariant,
    assert_column_order_robust,
    assert_deterministic,
    assert_no_nan,
    assert_probabilities_valid,
    check_model,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "test_model_example.py"


@pytest.fixture(scope="module")
def diabetes() -> tuple[Any, Any]:
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="module")
def ridge(diabetes: tuple[Any, Any]) -> Any:
    from sklearn.linear_model import Ridge

    X, y = diabetes
    return Ridge(alpha=0.1).fit(X, y)


class NanOnHighBmi:
    """Returns NaN where ``bmi`` is above a cut-off, as a log transform of a shifted feature would."""

    def __init__(self, est: Any) -> None:
        self.est = est

    def predict(self, X: Any) -> Any:
        out = self.est.predict(X[self.est.feature_names_in_]).astype(float)  # columns by name, in fit order
        out[X["bmi"].to_numpy() > 0.1] = np.nan
        return out


class Noisy:
    """Adds fresh random noise to every prediction (dropout left on, say)."""

    def __init__(self, est: Any) -> None:
        self.est, self.rng = est, np.random.default_rng()

    def predict(self, X: Any) -> Any:
        return self.est.predict(X) + self.rng.normal(0, 1.0, len(X))


class NanAndNoisy(NanOnHighBmi):
    def __init__(self, est: Any) -> None:
        super().__init__(est)
        self.rng = np.random.default_rng()

    def predict(self, X: Any) -> Any:
        return super().predict(X) + self.rng.normal(0, 1.0, len(X))


class ClinicAsText:
    """Encodes an integer ``clinic`` column through its text: "1" is known, "1.0" silently is not."""

    def __init__(self, est: Any, effects: dict[str, float]) -> None:
        self.est, self.effects = est, effects

    def predict(self, X: Any) -> Any:
        bump = X["clinic"].astype(str).map(self.effects).fillna(0.0).to_numpy()
        return self.est.predict(X[self.est.feature_names_in_]) + bump


class DoubleOnly:
    """Refuses anything but float64, as an ONNX session built for doubles does."""

    def __init__(self, est: Any) -> None:
        self.est = est

    def predict(self, X: Any) -> Any:
        wrong = sorted({str(t) for t in X.dtypes if str(t) != "float64"})
        if wrong:
            raise TypeError(f"unexpected input type {wrong[0]}, expected double")
        return self.est.predict(X)


def statuses(checks: list[Any]) -> dict[str, str]:
    return {c.name: c.status for c in checks}


def test_a_good_sklearn_model_passes_every_default_check(breast_cancer: Any, sk_model: Any) -> None:
    X, _ = breast_cancer
    checks = check_model(sk_model, X)
    assert statuses(checks) == dict.fromkeys(DEFAULT_CHECKS, "pass")
    assert checks[0].rows == len(X)


def test_a_regression_model_passes_and_its_task_is_inferred(diabetes: Any, ridge: Any) -> None:
    X, _ = diabetes
    checks = check_model(ridge, X, checks=[*DEFAULT_CHECKS, "probabilities sum to 1"])
    assert statuses(checks) == {**dict.fromkeys(DEFAULT_CHECKS, "pass"), "probabilities sum to 1": "skip"}


def test_a_registry_reference_and_a_loaded_model_work(breast_cancer: Any, sk_model: Any) -> None:
    X, _ = breast_cancer
    reg = mlgate.Registry()  # the default registry of the current folder, which a reference resolves to
    try:
        mv = mlgate.log_model(sk_model, "bc", sample_input=X.head(5), registry=reg)
        loaded = mlgate.load_model(mv.ref, registry=reg)
    finally:
        reg.close()
    assert statuses(check_model(mv.ref, X)) == dict.fromkeys(DEFAULT_CHECKS, "pass")
    assert statuses(check_model(loaded, X, checks=["column order"])) == {"column order": "pass"}


def test_a_polars_sample_works(breast_cancer: Any, sk_model: Any) -> None:
    import polars as pl

    X, _ = breast_cancer
    assert statuses(check_model(sk_model, pl.from_pandas(X.head(100)))) == dict.fromkeys(DEFAULT_CHECKS, "pass")


def test_nan_outputs_fail_naming_finite_outputs_and_the_rows(diabetes: Any, ridge: Any) -> None:
    X, _ = diabetes
    with pytest.raises(AssertionError, match=r"finite outputs: .+") as info:
        check_model(NanOnHighBmi(ridge), X)
    nan_rows = np.flatnonzero(X["bmi"].to_numpy() > 0.1).tolist()
    shown = ", ".join(map(str, nan_rows[:5]))
    assert str(info.value) == (
        "1 of 6 model checks failed:\n"
        f"  finite outputs: {len(nan_rows)} of {len(X)} rows give NaN or infinite predictions "
        f"(rows {shown} and {len(nan_rows) - 5} more)"
    )
    with pytest.raises(AssertionError, match=rf"finite outputs: {len(nan_rows)} of {len(X)} rows"):
        assert_no_nan(NanOnHighBmi(ridge), X)


def test_a_nondeterministic_model_fails_deterministic(diabetes: Any, ridge: Any) -> None:
    X, _ = diabetes
    with pytest.raises(AssertionError, match=r"1 of 6 model checks failed:\n  deterministic: predicting the same"):
        check_model(Noisy(ridge), X)
    with pytest.raises(AssertionError, match=r"deterministic: .+ different outputs in \d+ rows"):
        assert_deterministic(Noisy(ridge), X)


def test_a_column_order_dependent_model_fails_with_the_explanation(breast_cancer: Any) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = breast_cancer
    positional = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X.to_numpy(), y)
    expected = re.escape(
        "column order: predictions change when the input columns are reordered: the model reads its input by "
        "position (it was fitted on an array, without column names), not by column name; fit it on a DataFrame "
        "so that it knows its columns ("
    )
    with pytest.raises(AssertionError, match=expected):
        check_model(positional, X)
    with pytest.raises(AssertionError, match=expected):
        assert_column_order_robust(positional, X)
    # given as an array, the same model has no column names to misread
    assert statuses(check_model(positional, X.to_numpy()))["column order"] == "skip"


def test_every_failure_is_listed_at_once(diabetes: Any, ridge: Any) -> None:
    X, _ = diabetes
    with pytest.raises(AssertionError, match=r"^2 of 6 model checks failed:\n") as info:
        check_model(NanAndNoisy(ridge), X)
    lines = str(info.value).splitlines()[1:]
    assert [line.split(":")[0].strip() for line in lines] == ["finite outputs", "deterministic"]


def test_an_integer_column_read_through_its_text_fails_dtype_robustness(diabetes: Any, ridge: Any) -> None:
    X, _ = diabetes
    sample = X.assign(clinic=np.arange(len(X)) % 3)
    model = ClinicAsText(ridge, {"0": 0.0, "1": 5.0, "2": -5.0})
    with pytest.raises(
        AssertionError, match=r"dtype robustness: outputs change when integer columns arrive as float64 \(\d+ of 442"
    ):
        check_model(model, sample)


def test_a_model_refusing_float32_fails_dtype_robustness(diabetes: Any, ridge: Any) -> None:
    X, _ = diabetes
    with pytest.raises(
        AssertionError,
        match=r"dtype robustness: the model fails when float64 columns arrive as float32: TypeError: unexpected "
        r"input type float32, expected double",
    ):
        check_model(DoubleOnly(ridge), X, checks=["dtype robustness"])


def test_a_model_that_raises_is_reported_not_raised_through(breast_cancer: Any) -> None:
    X, _ = breast_cancer
    with pytest.raises(AssertionError, match=r"  finite outputs: \(error\) the model raised TypeError"):
        check_model(DoubleOnly(None), X.astype("float32"))


def test_batch_invariance_and_probabilities_helpers(breast_cancer: Any, sk_model: Any) -> None:
    from sklearn.svm import LinearSVC

    X, y = breast_cancer
    assert_batch_invariant(sk_model, X, rows=5)
    assert_probabilities_valid(sk_model, X)
    svc = LinearSVC().fit((X - X.mean()) / X.std(), y)
    with pytest.raises(
        AssertionError, match=r"probabilities sum to 1: \(skip\) the model gives no probabilities \(no predict_proba\)"
    ):
        assert_probabilities_valid(svc, X)


def test_an_unknown_check_name_is_a_usage_error(breast_cancer: Any, sk_model: Any) -> None:
    X, _ = breast_cancer
    with pytest.raises(UsageError, match=r"mlgate.testing knows no check 'determinism'"):
        check_model(sk_model, X, checks=["determinism"])


def test_importing_mlgate_testing_stays_light() -> None:
    code = (
        "import sys, mlgate.testing\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'sklearn', 'sqlalchemy', 'mlgate.gates') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_documented_example_file_passes_when_copied_into_a_suite(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(EXAMPLE, suite / "test_model.py")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "test_model.py", "-q", "-W", "error", "-p", "no:cacheprovider"],
        cwd=suite,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\b8 passed\b", proc.stdout), proc.stdout
