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
from mlgate.serve.logfiles import log_files, parse_since, read_log
from mlgate.serve.options import ServeOptions
from mlgate.serve.predlog import META

UTC = dt.UTC


def records(seeded: Any, start: int = 0, n: int = 2) -> list[dict[str, Any]]:
    return json.loads(seeded.X.iloc[start : start + n].to_json(orient="records"))


def test_every_row_is_logged_with_typed_inputs_outputs_route_and_id(
    start_server: Any, seeded: Any, tmp_path: Path
) -> None:
    import polars as pl

    folder = tmp_path / "predlog"
    server = start_server(log_dir=folder, log_flush_s=30)
    with httpx.Client(base_url=server.base) as http:
        ok = http.post("/predict?proba=true", json=records(seeded, 0, 3), headers={REQUEST_ID_HEADER: "req-1"})
        assert ok.status_code == 200 and ok.headers[REQUEST_ID_HEADER] == "req-1"
        generated = http.post("/invocations", json={"dataframe_records": records(seeded, 5, 1)})
        assert len(generated.headers[REQUEST_ID_HEADER]) == 32
        bad = http.post("/predict", json=[{"nope": 1.0}], headers={REQUEST_ID_HEADER: "req-bad"})
        assert bad.status_code == 400
    assert server.app.state.predlog.flush() == 3
    files = log_files(folder)
    now = dt.datetime.now(UTC)
    assert len(files) == 1
    hour = files[0].parent
    assert hour.name == f"hour={now:%Y-%m-%dT%H}" and hour.parent.name == "version=1"
    assert hour.parent.parent.name == "model=bc" and hour.parent.parent.parent == folder.resolve()
    log = read_log(folder)
    assert log.columns[:10] == list(META)
    # one log row per scored row; the refused request is one row with its error
    assert log["request_id"].to_list() == ["req-1"] * 3 + [generated.headers[REQUEST_ID_HEADER], "req-bad"]
    assert log["row"].to_list() == [0, 1, 2, 0, 0] and set(log["route"]) == {"stable"}
    assert log["endpoint"].to_list() == ["/predict"] * 3 + ["/invocations", "/predict"]
    assert log["version"].to_list() == [1] * 5 and log["status"].to_list() == [200] * 4 + [400]
    # the inputs are typed columns named and typed as the signature says
    names = list(seeded.X.columns)
    assert log.select(names).head(3).to_pandas().values.tolist() == seeded.X.iloc[0:3].values.tolist()
    assert all(log.schema[c] == pl.Float64 for c in names)
    assert log["prediction"].head(3).to_list() == ok.json()["predictions"]
    assert log["proba_0"].head(3).to_list() == [p["0"] for p in ok.json()["probabilities"]]
    assert log["proba_1"][3] is None  # /invocations asked for no probabilities
    last = log.row(4, named=True)
    assert last[names[0]] is None and last["prediction"] is None and "'nope'" in last["error"]
    assert all(lat > 0 for lat in log["latency_ms"]) and abs((log["time"][0] - now).total_seconds()) < 60
    assert server.metrics.value("mlgate_prediction_log_written_total") == 3
    # hive-style folders: Polars reads the model, version and hour from the path
    hive = pl.scan_parquet(folder).collect()
    assert hive.height == 5 and hive["hour"][0] == f"{now:%Y-%m-%dT%H}"


def test_data_profile_and_drift_read_the_log_directly(
    start_server: Any, seeded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "predlog"
    server = start_server(log_dir=folder, log_flush_s=30)
    with httpx.Client(base_url=server.base) as http:
        for start in range(0, 200, 50):
            assert http.post("/predict", json=records(seeded, start, 50)).status_code == 200
    server.app.state.predlog.flush()
    train = tmp_path / "train.parquet"
    seeded.X.to_parquet(train)
    monkeypatch.chdir(tmp_path)
    assert main(["data", "profile", "predlog/**/*.parquet", "--json"]) == 0
    prof = json.loads(capsys.readouterr().out)
    assert prof["rows"] == 200 and "mean radius" in [c["name"] for c in prof["columns"]]
    code = main(["data", "drift", str(train), "predlog/**/*.parquet", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 1) and len(report["columns"]) == seeded.X.shape[1]
    assert "request_id" in report["only_in_current"]


def test_the_server_keeps_answering_when_the_log_is_full(start_server: Any, seeded: Any, tmp_path: Path) -> None:
    server = start_server(log_dir=tmp_path / "log", log_queue=3, log_flush_s=60)
    with httpx.Client(base_url=server.base) as http:
        codes = [http.post("/predict", json=records(seeded, i)).status_code for i in range(10)]
    assert codes == [200] * 10
    assert server.metrics.value("mlgate_prediction_log_dropped_total", {"reason": "queue_full"}) == 7
    assert "mlgate_prediction_log_dropped_total" in httpx.get(f"{server.base}/metrics").text
    assert server.app.state.predlog.flush() == 3
    assert read_log(tmp_path / "log")["request_id"].n_unique() == 3  # of two rows each


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
    assert [p.parent.name[-2:] for p in log_files(folder)] == ["09", "10", "11"]
    since = dt.datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert [p.parent.name[-2:] for p in log_files(folder, since)] == ["10", "11"]
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
    assert "r2" in out and "r1" not in out and "bc:1" in out and "stable" in out
    assert main(["logs", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "work" / "mlgate.yaml").write_text("serve: {}\n")
    assert main(["logs"]) == 2
    assert "no log folder given" in capsys.readouterr().err


def test_ended_hours_are_compacted_and_hours_past_the_retention_deleted(tmp_path: Path) -> None:
    from mlgate.serve.logfiles import hours, maintain
    from mlgate.serve.metrics import ServeMetrics
    from mlgate.serve.predlog import LogRecord, PredictionLog

    folder = tmp_path / "log"
    plog = PredictionLog(folder, ServeMetrics())
    for day, hour in ((1, 9), (1, 9), (1, 9), (3, 10), (3, 10), (3, 23)):
        ns = int(dt.datetime(2024, 5, day, hour, 30, tzinfo=UTC).timestamp()) * 1_000_000_000
        plog.record(LogRecord(ns, f"r{day}{hour}", "/predict", "bc", "bc:1", "primary", 200, 0.001))
        plog.flush()  # one file per record
    assert [len(h.parts()) for h in hours(folder)] == [3, 2, 1]
    now = dt.datetime(2024, 5, 3, 23, 40, tzinfo=UTC)  # 23:00 has not ended: left alone
    done = maintain(folder, retention=dt.timedelta(days=2), now=now)
    assert done.deleted == ["model=bc/version=1/hour=2024-05-01T09"]
    assert done.compacted == ["model=bc/version=1/hour=2024-05-03T10"] and done.merged_files == 2
    assert [len(h.parts()) for h in hours(folder)] == [1, 1]
    assert read_log(folder)["request_id"].to_list() == ["r310", "r310", "r323"]
    assert maintain(folder, now=now).compacted == []  # nothing left to do


def test_the_writer_thread_runs_the_housekeeping_when_the_hour_rolls_over(tmp_path: Path) -> None:
    from mlgate.serve.metrics import ServeMetrics
    from mlgate.serve.predlog import LogRecord, PredictionLog

    folder = tmp_path / "log"
    plog = PredictionLog(folder, ServeMetrics(), retention=dt.timedelta(hours=1))
    old = int(dt.datetime(2024, 5, 1, 9, 30, tzinfo=UTC).timestamp()) * 1_000_000_000
    plog.record(LogRecord(old, "old", "/predict", "bc", "bc:1", "primary", 200, 0.001))
    plog.flush()
    plog.maintain(dt.datetime(2024, 5, 1, 10, 10, tzinfo=UTC))  # within the retention
    assert read_log(folder).height == 1
    plog.maintain(dt.datetime(2024, 5, 1, 10, 50, tzinfo=UTC))  # the same hour: not run twice
    plog.maintain(dt.datetime(2024, 5, 1, 11, 10, tzinfo=UTC))
    assert read_log(folder).height == 0 and list(folder.iterdir()) == []


def test_monitor_retention_is_read_from_mlgate_yaml_and_checked(tmp_path: Path) -> None:
    from mlgate.config import load_settings
    from mlgate.errors import ConfigError
    from mlgate.serve.logfiles import retention_from_settings

    (tmp_path / "work" / "mlgate.yaml").write_text("monitor:\n  retention: 30d\n")
    assert retention_from_settings(load_settings()) == dt.timedelta(days=30)
    (tmp_path / "work" / "mlgate.yaml").write_text("monitor:\n  retention: forever\n")
    with pytest.raises(ConfigError, match=r"mlgate.yaml:2.*'monitor.retention' must be a positive duration"):
        retention_from_settings(load_settings())


def _write_legacy(folder: Path) -> None:
    """Two requests as an mlgate before the typed layout wrote them: inputs and outputs as JSON text."""
    import polars as pl

    hour = folder / "date=2024-05-01" / "hour=09"
    hour.mkdir(parents=True)
    when = dt.datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    pl.DataFrame(
        {
            "time": [when, when],
            "request_id": ["a", "b"],
            "route": ["/predict", "/predict"],
            "model": ["bc", "bc"],
            "version": ["bc:1", "bc:1"],
            "variant": ["primary", "canary"],
            "status": [200, 400],
            "latency_ms": [1.5, 0.2],
            "rows": [2, None],
            "inputs": ['[{"x": 1.0, "time": "t1"}, {"x": 2.0, "time": "t2"}]', None],
            "outputs": ['{"predict": [0, 1], "predict_proba": [[0.9, 0.1], [0.2, 0.8]]}', None],
            "error": [None, "bad"],
        }
    ).write_parquet(hour / "part-20240501T093000-1-000000.parquet")


def test_an_old_json_log_is_refused_with_a_pointer_and_converted_by_one_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "old"
    _write_legacy(folder)
    assert main(["logs", str(folder)]) == 2
    assert f"mlgate logs {folder} --convert" in capsys.readouterr().err
    assert main(["logs", str(folder), "--convert", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"files": 1, "requests": 2, "rows": 3}
    assert not (folder / "date=2024-05-01").exists()
    log = read_log(folder)
    assert log["request_id"].to_list() == ["a", "a", "b"] and log["route"].to_list() == ["stable", "stable", "canary"]
    assert log["x"].to_list() == [1.0, 2.0, None] and log["input_time"].to_list() == ["t1", "t2", None]
    assert log["prediction"].to_list() == [0, 1, None] and log["proba_1"].to_list() == [0.1, 0.8, None]
    assert log["version"].to_list() == [1, 1, 1] and log["error"].to_list() == [None, None, "bad"]
    assert main(["logs", str(folder), "--convert", "--json"]) == 0  # nothing left to convert
    assert json.loads(capsys.readouterr().out)["files"] == 0


def test_mlgate_logs_compact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "logs"
    _write_hours(folder)
    _write_hours(folder)
    (tmp_path / "work" / "mlgate.yaml").write_text("serve:\n  log: ../logs\n")
    assert main(["logs", "--compact", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert len(done["compacted"]) == 3 and done["merged_files"] == 6 and done["deleted"] == []
    assert read_log(folder).height == 6 and len(log_files(folder)) == 3


def test_the_shadow_versions_predictions_are_logged_with_route_shadow(
    start_server: Any, seeded: Any, seeded_registry: Any, tmp_path: Path
) -> None:
    from tests.unit.serve.conftest import wait_for

    seeded_registry.set_alias("bc", "shadow", 2)
    folder = tmp_path / "log"
    server = start_server(shadow_alias="shadow", log_dir=folder, log_flush_s=30)
    wait_for(lambda: server.app.state.shadow.current is not None)
    with httpx.Client(base_url=server.base) as http:
        for start in range(0, 30, 10):
            r = http.post("/predict", json=records(seeded, start, 10), headers={REQUEST_ID_HEADER: f"q{start}"})
            assert r.status_code == 200
    wait_for(lambda: server.metrics.value("mlgate_serve_shadow_requests_total", {"outcome": "scored"}) == 3)
    server.app.state.predlog.flush()
    log = read_log(folder)
    shadow = log.filter(log["route"] == "shadow")
    assert shadow.height == 30 and set(shadow["version"]) == {2} and set(shadow["endpoint"]) == {"/predict"}
    assert sorted(set(shadow["request_id"])) == ["q0", "q10", "q20"]
    assert (
        shadow.sort("request_id", "row")["prediction"].to_list()[:10]
        == seeded.models[2].predict(seeded.X.iloc[:10]).tolist()
    )
    assert log.filter(log["route"] == "stable").height == 30
    assert {p.parent.parent.name for p in log_files(folder)} == {"version=1", "version=2"}
