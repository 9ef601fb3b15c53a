"""The regression zoo: real candidates on real bundled data, each with the verdict the gate must give.

Classification on scikit-learn's breast-cancer set (half held out for evaluation); the slice case on
the digits set (70% held out: a 2% aggregate change is about 25 rows, enough to be told from noise),
where mislabelled 3s hide in the aggregate accuracy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlgate
from mlgate.config import load_settings
from mlgate.gates.evaluate import gate
from mlgate.registry.store import Registry
from tests.unit.gates.zoo_models import NanOnLargeTumours

CLASSIFICATION_GATES = """
registry: sqlite:///{root}/registry.db
artifacts: {root}/artifacts
data: {{eval: {eval}, target: target}}
trust: {{run_code: {{models: [cancer]}}}}  # some candidates here are pyfunc models
gates:
  - {{metric: roc_auc, vs: production, max_drop: 0.02}}
  - {{metric: accuracy, vs: production, max_drop: 0.03}}
  - {{metric: accuracy, vs: production, slices: auto, max_drop: 0.05, min_rows: 30}}
"""

DIGITS_GATES = """
registry: sqlite:///{root}/registry.db
artifacts: {root}/artifacts
data: {{eval: {eval}, target: target}}
gates:
  - {{metric: accuracy, vs: production, max_drop: 0.05}}
  - {{metric: accuracy, vs: production, slices: auto, max_drop: 0.05, min_rows: 50}}
"""


def _project(tmp: Path, frame: pd.DataFrame, template: str, test_size: float = 0.5) -> tuple[Any, Any, Any]:
    train, test = train_test_split(frame, test_size=test_size, random_state=0, stratify=frame["target"])
    test.to_csv(tmp / "eval.csv", index=False)
    (tmp / "mlgate.yaml").write_text(template.format(root=tmp, eval=tmp / "eval.csv"))
    settings = load_settings(config=tmp / "mlgate.yaml")
    return settings, Registry(settings=settings), train


@pytest.fixture(scope="module")
def cancer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("zoo-cancer")
    frame = load_breast_cancer(as_frame=True).frame
    settings, reg, train = _project(tmp, frame, CLASSIFICATION_GATES)
    X, y = train.drop(columns=["target"]), train["target"]
    champion = RandomForestClassifier(n_estimators=300, random_state=0).fit(X, y)
    mlgate.log_model(champion, "cancer", sample_input=X.head(5), registry=reg)
    reg.set_alias("cancer", "production", 1)
    yield settings, reg, X, y
    reg.close()


def _candidate(cancer: Any, model: Any, sample: Any = None) -> Any:
    settings, reg, X, _ = cancer
    mv = mlgate.log_model(model, "cancer", sample_input=X.head(5) if sample is None else sample, registry=reg)
    return gate(mv.ref, config=settings, registry=reg)


def _blocking(result: Any) -> dict[str, Any]:
    return {c.name: c for c in result.checks if c.blocking}


def test_champion_retrained_with_another_seed_passes(cancer: Any) -> None:
    _, _, X, y = cancer
    result = _candidate(cancer, RandomForestClassifier(n_estimators=300, random_state=1).fit(X, y))
    assert result.passed, _blocking(result)
    slices = next(c for c in result.checks if c.kind == "slices")
    assert slices.details["evaluated"] >= 20, "automatic slices were really tested"


def test_slightly_better_candidate_passes(cancer: Any) -> None:
    _, _, X, y = cancer
    better = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000)).fit(X, y)
    result = _candidate(cancer, better)
    change = next(c for c in result.checks if c.name == "roc_auc vs production")
    assert change.delta > 0 and result.passed, _blocking(result)


def test_clearly_worse_candidate_fails(cancer: Any) -> None:
    _, _, X, y = cancer
    worse = RandomForestClassifier(n_estimators=5, max_depth=1, random_state=0).fit(X[["mean symmetry"]], y)
    result = _candidate(cancer, worse, sample=X[["mean symmetry"]].head(5))
    blocking = _blocking(result)
    assert not result.passed
    assert blocking["roc_auc vs production"].status == "fail"
    assert blocking["accuracy vs production"].delta < -0.1


def test_candidate_returning_nan_fails_with_the_rows(cancer: Any) -> None:
    _, _, X, y = cancer
    inner = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X, y)
    result = _candidate(cancer, NanOnLargeTumours(inner, threshold=20.0))
    blocking = _blocking(result)
    assert blocking["finite outputs"].status == "fail"
    assert "NaN" in blocking["roc_auc vs production"].message
    assert blocking["roc_auc vs production"].status == "error", "metrics on NaN outputs fail closed"
    assert result.exit_code == 1


def test_candidate_expecting_another_column_order_fails_clearly(cancer: Any) -> None:
    _, _, X, y = cancer
    reversed_X = X.to_numpy()[:, ::-1]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(reversed_X, y)
    result = _candidate(cancer, model, sample=reversed_X[:5])
    blocking = _blocking(result)
    assert "column order" in blocking
    message = blocking["column order"].message
    assert "by position" in message and "signature names the columns" in message
    assert blocking["roc_auc vs production"].status == "fail", "it also scores badly on named columns"


def test_slice_regression_hidden_in_the_aggregate_fails_on_the_slice(tmp_path: Path) -> None:
    frame = load_digits(as_frame=True).frame
    settings, reg, train = _project(tmp_path, frame, DIGITS_GATES, test_size=0.7)
    X, y = train.drop(columns=["target"]), train["target"]

    def forest(labels: pd.Series) -> Any:
        return RandomForestClassifier(n_estimators=200, random_state=0).fit(X, labels)

    faulty = y.copy()  # an annotator marked 30% of the training 3s as 8s
    threes = np.flatnonzero((y == 3).to_numpy())
    faulty.iloc[np.random.default_rng(0).choice(threes, int(len(threes) * 0.3), replace=False)] = 8
    with reg:
        mlgate.log_model(forest(y), "digits", sample_input=X.head(5), registry=reg)
        reg.set_alias("digits", "production", 1)
        mv = mlgate.log_model(forest(faulty), "digits", sample_input=X.head(5), registry=reg)
        result = gate(mv.ref, config=settings, registry=reg)
    by = {c.name: c for c in result.checks}
    aggregate, slices = by["accuracy vs production"], by["accuracy slices vs production"]
    assert aggregate.status == "pass" and -0.02 <= aggregate.delta < 0, aggregate.message
    assert slices.status == "fail" and not result.passed, slices.message
    assert slices.slice == "target = 3" and "'target = 3'" in slices.message
    assert slices.delta <= -0.10, "the slice dropped by 10 points or more"
    assert slices.details["evaluated"] > 100, "the regression was found among many automatic slices"
    failing = {s["slice"] for s in result.report["slices"] if s["status"] == "fail"}
    assert "target = 3" in failing


def test_first_model_marks_change_gates_skipped(tmp_path: Path) -> None:
    frame = load_breast_cancer(as_frame=True).frame
    settings, reg, train = _project(tmp_path, frame, CLASSIFICATION_GATES)
    X, y = train.drop(columns=["target"]), train["target"]
    with reg:
        mv = mlgate.log_model(
            LogisticRegression(max_iter=5000).fit(X, y), "first", sample_input=X.head(5), registry=reg
        )
        result = gate(mv.ref, config=settings, registry=reg)
    skipped = [c for c in result.checks if c.kind in ("change", "slices")]
    assert len(skipped) == 3 and all(c.status == "skip" and "no champion" in c.message for c in skipped)
    assert any("no champion" in n for n in result.report["notes"])
    assert result.passed
    assert np.isfinite(result.report["metrics"].get("roc_auc", {}).get("candidate", 1.0))
