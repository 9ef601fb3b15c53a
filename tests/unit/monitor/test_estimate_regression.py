"""Direct loss estimation for regressors: an additive error model learnt from the gate's evaluation rows.

A generated regression whose noise grows with one input, shifted along it; and a real diabetes
regressor gated, served into a real prediction log and monitored end to end.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from mlgate.monitor.estimate import ErrorModel, estimate
from mlgate.monitor.partials import Columns, compute

START = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
NAMES = [f"x{i}" for i in range(6)]


def _draw(rng: np.random.Generator, n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, len(NAMES)))
    X[:, 0] += shift
    noise = rng.normal(size=n) * (0.3 + 0.7 * np.abs(X[:, 0]))  # the error grows with |x0|
    return X, 2 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2] ** 2 + noise


def test_the_estimated_mae_and_rmse_follow_the_realized_ones_under_covariate_shift() -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(1)
    model = HistGradientBoostingRegressor(random_state=0).fit(*_draw(rng, 5000, 0.0))
    X_eval, y_eval = _draw(rng, 2000, 0.0)
    em = ErrorModel.fit(X_eval, NAMES, model.predict(X_eval), y_eval)
    assert em is not None and em.columns == [*NAMES, "prediction"]
    eval_mae = float(np.abs(model.predict(X_eval) - y_eval).mean())
    rel: dict[str, list[float]] = {"mae": [], "rmse": []}
    naive = []
    for w in range(8):
        X, y = _draw(rng, 2000, 1.5 * w / 7)
        pred = model.predict(X)
        n = len(y)
        frame = pl.DataFrame(
            {
                "time": [START] * n,
                "request_id": [str(i) for i in range(n)],
                "row": [0] * n,
                "status": [200] * n,
                "latency_ms": [1.0] * n,
                "prediction": pred,
                **{c: X[:, j] for j, c in enumerate(NAMES)},
            }
        )
        (part,) = compute(frame, dt.timedelta(hours=1), Columns({c: c for c in NAMES}, ["prediction"]), None).values()
        est = estimate(part, em)
        assert est is not None and est.method.startswith("DLE") and est.rows == n
        mae, rmse = float(np.abs(pred - y).mean()), float(np.sqrt(((pred - y) ** 2).mean()))
        rel["mae"].append(abs(est.metrics["mae"] - mae) / mae)
        rel["rmse"].append(abs(est.metrics["rmse"] - rmse) / rmse)
        naive.append(abs(eval_mae - mae) / mae)
    # stated error: within 10 % of the realized figure in every window and 5 % on average (measured about
    # 2 %), where the evaluation set's own MAE is off by more than twice that on average
    assert max(rel["mae"]) < 0.1 and np.mean(rel["mae"]) < 0.05, rel
    assert max(rel["rmse"]) < 0.1 and np.mean(rel["rmse"]) < 0.05, rel
    assert np.mean(naive) > 2 * np.mean(rel["mae"])


def test_a_window_without_an_input_counts_it_as_the_evaluation_mix() -> None:
    rng = np.random.default_rng(2)
    X, y = _draw(rng, 500, 0.0)
    pred = 2 * X[:, 0]
    em = ErrorModel.fit(X, NAMES, pred, y)
    assert em is not None
    n = 300
    frame = pl.DataFrame(
        {
            "time": [START] * n,
            "request_id": [str(i) for i in range(n)],
            "row": [0] * n,
            "status": [200] * n,
            "latency_ms": [1.0] * n,
            "prediction": pred[:n],
        }
    )
    (part,) = compute(frame, dt.timedelta(hours=1), Columns({}, ["prediction"]), None).values()
    est = estimate(part, em)
    assert est is not None and est.metrics["mae"] > 0
    assert ErrorModel.fit(X[:5], NAMES, pred[:5], y[:5]) is None  # too few rows to learn from


@pytest.fixture
def diabetes_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``diab:1`` (production): a ridge regression on diabetes, registered with its training data."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import train_test_split

    import mlgate
    from mlgate.registry.store import Registry

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0)
    X_train.to_parquet(tmp_path / "train.parquet")
    monkeypatch.setenv("MLGATE_ACTOR", "tester")
    reg = Registry(f"sqlite:///{tmp_path / 'registry.db'}", artifacts=str(tmp_path / "artifacts"))
    model = Ridge(alpha=0.1).fit(X_train, y_train)
    mv = mlgate.log_model(model, "diab", sample_input=X_train.head(20), data=tmp_path / "train.parquet", registry=reg)
    reg.set_alias("diab", "production", mv.number, reason="first")
    yield reg, model, X_test, y_test
    reg.close()


def test_monitor_estimates_a_gated_regressor_from_its_stored_evaluation_rows(
    diabetes_version: Any, tmp_path: Path
) -> None:
    import mlgate
    from mlgate.config import load_settings
    from mlgate.gates.evaluate import gate
    from mlgate.gates.outputs import load
    from mlgate.monitor import monitor
    from mlgate.serve.loader import Served
    from mlgate.serve.metrics import ServeMetrics
    from mlgate.serve.predlog import LogRecord, PredictionLog
    from mlgate.serve.protocol import InputSpec

    reg, model, X_test, y_test = diabetes_version
    evaluation, stream = X_test.iloc[:120], X_test.iloc[120:]
    evaluation.assign(target=y_test.iloc[:120].to_numpy()).to_csv(tmp_path / "eval.csv", index=False)
    (tmp_path / "mlgate.yaml").write_text(f"data: {{eval: {tmp_path / 'eval.csv'}, target: target}}\n")
    result = gate("diab:1", config=load_settings(config=tmp_path / "mlgate.yaml"), registry=reg)
    stored = load(reg, result.report)
    assert stored is not None and stored.inputs is not None and stored.inputs.shape == (120, 10)
    assert stored.input_names == list(X_test.columns)

    loaded = mlgate.load_model("diab@production", registry=reg)
    mv = reg.get("diab@production")
    served = Served(loaded, InputSpec.from_signature(mv.signature), mv.number, mv.digest)
    plog = PredictionLog(tmp_path / "log", ServeMetrics())
    hour = dt.datetime(2024, 5, 1, 9, tzinfo=dt.UTC)
    for i in range(0, len(stream), 5):
        part = stream.iloc[i : i + 5]
        when = int((hour + dt.timedelta(seconds=i)).timestamp() * 1e9)
        out = {"predict": served.model.predict(part)}
        plog.record(
            LogRecord(when, f"r{i}", "/predict", "diab", served.label, "primary", 200, 0.002, part, out, None, served)
        )
    plog.flush()
    report = monitor("diab@production", tmp_path / "log", until=hour + dt.timedelta(hours=1), registry=reg)
    (window,) = report.windows
    est = window.estimated
    assert est is not None and est.method.startswith("DLE") and "120 rows, 11 columns" in est.method
    pred = model.predict(stream)
    realized = float(np.abs(pred - y_test.iloc[120:].to_numpy()).mean())
    # 101 rows of a small data set: the estimate is within a fifth of what their labels give
    assert est.metrics["mae"] == pytest.approx(realized, rel=0.2)
    assert report.to_dict()["windows"][0]["estimated"]["metrics"].keys() == {"mae", "rmse"}


def test_a_large_evaluation_set_keeps_evenly_spaced_input_rows_the_model_learns_from() -> None:
    import pandas as pd

    from mlgate.gates.outputs import MAX_INPUT_ROWS, StoredOutputs, _inputs

    rng = np.random.default_rng(4)
    n = MAX_INPUT_ROWS + 5000
    X, y = _draw(rng, n, 0.0)
    frame = pd.DataFrame(X, columns=NAMES).assign(kind=["a"] * n)  # text inputs are not kept
    kept = _inputs(frame)
    assert kept["inputs"].shape == (MAX_INPUT_ROWS, len(NAMES)) and kept["inputs"].dtype == np.float32
    assert kept["input_names"].tolist() == NAMES
    rows = kept["input_rows"]
    assert rows[0] == 0 and rows[-1] == n - 1 and (np.diff(rows) > 0).all()
    np.testing.assert_allclose(kept["inputs"][:, 0], X[rows, 0].astype(np.float32))
    pred = 2 * X[:, 0]
    stored = StoredOutputs("regression", None, y, value=pred, inputs=kept["inputs"], input_names=NAMES, input_rows=rows)
    em = ErrorModel.fit_outputs(stored)
    assert em is not None and em.rows == MAX_INPUT_ROWS
    assert ErrorModel.fit_outputs(StoredOutputs("regression", None, y, value=pred)) is None  # no inputs kept
