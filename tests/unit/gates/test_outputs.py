"""The gate keeps the candidate's outputs on the evaluation rows, with the labels, in the blob store.

Real logistic regressions on scikit-learn's breast-cancer set and a ridge on diabetes, a real SQLite registry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split

import mlgate
from mlgate.config import load_settings
from mlgate.gates import outputs
from mlgate.gates.evaluate import gate
from mlgate.registry.store import Registry


def _project(root: Path, frame: Any, model: Any, name: str) -> tuple[Registry, Any, Any]:
    train, test = train_test_split(frame, test_size=0.3, random_state=0)
    test.to_csv(root / "eval.csv", index=False)
    X, y = train.drop(columns=["target"]), train["target"]
    reg = Registry(f"sqlite:///{root / 'registry.db'}", artifacts=str(root / "artifacts"))
    mlgate.log_model(model.fit(X, y), name, sample_input=X.head(5), registry=reg)
    (root / "mlgate.yaml").write_text(f"data: {{eval: {root / 'eval.csv'}, target: target}}\n", encoding="utf-8")
    return reg, load_settings(config=root / "mlgate.yaml"), test


def test_binary_outputs_are_stored_with_labels_and_read_back(tmp_path: Path) -> None:
    frame = load_breast_cancer(as_frame=True).frame
    model = LogisticRegression(max_iter=5000)
    reg, settings, test = _project(tmp_path, frame, model, "bc")
    try:
        result = gate("bc:1", config=settings, registry=reg)
        entry = result.report["outputs"]
        assert entry["format"] == "npz" and entry["rows"] == len(test)
        stored = json.loads(reg.read_blob(result.record.report_digest))
        assert stored["outputs"] == entry  # named in the stored report, not only in the returned one
        got = outputs.load(reg, stored)
        assert got is not None and got.rows == len(test)
        X = test.drop(columns=["target"])
        want = model.predict_proba(X)
        assert got.proba is not None and np.allclose(got.proba, want, atol=1e-6)  # float32 kept
        assert got.label is not None and (got.label == want.argmax(axis=1)).all()
        assert got.classes == ["0", "1"]
        assert (got.y == test["target"].to_numpy()).all()
        assert len(reg.read_blob(entry["digest"])) < 40 * len(test)  # compact: under 40 bytes a row
    finally:
        reg.close()


def test_regression_outputs_are_values(tmp_path: Path) -> None:
    frame = load_diabetes(as_frame=True).frame
    model = Ridge()
    reg, settings, test = _project(tmp_path, frame, model, "db")
    try:
        result = gate("db:1", config=settings, registry=reg)
        got = outputs.load(reg, result.report)
        assert got is not None and got.proba is None and got.label is None and got.value is not None
        assert np.allclose(got.value, model.predict(test.drop(columns=["target"])))
        assert np.allclose(got.y, test["target"].to_numpy())
    finally:
        reg.close()


def test_a_report_from_before_outputs_were_kept_has_none() -> None:
    assert outputs.load(None, {"schema": "mlgate.gate-report/1", "task": "binary"}) is None
    assert outputs.load(None, {"outputs": {"format": "parquet-v9", "digest": "x"}}) is None


def test_no_store_writes_no_blob(tmp_path: Path) -> None:
    frame = load_breast_cancer(as_frame=True).frame
    reg, settings, _ = _project(tmp_path, frame, LogisticRegression(max_iter=5000), "bc")
    try:
        result = gate("bc:1", config=settings, registry=reg, store=False)
        assert "outputs" not in result.report
    finally:
        reg.close()
