"""Monitor fixtures: a real registry holding a breast-cancer classifier registered with its training data,
and a helper that writes prediction-log hours the way the server does (real model, real predictions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

UTC = dt.UTC


@dataclass
class Monitored:
    url: str
    artifacts: Path
    registry: Any
    served: Any
    train: Any
    test: Any
    y_test: Any


@pytest.fixture
def monitored(tmp_path: Path, breast_cancer: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Monitored]:
    """``bc:1`` (production): a logistic regression registered with its training data, loaded as served."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import mlgate
    from mlgate.registry.store import Registry
    from mlgate.serve.loader import Served
    from mlgate.serve.protocol import InputSpec

    X, y = breast_cancer
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, random_state=0)
    train_file = tmp_path / "train.parquet"
    X_train.to_parquet(train_file)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    monkeypatch.setenv("MLGATE_ACTOR", "tester")
    reg = Registry(url, artifacts=str(tmp_path / "artifacts"))
    mv = mlgate.log_model(model, "bc", sample_input=X_train.head(20), data=train_file, registry=reg)
    reg.set_alias("bc", "production", mv.number, reason="first")
    loaded = mlgate.load_model("bc@production", registry=reg)
    served = Served(loaded, InputSpec.from_signature(mv.signature), mv.number, mv.digest)
    yield Monitored(url, tmp_path / "artifacts", reg, served, X_train, X_test, y_test)
    reg.close()


LogHour = Callable[..., None]


@pytest.fixture
def log_hour(tmp_path: Path) -> LogHour:
    """Write one hour of traffic: ``requests`` requests of ``rows`` rows from ``data``, scored by ``served``."""
    from mlgate.serve.metrics import ServeMetrics
    from mlgate.serve.predlog import LogRecord, PredictionLog

    def write(
        folder: Path,
        served: Any,
        data: Any,
        hour: dt.datetime,
        *,
        requests: int = 20,
        rows: int = 5,
        status: int = 200,
        latency_s: float = 0.002,
    ) -> None:
        plog = PredictionLog(folder, ServeMetrics())
        model = served.model
        for i in range(requests):
            part = data.iloc[(i * rows) % len(data) :][:rows]
            when = hour + dt.timedelta(minutes=i * 50 / max(requests, 1))
            ns = int(when.timestamp() * 1e9)
            outputs = None
            if status == 200:
                outputs = {"predict": model.predict(part), "predict_proba": model.predict_proba(part)}
            error = None if status == 200 else "the model failed"
            plog.record(
                LogRecord(
                    ns,
                    f"r{hour:%H}-{i}",
                    "/predict",
                    "bc",
                    served.label,
                    "primary",
                    status,
                    latency_s * (1 + i % 5),
                    part if status in (200, 500) else None,
                    outputs,
                    error,
                    served,
                )
            )
        assert plog.flush() == requests

    return write
