"""CBPE for more than two classes: a real digits classifier, calibrated one-vs-rest on its evaluation
outputs, estimated on a covariate-shift stream and checked against the realized accuracy and macro AUC."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from mlgate.gates.outputs import StoredOutputs
from mlgate.monitor.estimate import MAX_CLASSES, ClassCalibration, calibration, class_bins, estimate
from mlgate.monitor.partials import Columns, Partial, compute

START = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def _partial(proba: np.ndarray, classes: list[str]) -> Partial:
    n = len(proba)
    frame = pl.DataFrame(
        {
            "time": [START] * n,
            "request_id": [str(i) for i in range(n)],
            "row": [0] * n,
            "status": [200] * n,
            "latency_ms": [1.0] * n,
            "prediction": proba.argmax(axis=1),
            **{f"proba_{c}": proba[:, j] for j, c in enumerate(classes)},
        }
    )
    (part,) = compute(frame, dt.timedelta(hours=1), Columns({}, ["prediction"]), None).values()
    return part


@pytest.fixture(scope="module")
def digits() -> dict[str, Any]:
    """A logistic regression on 800 digits; 500 evaluation rows (the gate's); the rest feed the stream."""
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    train, held, pool = order[:800], order[800:1300], order[1300:]
    model = LogisticRegression(max_iter=3000).fit(X[train], y[train])
    classes = [str(c) for c in model.classes_]
    stored = StoredOutputs("classification", classes, y[held], model.predict(X[held]), model.predict_proba(X[held]))
    return {"X": X, "y": y, "pool": pool, "model": model, "classes": classes, "stored": stored}


def test_the_estimate_follows_the_realized_figures_under_covariate_shift(digits: dict[str, Any]) -> None:
    """Pool rows resampled with weight exp(b · ink), b from -1.5 to 1.5: the mix moves between light and
    heavy digits (P(y | x) unchanged: covariate shift); the realized accuracy moves with it."""
    cal = calibration(digits["stored"])
    assert isinstance(cal, ClassCalibration) and cal.rows == 500
    X, y, pool, model = digits["X"], digits["y"], digits["pool"], digits["model"]
    ink = X[pool].mean(axis=1)
    ink = (ink - ink.mean()) / ink.std()
    rng = np.random.default_rng(1)
    errors: dict[str, list[float]] = {"accuracy": [], "roc_auc": []}
    realized_accuracy = []
    for w in range(8):
        weight = np.exp((-1.5 + 3 * w / 7) * ink)
        rows = rng.choice(pool, size=1000, p=weight / weight.sum())
        proba = model.predict_proba(X[rows])
        est = estimate(_partial(proba, digits["classes"]), cal)
        assert est is not None and "one-vs-rest" in est.method and est.rows == 1000
        realized = {
            "accuracy": float((proba.argmax(axis=1) == y[rows]).mean()),
            "roc_auc": float(roc_auc_score(y[rows], proba, multi_class="ovr", average="macro")),
        }
        realized_accuracy.append(realized["accuracy"])
        for metric, value in realized.items():
            errors[metric].append(abs(est.metrics[metric] - value))
    assert max(realized_accuracy) - min(realized_accuracy) > 0.01  # the shift moves the realized accuracy
    # stated error: 0.03 accuracy and 0.02 AUC in every window, 0.015 and 0.01 on average (measured
    # 0.006 and 0.002; a 1,000-row window's realized accuracy has a sampling sd of about 0.006 itself)
    assert max(errors["accuracy"]) < 0.03 and np.mean(errors["accuracy"]) < 0.015, errors
    assert max(errors["roc_auc"]) < 0.02 and np.mean(errors["roc_auc"]) < 0.01, errors


def test_partials_merge_into_the_estimate_of_the_whole(digits: dict[str, Any]) -> None:
    proba = digits["model"].predict_proba(digits["X"][digits["pool"]])
    cal = calibration(digits["stored"])
    whole = estimate(_partial(proba, digits["classes"]), cal)
    halves = _partial(proba[:200], digits["classes"]).merge(_partial(proba[200:], digits["classes"]))
    merged = estimate(Partial.from_dict(halves.to_dict()), cal)
    assert whole is not None and merged is not None
    assert merged.metrics == pytest.approx(whole.metrics)


def test_without_calibration_or_with_other_classes_the_probabilities_are_taken_as_they_are(
    digits: dict[str, Any],
) -> None:
    proba = digits["model"].predict_proba(digits["X"][digits["pool"]])
    cal = calibration(digits["stored"])
    # the log names other classes than the gate scored: the maps cannot be matched, so none is applied
    other = estimate(_partial(proba, [f"c{c}" for c in digits["classes"]]), cal)
    raw = estimate(_partial(proba, digits["classes"]))
    assert raw is not None and other is not None
    assert "taken as calibrated" in raw.method and "taken as calibrated" in other.method
    assert raw.metrics["accuracy"] == pytest.approx(float(proba.max(axis=1).mean()), abs=1e-9)
    assert set(raw.metrics) == {"accuracy", "roc_auc"}


def test_past_max_classes_only_the_mean_top_probability_is_kept() -> None:
    rng = np.random.default_rng(3)
    proba = rng.dirichlet(np.ones(MAX_CLASSES + 1), size=300)
    assert class_bins(proba) is None
    est = estimate(_partial(proba, [str(c) for c in range(MAX_CLASSES + 1)]))
    assert est is not None and set(est.metrics) == {"accuracy"}
    assert est.metrics["accuracy"] == pytest.approx(float(proba.max(axis=1).mean()))


def test_the_realized_figures_beside_it_hold_the_macro_auc(digits: dict[str, Any]) -> None:
    """Labels joined to a multiclass log give the one-vs-rest macro ROC AUC the estimate is checked against."""
    from mlgate.monitor.labels import realized
    from mlgate.monitor.windows import Window

    X, y, pool, model = digits["X"], digits["y"], digits["pool"], digits["model"]
    proba = model.predict_proba(X[pool])
    n = len(pool)
    scored = pl.DataFrame(
        {
            "time": [START] * n,
            "request_id": [f"r{i}" for i in range(n)],
            "row": [0] * n,
            "prediction": model.predict(X[pool]),
            **{f"proba_{c}": proba[:, j] for j, c in enumerate(digits["classes"])},
        }
    )
    labels = pl.DataFrame({"request_id": [f"r{i}" for i in range(n)], "row": [0] * n, "label": y[pool].astype(str)})
    labels = labels.with_columns(pl.col("row").cast(pl.Int32))
    window = Window(START, START + dt.timedelta(hours=1))
    got = realized(scored, labels, [window])[window]
    assert got.metrics["roc_auc"] == pytest.approx(roc_auc_score(y[pool], proba, multi_class="ovr", average="macro"))
    assert got.metrics["accuracy"] == pytest.approx(float((model.predict(X[pool]) == y[pool]).mean()))
    # a window where one class has no label: its AUC is undefined, so no macro AUC is claimed
    kept = labels.filter(pl.col("label") != "3")
    assert "roc_auc" not in realized(scored, kept, [window])[window].metrics
