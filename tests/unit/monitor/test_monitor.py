"""mlgate monitor on logs written by the real prediction-log writer with a real model's predictions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from mlgate.cli import main
from mlgate.monitor import Limits, monitor

UTC = dt.UTC
H0 = dt.datetime(2024, 5, 1, 9, tzinfo=UTC)


def hour(n: int) -> dt.datetime:
    return H0 + dt.timedelta(hours=n)


def test_clean_traffic_passes_with_volume_latency_and_prediction_drift(
    monitored: Any, log_hour: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "log"
    for n in range(3):
        log_hour(folder, monitored.served, monitored.test, hour(n))
    report = monitor("bc@production", folder, until=hour(3), registry=monitored.registry)
    assert not report.breached, report.to_markdown()
    assert [w.window.start for w in report.windows] == [hour(0), hour(1), hour(2)]
    first, second = report.windows[0], report.windows[1]
    assert first.requests == 20 and first.rows == 100 and first.errors == 0
    assert first.is_reference and first.prediction_drift is None
    # one family: the positive-class probability (mean and distribution); proba_0 and the class are functions of it
    assert second.prediction_drift is not None and set(second.prediction_drift.column_names) == {"proba_1"}
    assert first.input_drift is not None and len(first.input_drift.column_names) == monitored.train.shape[1]
    assert 2.0 <= first.latency_ms["p50"] <= 10.0 and first.latency_ms["p99"] <= 10.0 + 1e-9
    assert first.quality == []
    doc = report.to_dict()
    assert doc["format"] == "mlgate.monitor-report/1" and doc["windows"][0]["start"] == "2024-05-01T09:00:00Z"


def test_a_shifted_feature_is_drift_and_out_of_range_and_exits_1(
    monitored: Any, log_hour: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "log"
    log_hour(folder, monitored.served, monitored.test, hour(0))
    broken = monitored.test.copy()
    broken["mean radius"] = broken["mean radius"] * 3  # an upstream unit change
    log_hour(folder, monitored.served, broken, hour(1))
    report = monitor(
        "bc@production", folder, until=hour(2), limits=Limits(drift_share=0.03), registry=monitored.registry
    )
    ok, bad = report.windows
    assert not ok.breaches
    assert "mean radius" in bad.input_drift.drifted_columns
    issue = next(q for q in bad.quality if q.column == "mean radius")
    assert issue.check == "out_of_range" and issue.count > 50
    assert any(b.startswith("input drift") for b in bad.breaches)
    assert any(b.startswith("data quality") for b in bad.breaches)
    monkeypatch.setenv("MLGATE_REGISTRY", monitored.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(monitored.artifacts))
    summary = tmp_path / "summary.md"
    args = ["monitor", "bc@production", "--log", str(folder), "--since", "2024-05-01T09:00"]
    args += ["--until", "2024-05-01T11:00", "--drift-share", "0.03", "--markdown", str(summary)]
    assert main(args) == 1
    assert "mean radius" in summary.read_text() and "breach" in summary.read_text()
    capsys.readouterr()
    assert main([*args[:-2], "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["breached"] and doc["windows"][1]["quality"][0]["check"] == "out_of_range"


def test_server_errors_and_slow_requests_breach_their_limits(monitored: Any, log_hour: Any, tmp_path: Path) -> None:
    folder = tmp_path / "log"
    log_hour(folder, monitored.served, monitored.test, hour(0), latency_s=0.05)
    log_hour(folder, monitored.served, monitored.test, hour(0), requests=2, status=500)
    log_hour(folder, monitored.served, monitored.test, hour(0), requests=3, status=400)
    limits = Limits(max_error_rate=0.05, max_p95_ms=100)
    (w,) = monitor("bc@production", folder, until=hour(1), limits=limits, registry=monitored.registry).windows
    assert (w.requests, w.errors, w.refused, w.rows) == (25, 2, 3, 100)
    assert w.latency_ms["p95"] > 100
    assert any(b.startswith("error rate 8.00% > 5.00%") for b in w.breaches)
    assert any(b.startswith("latency p95") for b in w.breaches)


def test_each_file_is_read_once_and_a_new_hour_reads_only_its_files(
    monitored: Any, log_hour: Any, tmp_path: Path
) -> None:
    folder, cache = tmp_path / "log", tmp_path / "cache"
    for n in range(3):
        log_hour(folder, monitored.served, monitored.test, hour(n))

    def run() -> Any:
        return monitor("bc@production", folder, until=hour(4), registry=monitored.registry, cache=cache)

    first = run()
    assert (first.files_read, first.files_cached) == (3, 0)
    again = run()
    assert (again.files_read, again.files_cached) == (0, 3)
    # the verdicts too: same files, references and limits give the same windows, read back
    assert first.windows_cached == 0 and again.windows_cached == 3
    assert again.to_dict()["windows"] == first.to_dict()["windows"]
    log_hour(folder, monitored.served, monitored.test, hour(3))
    grown = run()
    assert (grown.files_read, grown.files_cached) == (1, 3) and grown.windows[-1].requests == 20
    assert grown.windows_cached == 3  # only the new hour is judged


def test_foreign_and_truncated_files_are_named_and_skipped(monitored: Any, log_hour: Any, tmp_path: Path) -> None:
    from mlgate.serve.logfiles import log_files

    folder = tmp_path / "log"
    log_hour(folder, monitored.served, monitored.test, hour(0))
    log_hour(folder, monitored.served, monitored.test, hour(0))
    good, victim = log_files(folder)
    victim.write_bytes(victim.read_bytes()[:200])  # a copy cut short
    (good.parent / "notes.txt").write_text("not a log")
    report = monitor("bc@production", folder, until=hour(1), registry=monitored.registry)
    skipped = dict(report.skipped)
    assert "not a readable Parquet file" in skipped[str(victim.relative_to(folder))]
    assert "not a Parquet file" in skipped[str((good.parent / "notes.txt").relative_to(folder))]
    assert report.windows[0].requests == 20  # the good file still counts
    assert "## Skipped files" in report.to_markdown()


def test_unknown_model_and_bad_options_exit_2(
    monitored: Any, log_hour: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "log"
    log_hour(folder, monitored.served, monitored.test, hour(0))
    monkeypatch.setenv("MLGATE_REGISTRY", monitored.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(monitored.artifacts))
    assert main(["monitor", "nope@production", "--log", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err
    assert main(["monitor", "bc@production", "--log", str(folder), "--window", "soon"]) == 2
    assert "--window must be a positive duration" in capsys.readouterr().err
    assert main(["monitor", "bc@production", "--log", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["monitor", "bc@production", "--log", str(folder), "--reference", "2024-05-01"]) == 2
    assert "--reference must be START/END" in capsys.readouterr().err


def test_a_reference_period_sets_the_prediction_baseline(monitored: Any, log_hour: Any, tmp_path: Path) -> None:
    folder = tmp_path / "log"
    for n in range(3):
        log_hour(folder, monitored.served, monitored.test, hour(n))
    report = monitor("bc@production", folder, until=hour(3), reference=(hour(1), hour(2)), registry=monitored.registry)
    assert [w.is_reference for w in report.windows] == [False, True, False]
    assert report.windows[0].prediction_drift is not None and report.windows[1].prediction_drift is None


def test_a_schema_gives_the_quality_rules(monitored: Any, log_hour: Any, tmp_path: Path) -> None:
    from mlgate.data.schema import ColumnSchema, Range, Schema

    folder = tmp_path / "log"
    log_hour(folder, monitored.served, monitored.test, hour(0))
    lowest = float(monitored.test["mean radius"].min())
    schema = Schema(columns={"mean radius": ColumnSchema("mean radius", range=Range(lowest + 1.0, 100.0))})
    path = schema.save(tmp_path / "mlgate.schema.yaml")
    report = monitor("bc@production", folder, until=hour(1), registry=monitored.registry, schema=path)
    (w,) = report.windows
    assert [(q.column, q.check) for q in w.quality] == [("mean radius", "out_of_range")]
    assert any("follows the rules of" in n for n in report.notes)


def test_cache_entries_unused_for_30_days_are_pruned(monitored: Any, log_hour: Any, tmp_path: Path) -> None:
    import os
    import time

    folder, cache = tmp_path / "log", tmp_path / "cache"
    log_hour(folder, monitored.served, monitored.test, hour(0))
    monitor("bc@production", folder, until=hour(1), registry=monitored.registry, cache=cache)
    entries = [*cache.glob("*.json"), *cache.glob("windows/*.json")]
    assert len(entries) == 2
    stale = cache / "stale.json"  # an entry of a file compaction replaced long ago
    stale.write_text("{}")
    month_ago = time.time() - 31 * 86400
    os.utime(stale, (month_ago, month_ago))
    for e in entries:  # used by the next run: touched, so kept
        os.utime(e, (month_ago, month_ago))
    again = monitor("bc@production", folder, until=hour(1), registry=monitored.registry, cache=cache)
    assert again.files_cached == 1 and again.windows_cached == 1
    assert not stale.exists() and all(e.exists() for e in entries)
