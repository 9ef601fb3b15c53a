"""The prediction log on a real server: what it records, its partitions, a full queue, a broken folder, reading it."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlgate.cli import main
from mlgate.errors import EnvironmentProblem, UsageError
from mlgate.registry.store import Registry
from mlgate.serve.app import REQUEST_ID_HEADER, create_app
from mlgate.serve.options import ServeOptions
from mlgate.serve.predlog import log_files, parse_since, read_log

UTC = dt.UTC


def records(seeded: Any, start: int = 0, n: int = 2) -> list[dict[str, Any]]:
    return json.loads(seeded.X.iloc[start : start + n].to_json(orient="records"))


def test_every_request_is_logged_with_inputs_outputs_version_and_id(
    start_server: Any, seeded: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "predlog"
    server = start_server(log_dir=folder, log_flush_s=30)
    with httpx.Client(base_url=server.base) as http:
        ok = http.post("/predict", json=records(seeded, 0, 3), headers={REQUEST_ID_HEADER: "req-1"})
        assert ok.status_code == 200 and ok.headers[REQUEST_ID_HEADER] == "req-1"
        generated = http.post("/invocations", json={"dataframe_records": records(seeded, 5, 1)})
        assert len(generated.headers[REQUEST_ID_HEADER]) == 32
        bad = http.post("/predict", json=[{"nope": 1.0}], headers={REQUEST_ID_HEADER: "req-bad"})
        assert bad.status_code == 400
    assert server.app.state.predlog.flush() == 3
    files = log_files(folder)
    now = dt.datetime.now(UTC)
    assert len(files) == 1 and files[0].parent.parent.name.startswith("date=")
    assert files[0].parent.name.startswith("hour=") and files[0].parent.parent.parent == folder.resolve()
    log = read_log(folder)
    assert log.columns[:3] == ["time", "request_id", "route"]
    assert log["request_id"].to_list() == ["req-1", generated.headers[REQUEST_ID_HEADER], "req-bad"]
    first = log.row(0, named=True)
    assert first["version"] == "bc:1" and first["variant"] == "primary" and first["status"] == 200
    assert first["route"] == "/predict" and first["rows"] == 3 and first["latency_ms"] > 0
    assert json.loads(first["inputs"]) == records(seeded, 0, 3)
    assert json.loads(first["outputs"]) == {"predict": ok.json()["predictions"]}
    assert abs((first["time"] - now).total_seconds()) < 60
    last = log.row(2, named=True)
    assert last["status"] == 400 and last["inputs"] is None and "'nope'" in last["error"]
    assert server.metrics.value("mlgate_prediction_log_written_total") == 3


def test_the_server_keeps_answering_when_the_log_is_full(start_server: Any, seeded: Any, tmp_path: Path) -> None:
    server = start_server(log_dir=tmp_path / "log", log_queue=3, log_flush_s=60)
    with httpx.Client(base_url=server.base) as http:
        codes = [http.post("/predict", json=records(seeded, i)).status_code for i in range(10)]
    assert codes == [200] * 10
    assert server.metrics.value("mlgate_prediction_log_dropped_total", {"reason": "queue_full"}) == 7
    assert "mlgate_prediction_log_dropped_total" in httpx.get(f"{server.base}/metrics").text
    assert server.app.state.predlog.flush() == 3
    assert read_log(tmp_path / "log").height == 3


def test_a_log_folder_that_breaks_while_serving_costs_records_not_requests(
    start_server: Any, seeded: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "log"
    server = start_server(log_dir=folder, log_flush_s=60)
    shutil.rmtree(folder)
    folder.write_text("not a folder any more")
    with httpx.Client(base_url=server.base) as http:
        codes = [http.post("/predict", json=records(seeded, i)).status_code for i in range(4)]
    assert codes == [200] * 4
    assert server.app.state.predlog.flush() == 0
    assert server.metrics.value("mlgate_prediction_log_dropped_total", {"reason": "write_error"}) == 4
    assert server.app.state.predlog.pending == 0


def test_an_unwritable_log_folder_stops_the_start_with_exit_3(
    seeded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    reg = Registry(seeded.url, artifacts=str(seeded.artifacts))
    try:
        with pytest.raises(EnvironmentProblem, match=r"prediction-log folder .*file/logs cannot be written"):
            create_app(ServeOptions("bc", log_dir=blocker / "logs"), registry=reg)
    finally:
        reg.close()
    monkeypatch.setenv("MLGATE_REGISTRY", seeded.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(seeded.artifacts))
    assert main(["serve", "bc", "--port", "0", "--log", str(blocker / "logs")]) == 3
    assert "cannot be written" in capsys.readouterr().err


def test_parse_since() -> None:
    now = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_since("15m", now) == dt.datetime(2024, 5, 1, 11, 45, tzinfo=UTC)
    assert parse_since("1d", now) == dt.datetime(2024, 4, 30, 12, 0, tzinfo=UTC)
    assert parse_since("2024-05-01T10:30") == dt.datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    assert parse_since("2024-05-01T12:30+02:00") == dt.datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    with pytest.raises(UsageError, match="--since must be a duration"):
        parse_since("yesterday")


def _write_hours(folder: Path) -> None:
    """Three records in three hours, written the way the server writes them."""
    from mlgate.serve.metrics import ServeMetrics
    from mlgate.serve.predlog import LogRecord, PredictionLog

    plog = PredictionLog(folder, ServeMetrics())
    for i, hour in enumerate((9, 10, 11)):
        when = dt.datetime(2024, 5, 1, hour, 30, tzinfo=UTC)
        ns = int(when.timestamp()) * 1_000_000_000
        plog.record(LogRecord(ns, f"r{i}", "/predict", "bc", "bc:1", "primary", 200, 0.001, None, {"predict": [i]}))
    assert plog.flush() == 3


def test_read_log_filters_by_time_and_prunes_hours(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    _write_hours(folder)
    assert sorted(p.parent.name for p in log_files(folder)) == ["hour=09", "hour=10", "hour=11"]
    since = dt.datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert [p.parent.name for p in log_files(folder, since)] == ["hour=10", "hour=11"]
    assert read_log(folder, since=since)["request_id"].to_list() == ["r1", "r2"]
    assert read_log(folder, limit=1)["request_id"].to_list() == ["r2"]
    assert read_log(folder, since=dt.datetime(2025, 1, 1, tzinfo=UTC)).height == 0
    with pytest.raises(UsageError, match="does not exist"):
        read_log(tmp_path / "missing")


def test_mlgate_logs_reads_the_folder_from_the_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_hours(tmp_path / "logs")
    (tmp_path / "work" / "mlgate.yaml").write_text("serve:\n  log: ../logs\n")
    assert main(["logs", "--json", "--limit", "2"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert [r["request_id"] for r in got] == ["r1", "r2"] and got[0]["time"] == "2024-05-01T10:30:00.000000Z"
    assert main(["logs", str(tmp_path / "logs"), "--since", "2024-05-01T11:00"]) == 0
    out = capsys.readouterr().out
    assert "r2" in out and "r1" not in out and "bc:1" in out
    assert main(["logs", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "work" / "mlgate.yaml").write_text("serve: {}\n")
    assert main(["logs"]) == 2
    assert "no log folder given" in capsys.readouterr().err
