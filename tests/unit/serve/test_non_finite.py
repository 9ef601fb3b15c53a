"""A version that answers NaN fails the request (500, logged as a server error), never a 200 with nulls."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest

from tests.unit.serve.conftest import wait_for


@pytest.mark.filterwarnings("ignore:.*ran code stored in its artifact:RuntimeWarning")
def test_non_finite_outputs_are_a_model_failure(
    start_server: Any, seeded: Any, seeded_registry: Any, tmp_path: Any
) -> None:
    import mlgate
    from mlgate.monitor import monitor
    from tests.e2e.monitor_models import ROWS, Failing

    X = seeded.X
    mv = mlgate.log_model(Failing(seeded.models[1], "nan"), "bc", sample_input=X.head(5), registry=seeded_registry)
    seeded_registry.set_alias("bc", "production", mv.number, reason="a version that answers NaN")
    log = tmp_path / "logs"
    running = start_server(allow_code=True, log_dir=log)
    wait_for(lambda: running.holder.current is not None and running.holder.current.number == mv.number)
    good = json.loads(X.head(ROWS - 1).to_json(orient="records"))
    bad = json.loads(X.head(ROWS).to_json(orient="records"))
    assert httpx.post(f"{running.base}/predict", json=good).status_code == 200
    for proba in ("false", "true"):
        r = httpx.post(f"{running.base}/predict?proba={proba}", json=bad)
        assert r.status_code == 500, r.text
        assert r.json()["error"] == f"the model bc:{mv.number} failed: it returned non-finite outputs (NaN or infinity)"
    labels = {"route": "/predict", "version": f"bc:{mv.number}", "kind": "model"}
    assert running.metrics.value("mlgate_serve_errors_total", labels) == 2
    # the log holds them as server errors, so `mlgate monitor`'s errors.rate sees the version failing
    wait_for(lambda: any(log.rglob("*.parquet")), timeout=15)
    wait_for(lambda: sum(w.requests for w in _windows(monitor, log, seeded_registry)) == 3, timeout=15)
    windows = _windows(monitor, log, seeded_registry)
    assert sum(w.errors for w in windows) == 2 and sum(w.rows for w in windows) == ROWS - 1


def _windows(monitor: Any, log: Any, reg: Any) -> list[Any]:
    until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    return monitor("bc@production", log, until=until, registry=reg).windows
