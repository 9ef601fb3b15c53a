"""Estimated accuracy (CBPE) for more than two classes, from real wine classifiers gated on a real registry.

``wine:1`` holds production; ``wine:2`` is a healthy candidate (another regularization); ``wine:3`` was
trained with the labels of class 0 shuffled over the three classes. Each passed a lenient gate that kept
its evaluation outputs, so each has one isotonic map per class; the log holds the held-out rows served
again and again, with their probabilities, and no label at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlgate.config.sections import AnalysisConfig
from mlgate.delivery.analysis import FAIL, PASS, analyse, calibrations, read_log

YAML = """\
data: {eval: eval.csv, target: target}
gates:
  - {metric: accuracy, min: 0.3}
"""
T = datetime(2026, 5, 1, 10, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def wine() -> dict[str, Any]:
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = load_wine(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.5, random_state=0, stratify=frame["target"])
    X, y = train.drop(columns=["target"]), train["target"].to_numpy()
    shuffled = y.copy()
    zero = shuffled == 0
    shuffled[zero] = np.random.default_rng(0).integers(0, 3, int(zero.sum()))  # class 0's labels: any class

    def logistic(c: float, target: Any) -> Any:
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000)).fit(X, target)

    return {
        "X": X,
        "test": test,
        "stable": logistic(1.0, y),
        "healthy": logistic(0.3, y),
        "degraded": logistic(1.0, shuffled),
    }


@pytest.fixture
def project(registry: Any, wine: dict[str, Any], tmp_path: Path) -> Any:
    import mlgate
    from mlgate.config import load_settings
    from mlgate.gates.evaluate import gate

    wine["test"].to_csv(tmp_path / "eval.csv", index=False)
    (tmp_path / "mlgate.yaml").write_text(YAML, encoding="utf-8")
    settings = load_settings(config=tmp_path / "mlgate.yaml")
    for key in ("stable", "healthy", "degraded"):
        mlgate.log_model(wine[key], "wine", sample_input=wine["X"].head(5), registry=registry)
    registry.set_alias("wine", "production", 1)
    for number in (2, 3):
        assert gate(f"wine:{number}", against="production", config=settings, registry=registry).passed
    # wine:1 went to production without a gate: one of its own, so that it keeps its outputs too
    assert gate("wine:1", config=settings, registry=registry).passed
    return registry


def _log(folder: Path, version: int, model: Any, test: Any, route: str, n: int) -> None:
    import polars as pl

    X = test.drop(columns=["target"])
    picked = X.iloc[np.arange(n) % len(X)]  # the held-out rows, served again and again
    proba = model.predict_proba(picked)
    hour = folder / "model=wine" / f"version={version}" / f"hour={T:%Y-%m-%dT%H}"
    hour.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "time": [T] * n, "request_id": [f"{route}{i}" for i in range(n)], "row": [0] * n, "route": [route] * n,
            "status": [200] * n, "latency_ms": [5.0] * n, "prediction": model.predict(picked).astype(np.int64),
            **{f"proba_{c}": proba[:, k] for k, c in enumerate(model.classes_)},
        },
        schema_overrides={"time": pl.Datetime("us", "UTC"), "status": pl.Int16},
    ).write_parquet(hour / "part-0.parquet")  # fmt: skip


def _analysis(project: Any, wine: dict[str, Any], tmp_path: Path, candidate: int) -> Any:
    from mlgate.monitor.estimate import ClassCalibration

    cal = calibrations(project, "wine", (candidate, 1))
    assert set(cal) == {candidate, 1} and all(isinstance(c, ClassCalibration) for c in cal.values())
    folder = tmp_path / "log"
    _log(folder, 1, wine["stable"], wine["test"], "stable", 3000)
    model = wine["healthy" if candidate == 2 else "degraded"]
    _log(folder, candidate, model, wine["test"], "canary", 1500)
    arms = read_log(
        folder, "wine", (candidate, 1), T - timedelta(minutes=1), T + timedelta(minutes=1), calibrations=cal
    )
    canary, stable = arms[candidate], arms[1]
    assert canary.expected.size == 1500 and stable.expected.size == 3000 and canary.correct.size == 0
    return analyse(canary, stable, AnalysisConfig(performance="estimated"))


def _performance(result: Any) -> Any:
    return next(m for m in result.metrics if m.name == "performance")


def test_a_healthy_multiclass_canary_passes_on_estimated_accuracy(
    project: Any, wine: dict[str, Any], tmp_path: Path
) -> None:
    result = _analysis(project, wine, tmp_path, 2)
    perf = _performance(result)
    assert perf.decision == PASS and perf.detail.startswith("estimated accuracy (CBPE), 1500 canary"), perf
    assert perf.stable > 0.85 and abs(perf.estimate) < 0.05


def test_a_multiclass_canary_trained_on_shuffled_labels_fails_on_estimated_accuracy(
    project: Any, wine: dict[str, Any], tmp_path: Path
) -> None:
    result = _analysis(project, wine, tmp_path, 3)
    perf = _performance(result)
    assert perf.decision == FAIL and result.decision == FAIL, result.reason
    assert "estimated accuracy (CBPE)" in result.reason and perf.upper < -0.05
    # the estimate tracks what the labels would say: the realized accuracy on the held-out rows
    test = wine["test"]
    realized = float((wine["degraded"].predict(test.drop(columns=["target"])) == test["target"]).mean())
    assert perf.canary == pytest.approx(realized, abs=0.1)


def test_calibrations_of_two_classes_and_more_do_not_mix() -> None:
    """A mapping of one kind only: read_log's per-row estimate is compared like with like."""
    import polars as pl

    from mlgate.delivery.analysis import _expected
    from mlgate.monitor.estimate import Calibration, ClassCalibration

    step = Calibration.fit(np.linspace(0, 1, 40), np.linspace(0, 1, 40) > 0.5)
    maps = ClassCalibration(["a", "b", "c"], [step, step, step], 40)
    frame = pl.DataFrame({"proba_a": [0.7, 0.2], "proba_b": [0.2, 0.3], "proba_c": [0.1, 0.5]})
    assert _expected(frame, maps).tolist() == pytest.approx([float(step(0.7)), float(step(0.5))])
    assert _expected(frame, step).size == 0  # a binary map on three columns: no estimate
    assert _expected(frame.rename({"proba_c": "proba_d"}), maps).size == 0  # other classes: none
