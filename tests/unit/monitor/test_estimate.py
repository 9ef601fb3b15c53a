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
