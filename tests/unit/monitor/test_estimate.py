"""CBPE: on calibrated probabilities the estimated accuracy and ROC AUC match the realized ones."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from mlgate.monitor.estimate import estimate
from mlgate.monitor.partials import Columns, Partial, compute


def test_estimates_match_the_realized_figures_on_calibrated_probabilities() -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    p1 = rng.beta(2, 2, n)  # calibrated by construction: each row is positive with its probability
    y = rng.random(n) < p1
    pred = (p1 >= 0.5).astype(int)
    start = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    frame = pl.DataFrame(
        {
            "time": [start + dt.timedelta(seconds=i % 3000) for i in range(n)],
            "request_id": [f"r{i}" for i in range(n)],
            "row": [0] * n,
            "status": [200] * n,
            "latency_ms": [1.0] * n,
            "prediction": pred,
            "proba_0": 1 - p1,
            "proba_1": p1,
        }
    )
    # two halves computed apart and merged, as files are
    columns = Columns({}, ["prediction"])
    halves = [compute(part, dt.timedelta(hours=1), columns, None) for part in (frame[:7000], frame[7000:])]
    (w0, a), (w1, b) = next(iter(halves[0].items())), next(iter(halves[1].items()))
    assert w0 == w1
    est = estimate(a.merge(b))
    assert est is not None and est.rows == n
    assert est.metrics["accuracy"] == pytest.approx(float((pred == y).mean()), abs=0.01)
    assert est.metrics["roc_auc"] == pytest.approx(float(roc_auc_score(y, p1)), abs=0.01)
    assert estimate(Partial()) is None


def test_calibration_on_eval_outputs_corrects_an_over_confident_model() -> None:
    """Gaussian NB on four noisy copies of each latent counts the evidence four times: far too sure."""
    from sklearn.naive_bayes import GaussianNB

    from mlgate.monitor.estimate import Calibration

    rng = np.random.default_rng(11)

    def draw(n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
        z = rng.normal(size=(n, 3))
        z[:, 0] += shift
        X = np.hstack([np.repeat(z, 4, axis=1) + rng.normal(scale=0.7, size=(n, 12)), rng.normal(size=(n, 4))])
        return X, (z[:, 0] + z[:, 1] - z[:, 2] + rng.normal(scale=0.8, size=n) > 0.75).astype(int)

    model = GaussianNB().fit(*draw(5000, 0.0))
    X_eval, y_eval = draw(2000, 0.0)
    cal = Calibration.fit(model.predict_proba(X_eval)[:, 1], y_eval == 1)
    assert all(a <= b for a, b in zip(cal.y, cal.y[1:], strict=False))  # isotonic
    X, y = draw(5000, 1.0)  # covariate shift
    p1 = model.predict_proba(X)[:, 1]
    start = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    n = len(y)
    frame = pl.DataFrame(
        {
            "time": [start] * n,
            "request_id": [str(i) for i in range(n)],
            "row": [0] * n,
            "status": [200] * n,
            "latency_ms": [1.0] * n,
            "prediction": (p1 >= 0.5).astype(int),
            "proba_0": 1 - p1,
            "proba_1": p1,
        }
    )
    (part,) = compute(frame, dt.timedelta(hours=1), Columns({}, ["prediction"]), None).values()
    accuracy = float(((p1 >= 0.5) == (y == 1)).mean())
    auc = float(roc_auc_score(y, p1))
    raw, calibrated = estimate(part), estimate(part, cal)
    assert raw is not None and calibrated is not None
    assert "calibrated on the gate's evaluation outputs" in calibrated.method
    assert abs(raw.metrics["accuracy"] - accuracy) > 0.03  # the logged probabilities overstate it
    assert abs(calibrated.metrics["accuracy"] - accuracy) < 0.02
    assert abs(calibrated.metrics["roc_auc"] - auc) < 0.02
    assert abs(calibrated.metrics["roc_auc"] - auc) < abs(raw.metrics["roc_auc"] - auc)
