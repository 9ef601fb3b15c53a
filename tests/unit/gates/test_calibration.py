"""Calibration change checks: a candidate whose probabilities are sharpened is blocked as ``calibration worse``.

Real models: logistic regressions on a noisy synthetic binary table (10% of labels flipped), the champion and an
equal retrain each fitted on a 90% sample; the over-confident candidate is the same kind of model with its
logits divided by a temperature of 0.3, so its labels, accuracy and ROC AUC are unchanged and only its
probabilities are worse. All are gated with the task's default gates (no ``gates:`` section).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

import mlgate
from mlgate.config import load_settings
from mlgate.gates.evaluate import CALIBRATION_METRICS, _change, gate
from mlgate.gates.metrics import get_metric
from mlgate.gates.spec import DEFAULT_GATES, GateSpec
from mlgate.gates.types import Pred
from mlgate.registry.store import Registry

COLUMNS = [f"x{i}" for i in range(8)]


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Reports of an equal retrain and of a sharpened retrain against a logistic regression at production."""
    tmp = tmp_path_factory.mktemp("calibration")
    X, y = make_classification(n_samples=3000, n_features=8, n_informative=5, flip_y=0.1, class_sep=0.8, random_state=0)
    frame = pd.DataFrame(X, columns=COLUMNS).assign(target=y)
    train, test = frame.iloc[:1500], frame.iloc[1500:]
    test.to_csv(tmp / "eval.csv", index=False)
    (tmp / "mlgate.yaml").write_text(
        f"registry: sqlite:///{tmp}/registry.db\nartifacts: {tmp}/artifacts\n"
        f"data: {{eval: {tmp / 'eval.csv'}, target: target}}\n"
    )
    settings = load_settings(config=tmp / "mlgate.yaml")
    reg = Registry(settings=settings)
    Xt, yt = train[COLUMNS], train["target"]

    def retrain(seed: int, temperature: float = 1.0) -> Any:
        rows = np.random.default_rng(seed).choice(len(yt), int(0.9 * len(yt)), replace=False)
        model = LogisticRegression().fit(Xt.iloc[rows], yt.iloc[rows])
        model.coef_, model.intercept_ = model.coef_ / temperature, model.intercept_ / temperature
        return model

    mlgate.log_model(retrain(0), "churn", sample_input=Xt.head(5), registry=reg)
    reg.set_alias("churn", "production", 1)
    out: dict[str, Any] = {"tmp": tmp}
    for label, model in (("equal", retrain(2)), ("sharpened", retrain(1, temperature=0.3))):
        mv = mlgate.log_model(model, "churn", sample_input=Xt.head(5), registry=reg)
        out[label] = gate(mv.ref, config=settings, registry=reg, store=False)
    yield out
    reg.close()


def test_classification_defaults_hold_a_calibration_check() -> None:
    for task in ("binary", "multiclass"):
        assert any(g["metric"] in CALIBRATION_METRICS for g in DEFAULT_GATES[task]), task
    assert not any(g["metric"] in CALIBRATION_METRICS for g in DEFAULT_GATES["regression"])


def test_sharpened_probabilities_are_blocked_as_calibration_worse(gated: Any) -> None:
    result = gated["sharpened"]
    assert not result.passed and result.exit_code == 1
    checks = {c.name: c for c in result.checks}
    brier = checks["brier vs production"]
    assert brier.blocking and brier.reason == "calibration worse", brier.message
    assert brier.delta is not None and brier.delta > 0 and "rise" in brier.message
    # the labels did not move: accuracy and ROC AUC pass, so calibration is the only reason
    assert checks["accuracy vs production"].status == "pass"
    assert checks["roc_auc vs production"].status == "pass"
    assert result.report["reasons"][0]["class"] == "calibration worse"
    assert result.report["checks"][[c.name for c in result.checks].index("brier vs production")]["reason"] == (
        "calibration worse"
    )


def test_an_equal_retrain_passes_the_calibration_check(gated: Any) -> None:
    result = gated["equal"]
    assert result.passed, [c.message for c in result.checks if c.blocking]
    brier = next(c for c in result.checks if c.name == "brier vs production")
    assert brier.status == "pass" and brier.reason is None


@pytest.mark.parametrize("name", sorted(CALIBRATION_METRICS))
def test_every_calibration_metric_blocks_as_calibration_worse(name: str) -> None:
    """A change gate on log loss, Brier or ECE whose harm is shown carries `calibration worse`, not aggregate drop."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 4000)
    good = np.where(y == 1, 0.7, 0.3)
    bad = np.where(rng.random(4000) < 0.5, 0.99, 0.01)  # confident and right only by chance
    preds = [Pred(label=(p > 0.5).astype(np.int64), proba=np.column_stack([1 - p, p])) for p in (bad, good)]

    ev = SimpleNamespace(y=y, candidate=preds[0], champion=preds[1])  # the fields _change reads
    spec = GateSpec("change", f"{name} vs production", metric=name, vs="production", max_drop=0.01, resamples=200)
    check = _change(spec, get_metric(name, "binary"), ev, {})  # type: ignore[arg-type]
    assert check.status == "fail" and check.reason == "calibration worse", check.message


def test_slice_rows_have_three_outcomes(gated: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """An equal retrain cut by x0 at max_drop 0: slices whose interval reaches below 0 are undecided, not failing."""
    from mlgate.cli.gate import render
    from mlgate.report.gate_view import markdown

    tmp = gated["tmp"]
    text = (tmp / "mlgate.yaml").read_text()
    (tmp / "slices.yaml").write_text(
        text + "gates:\n  - {metric: accuracy, vs: production, slices: [x0], max_drop: 0, min_rows: 50}\n"
    )
    settings = load_settings(config=tmp / "slices.yaml")
    reg = Registry(settings=settings)
    try:
        result = gate("churn:2", config=settings, registry=reg, store=False)
    finally:
        reg.close()
    rows = [r for r in result.report["slices"] if r["status"] != "skip"]
    assert {r["status"] for r in rows} <= {"pass", "fail", "undecided"}
    undecided = [r for r in rows if r["status"] == "undecided"]
    assert undecided, rows
    for r in undecided:
        assert r["blocks"] is False and "does not block" in r["note"] and r["ci"][0] < -r["max_drop"]
    assert result.passed and all(r["blocks"] is (r["status"] == "fail") for r in rows)
    md = markdown(result.report)
    assert "⚠️ undecided" in md and f"{len(undecided)} undecided" in md
    render(result.report)  # the terminal lists undecided slices after the failing ones, with their verdict
    out = capsys.readouterr().out
    assert "slices that regressed or are undecided" in out and "undecided" in out
