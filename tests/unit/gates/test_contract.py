"""The input-contract check: rows stored at registration, scored again the way serving parses them.

Real models on real data: scikit-learn's breast-cancer set for array-trained models (which read their
input by position) and a small churn-like table for a model that reads pandas category codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlgate
from mlgate.config import load_settings
from mlgate.contract import CONTRACT_FILE, read_contract
from mlgate.gates import contract
from mlgate.gates.evaluate import gate
from mlgate.registry.store import Registry
from tests.unit.gates.zoo_models import CategoryCodes

CONFIG = """
registry: sqlite:///{root}/registry.db
artifacts: {root}/artifacts
data: {{eval: {eval}, target: target}}
trust: {{run_code: {{models: [churn]}}}}  # CategoryCodes is a pyfunc model
gates:
  - {{metric: accuracy, vs: production, max_drop: 0.05}}
"""


def _project(tmp: Path, test: pd.DataFrame) -> Registry:
    test.to_parquet(tmp / "eval.parquet", index=False)
    (tmp / "mlgate.yaml").write_text(CONFIG.format(root=tmp, eval=tmp / "eval.parquet"))
    return Registry(settings=load_settings(config=tmp / "mlgate.yaml"))


@pytest.fixture(scope="module")
def cancer(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame, Registry, Path]:
    tmp = tmp_path_factory.mktemp("contract-cancer")
    frame = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.5, random_state=0, stratify=frame["target"])
    reg = _project(tmp, test)
    X, y = train.drop(columns="target"), train["target"]
    champion = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
    mv = mlgate.log_model(champion, "cancer", sample_input=X.head(20), registry=reg)
    reg.set_alias("cancer", "production", mv.number)
    return train, test, reg, tmp


def _by_position(train: pd.DataFrame, order: list[str]) -> tuple[Any, np.ndarray]:
    X = train[order].to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, train["target"])
    return model, X[:20]


def test_stored_at_registration_and_round_trip_passes(cancer: Any) -> None:
    """A frame-trained model: its sample and outputs are stored in its files, and serving gives them back."""
    _, _, reg, tmp = cancer
    mv = reg.get("cancer@production")
    assert CONTRACT_FILE in mv.manifest
    result = gate(mv.ref, config=tmp / "mlgate.yaml", registry=reg, store=False)
    check = next(c for c in result.checks if c.name == "input contract")
    assert check.status == "pass", check.message
    assert "20 rows" in check.message


def test_positional_model_fed_another_column_order_is_input_mismatch(cancer: Any) -> None:
    """Trained on an array with two columns swapped: the gate leads with input mismatch and names them."""
    train, _, reg, tmp = cancer
    features = [c for c in train.columns if c != "target"]
    swapped = list(features)
    a, b = features.index("mean area"), features.index("mean smoothness")
    swapped[a], swapped[b] = swapped[b], swapped[a]
    model, sample = _by_position(train, swapped)
    mv = mlgate.log_model(model, "cancer", sample_input=sample, registry=reg)
    result = gate(mv.ref, config=tmp / "mlgate.yaml", registry=reg, store=False)
    check = next(c for c in result.checks if c.name == "input contract")
    assert check.status == "fail" and check.reason == "input mismatch", check.message
    assert set(check.details["columns"]) >= {"mean area", "mean smoothness"}
    assert "'mean area'" in check.message and "by position" in check.message
    assert result.report["reasons"][0]["class"] == "input mismatch"


def test_positional_model_in_its_own_order_passes(cancer: Any) -> None:
    """The same kind of model trained in the evaluation data's own order is not flagged."""
    train, _, reg, tmp = cancer
    features = [c for c in train.columns if c != "target"]
    model, sample = _by_position(train, features)
    mv = mlgate.log_model(model, "cancer", sample_input=sample, registry=reg)
    result = gate(mv.ref, config=tmp / "mlgate.yaml", registry=reg, store=False)
    check = next(c for c in result.checks if c.name == "input contract")
    assert check.status == "pass", check.message


def _churn(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "pro", "enterprise"], size=rows, p=[0.4, 0.3, 0.2, 0.1])
    x = rng.normal(size=rows)
    effect = pd.Series(plan).map({"basic": 1.5, "plus": 0.5, "pro": -0.5, "enterprise": -1.5}).to_numpy()
    y = (effect + x + rng.normal(scale=0.5, size=rows) > 0).astype(int)
    order = pd.CategoricalDtype(["basic", "plus", "pro", "enterprise"])  # not alphabetical
    return pd.DataFrame({"plan": pd.Series(plan, dtype=order), "x": x, "target": y})


def test_category_codes_that_serving_reorders_are_input_mismatch(tmp_path: Path) -> None:
    """A model reading category codes: JSON strings parsed into fresh categories score other rows."""
    train, test = _churn(2_000, 1), _churn(1_000, 2)
    reg = _project(tmp_path, test)
    X = train.drop(columns="target")
    inner = LogisticRegression().fit(X.assign(plan=X["plan"].cat.codes.astype(float)), train["target"])
    mv = mlgate.log_model(CategoryCodes(inner, "plan"), "churn", sample_input=X.head(30), registry=reg)
    doc = read_contract(reg.materialize(mv))
    assert doc is not None and doc["columns"][0]["categories"] == ["basic", "plus", "pro", "enterprise"]
    result = gate(mv.ref, config=tmp_path / "mlgate.yaml", registry=reg, store=False)
    check = next(c for c in result.checks if c.name == "input contract")
    assert check.status == "fail" and check.reason == "input mismatch", check.message
    assert check.details["restores"] == ["plan"]
    assert "'plan' trained as category ['basic', 'plus', 'pro', 'enterprise']" in check.message


def test_version_without_a_stored_sample_is_skipped(cancer: Any) -> None:
    """A version registered before contracts existed: skipped with the reason, never an error."""
    _, _, reg, _ = cancer
    model = mlgate.load_model("cancer@production", registry=reg)
    (model.path / CONTRACT_FILE).unlink()
    check = contract.check(model, None)
    assert check.status == "skip" and "re-register" in check.message
