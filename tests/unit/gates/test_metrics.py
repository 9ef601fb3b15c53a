"""Gate metrics: every one agrees with sklearn, its additive statistics rebuild it under any weighting,
the rank buckets stay within their documented bound, and bad names or inputs fail saying why."""

from __future__ import annotations

import itertools
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlgate.errors import ConfigError, InputError, UsageError
from mlgate.gates.metrics import MAX_BUCKETS, METRICS, TASKS, get_metric, metrics_for
from mlgate.gates.types import Pred

Case = tuple[np.ndarray, Pred]


def _classifier_case(X: np.ndarray, y: np.ndarray, model: object) -> Case:
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    proba = cross_val_predict(model, X, y, cv=cv, method="predict_proba")
    return y.astype(np.int64), Pred(label=proba.argmax(axis=1).astype(np.int64), proba=proba)


@pytest.fixture(scope="module")
def binary() -> Case:
    """Out-of-fold GaussianNB on the breast-cancer data: imperfect, with extreme probabilities."""
    X, y = load_breast_cancer(return_X_y=True)
    return _classifier_case(X, y, GaussianNB())


@pytest.fixture(scope="module")
def multiclass() -> Case:
    """Out-of-fold logistic regression on the digits (10 classes)."""
    X, y = load_digits(return_X_y=True)
    return _classifier_case(X, y, make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)))


@pytest.fixture(scope="module")
def regression() -> Case:
    X, y = load_diabetes(return_X_y=True)
    value = cross_val_predict(Ridge(alpha=0.1), X, y, cv=KFold(5, shuffle=True, random_state=0))
    return y, Pred(value=value)


@pytest.fixture
def case(request: pytest.FixtureRequest) -> Case:
    return request.getfixturevalue(request.param)


def ece_reference(y: np.ndarray, proba: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error, written out the textbook way."""
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        in_bin = (confidence > lo) & (confidence <= hi)
        if in_bin.any():
            total += in_bin.mean() * abs(confidence[in_bin].mean() - correct[in_bin].mean())
    return total


def _binary_or_ovr(y: np.ndarray, proba: np.ndarray) -> float:
    if proba.shape[1] == 2:
        return skm.roc_auc_score(y, proba[:, 1])
    return skm.roc_auc_score(y, proba, multi_class="ovr")


def _brier(y: np.ndarray, proba: np.ndarray) -> float:
    if proba.shape[1] == 2:
        return skm.brier_score_loss(y, proba[:, 1])
    return skm.brier_score_loss(y, proba, labels=list(range(proba.shape[1])))


SKLEARN: dict[str, Callable[[np.ndarray, Pred], float]] = {
    "accuracy": lambda y, p: skm.accuracy_score(y, p.label),
    "balanced_accuracy": lambda y, p: skm.balanced_accuracy_score(y, p.label),
    "precision": lambda y, p: skm.precision_score(y, p.label, zero_division=0),
    "recall": lambda y, p: skm.recall_score(y, p.label, zero_division=0),
    "f1": lambda y, p: skm.f1_score(y, p.label, zero_division=0),
    "roc_auc": lambda y, p: _binary_or_ovr(y, p.proba),
    "pr_auc": lambda y, p: skm.average_precision_score(y, p.proba[:, 1]),
    "log_loss": lambda y, p: skm.log_loss(y, p.proba, labels=list(range(p.proba.shape[1]))),
    "brier": lambda y, p: _brier(y, p.proba),
    "ece": lambda y, p: ece_reference(y, p.proba),
    "mae": lambda y, p: skm.mean_absolute_error(y, p.value),
    "rmse": lambda y, p: skm.root_mean_squared_error(y, p.value),
    "r2": lambda y, p: skm.r2_score(y, p.value),
    "mape": lambda y, p: skm.mean_absolute_percentage_error(y, p.value),
}
for _kind in ("precision", "recall", "f1"):
    for _avg in ("macro", "weighted"):
        SKLEARN[f"{_kind}_{_avg}"] = lambda y, p, k=_kind, a=_avg: getattr(skm, f"{k}_score")(
            y, p.label, average=a, zero_division=0
        )

PAIRS = [(task, name) for name, m in METRICS.items() for task in TASKS if task in m.tasks]


def test_the_catalogue_holds_every_metric_of_the_design() -> None:
    assert set(METRICS) == set(SKLEARN)
    assert {m.needs for m in METRICS.values()} == {"label", "proba", "value"}
    lower_is_better = {n for n, m in METRICS.items() if not m.higher_is_better}
    assert lower_is_better == {"log_loss", "brier", "ece", "mae", "rmse", "mape"}
    assert metrics_for("regression") == ["mae", "rmse", "r2", "mape"]
    assert "pr_auc" in metrics_for("binary") and "pr_auc" not in metrics_for("multiclass")


@pytest.mark.parametrize(("case", "name"), PAIRS, indirect=["case"], ids=[f"{t}-{n}" for t, n in PAIRS])
def test_compute_agrees_with_sklearn(case: Case, name: str) -> None:
    y, p = case
    assert METRICS[name].compute(y, p) == pytest.approx(SKLEARN[name](y, p), abs=1e-9)


@pytest.mark.parametrize(("case", "name"), PAIRS, indirect=["case"], ids=[f"{t}-{n}" for t, n in PAIRS])
def test_statistics_summed_over_groups_give_the_exact_value(case: Case, name: str) -> None:
    y, p = case
    metric = METRICS[name]
    if not metric.additive(p):
        assert name == "roc_auc" and p.proba.shape[1] > 2  # multiclass AUC: the documented exception
        with pytest.raises(UsageError, match="no additive statistics"):
            metric.sums(y, p, np.zeros(y.size, np.int64), 1)
        return
    groups = np.random.default_rng(0).integers(0, 7, y.size)
    s = metric.sums(y, p, groups, 7)
    assert s.shape[0] == 7
    assert float(metric.from_sums(s.sum(axis=0))) == pytest.approx(metric.compute(y, p), abs=1e-9)


def _random_case(task: str, n: int, seed: int) -> Case:
    rng = np.random.default_rng(seed)
    if task == "regression":
        y = rng.normal(size=n)
        return y, Pred(value=y + rng.normal(scale=0.5, size=n))
    k = 2 if task == "binary" else 3
    y = np.arange(n) % k  # every class present
    rng.shuffle(y)
    logits = rng.normal(size=(n, k)) + np.eye(k)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    proba = np.round(proba, 2)  # ties in the scores
    proba /= proba.sum(axis=1, keepdims=True)
    return y.astype(np.int64), Pred(label=proba.argmax(axis=1), proba=proba)


@settings(max_examples=40, deadline=None)
@given(
    task=st.sampled_from(["binary", "multiclass", "regression"]),
    seed=st.integers(0, 2**16),
    weights=st.lists(st.integers(0, 3), min_size=6, max_size=40),
)
def test_weighted_statistics_equal_the_metric_on_repeated_rows(task: str, seed: int, weights: list[int]) -> None:
    """The invariant the bootstrap rests on: from_sums(w @ S) is the metric of the rows repeated w times."""
    y, p = _random_case(task, len(weights), seed)
    w = np.array(weights)
    index = np.repeat(np.arange(y.size), w)
    for name in metrics_for(task):
        metric = METRICS[name]
        if not metric.additive(p):
            continue
        try:
            expected = metric.compute(y[index], p.take(index))
        except InputError:
            continue  # the repeated rows leave it undefined (no rows, or one class for AUC)
        s = metric.sums(y, p, np.arange(y.size), y.size)
        assert float(metric.from_sums(w @ s)) == pytest.approx(expected, abs=1e-9), name


def _continuous_scores(n: int, seed: int) -> Case:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    score = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.8 * y - 0.9)))
    return y, Pred(label=(score > 0.5).astype(np.int64), proba=np.column_stack([1 - score, score]))


@pytest.mark.parametrize(("name", "limit"), [("roc_auc", 5e-4), ("pr_auc", 2e-2)])
def test_rank_buckets_stay_within_the_documented_bound(name: str, limit: float) -> None:
    y, p = _continuous_scores(20_000, seed=1)
    metric = METRICS[name]
    s = metric.sums(y, p, np.zeros(y.size, np.int64), 1)
    assert s.shape[1] <= 2 * MAX_BUCKETS
    bucketed, exact = float(metric.from_sums(s[0])), metric.compute(y, p)
    bound = metric.bucket_error(y, p)
    assert 0 < bound <= limit
    assert abs(bucketed - exact) <= bound
    assert exact == pytest.approx(SKLEARN[name](y, p), abs=1e-9)


@pytest.mark.parametrize("name", ["roc_auc", "pr_auc"])
def test_at_most_2048_distinct_scores_are_bucketed_exactly(name: str) -> None:
    y, p = _continuous_scores(20_000, seed=2)
    score = np.round(p.proba[:, 1], 3)  # ≤ 1001 distinct values, many ties
    p = Pred(proba=np.column_stack([1 - score, score]))
    metric = METRICS[name]
    s = metric.sums(y, p, np.zeros(y.size, np.int64), 1)
    assert s.shape[1] == 2 * np.unique(score).size
    assert metric.bucket_error(y, p) == 0.0
    assert float(metric.from_sums(s[0])) == pytest.approx(SKLEARN[name](y, p), abs=1e-12)


def test_quantile_buckets_never_split_tied_scores() -> None:
    rng = np.random.default_rng(3)
    score = np.concatenate([rng.random(10_000), np.full(3_000, 0.5), np.full(2_000, 0.25)])
    y = (rng.random(score.size) < 0.4).astype(np.int64)
    p = Pred(proba=np.column_stack([1 - score, score]))
    s = METRICS["roc_auc"].sums(y, p, np.arange(score.size), score.size)
    bucket = s.argmax(axis=1) % (s.shape[1] // 2)  # each row's bucket (one count per row)
    assert np.unique(bucket[score == 0.5]).size == 1 and np.unique(bucket[score == 0.25]).size == 1
    order = np.argsort(score, kind="stable")
    assert (np.diff(bucket[order]) >= 0).all()  # buckets ascend with the score
    assert s.shape[1] // 2 <= MAX_BUCKETS


def test_ece_reference_sees_miscalibration() -> None:
    y = np.array([1, 0, 1, 0] * 25)
    proba = np.tile([[0.1, 0.9]], (100, 1))  # 90% confident, 50% right
    assert METRICS["ece"].compute(y, Pred(proba=proba)) == pytest.approx(0.4, abs=1e-12)


# -- names -------------------------------------------------------------------------------------------


def test_unknown_metric_suggests_close_names_and_lists_the_task_metrics() -> None:
    with pytest.raises(ConfigError, match=r"mlgate\.yaml, gates\[1\]: unknown metric 'roc_acu'") as err:
        get_metric("roc_acu", "binary", where="mlgate.yaml, gates[1]")
    assert "did you mean 'roc_auc'" in str(err.value)
    assert "pr_auc" in str(err.value) and "rmse" not in str(err.value)


@pytest.mark.parametrize(
    ("name", "task", "says"),
    [
        ("rmse", "binary", "'rmse' does not fit a binary task: it fits regression tasks"),
        ("roc_auc", "regression", "it fits binary and multiclass tasks"),
        ("pr_auc", "multiclass", "it fits binary tasks"),
    ],
)
def test_a_metric_that_does_not_fit_the_task_says_which_tasks_it_fits(name: str, task: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        get_metric(name, task)


def test_a_binary_metric_on_a_multiclass_task_points_to_its_averages() -> None:
    with pytest.raises(ConfigError, match="fits binary tasks") as err:
        get_metric("f1", "multiclass")
    assert "use f1_macro or f1_weighted" in str(err.value)


def test_unknown_task_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown task 'ranking'"):
        get_metric("accuracy", "ranking")


# -- custom metrics ----------------------------------------------------------------------------------


@pytest.fixture
def custom_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"custom_metrics_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            import numpy as np

            def error_rate(y_true, y_pred):
                return float(np.mean(y_true != y_pred))
            error_rate.higher_is_better = False

            def top_score(y_true, proba):
                return float(proba.ndim)  # 1 for a binary task: the positive-class column
            top_score.needs = "proba"

            def bad_needs(y_true, y_pred):
                return 0.0
            bad_needs.needs = "logits"

            not_a_function = 3
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_custom_metric_by_import_path(custom_module: str, binary: Case) -> None:
    y, p = binary
    metric = get_metric(f"{custom_module}:error_rate", "multiclass")
    assert metric.higher_is_better is False and metric.needs == "label"
    assert metric.compute(y, p) == pytest.approx(1 - skm.accuracy_score(y, p.label))
    assert not metric.additive(p)
    assert get_metric(f"{custom_module}:top_score", "binary").compute(y, p) == 1.0
    with pytest.raises(ConfigError, match="fits binary and multiclass tasks"):
        get_metric(f"{custom_module}:error_rate", "regression")


@pytest.mark.parametrize(
    ("attr", "says"),
    [("bad_needs", "has needs='logits'"), ("not_a_function", "has no function 'not_a_function'")],
)
def test_broken_custom_metrics_are_config_errors(custom_module: str, attr: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        get_metric(f"{custom_module}:{attr}", "binary", where="gates[0]")


def test_unimportable_custom_metric_names_the_path() -> None:
    with pytest.raises(ConfigError, match=r"cannot import the module of custom metric 'no_such_pkg\.mod:fn'"):
        get_metric("no_such_pkg.mod:fn", "binary")


# -- inputs ------------------------------------------------------------------------------------------


def test_roc_auc_on_one_class_is_undefined(binary: Case) -> None:
    y, p = binary
    ones = y == 1
    with pytest.raises(InputError, match=r"roc_auc is undefined .* found 357 positive and 0 negative"):
        METRICS["roc_auc"].compute(y[ones], p.take(ones))


def test_multiclass_auc_with_an_absent_class_is_undefined(multiclass: Case) -> None:
    y, p = multiclass
    keep = y != 7
    with pytest.raises(InputError, match="classes without rows: \\[7\\]"):
        METRICS["roc_auc"].compute(y[keep], p.take(keep))


def test_probability_metric_without_probabilities(binary: Case) -> None:
    y, p = binary
    with pytest.raises(InputError, match="log_loss needs predicted probabilities; the model gave none"):
        METRICS["log_loss"].compute(y, Pred(label=p.label))


def test_mismatched_lengths_and_bad_values_are_input_errors(binary: Case, regression: Case) -> None:
    y, p = binary
    with pytest.raises(InputError, match="569 true values but 568 predictions"):
        METRICS["accuracy"].compute(y, p.take(slice(1, None)))
    with pytest.raises(InputError, match="probabilities contain NaN"):
        METRICS["brier"].compute(y, Pred(proba=np.where(np.arange(y.size)[:, None] == 3, np.nan, p.proba)))
    with pytest.raises(InputError, match="f1 is a binary metric"):
        METRICS["f1"].compute(np.array([0, 1, 2]), Pred(label=np.array([0, 1, 2])))
    yr, _ = regression
    with pytest.raises(InputError, match="contain NaN or infinity"):
        METRICS["rmse"].compute(yr, Pred(value=np.full(yr.size, np.inf)))
