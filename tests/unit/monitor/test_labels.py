"""Delayed labels: checked before anything is stored, joined by request id and row, realized metrics per window."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from mlgate.cli import main
from mlgate.monitor import Limits, monitor
from mlgate.monitor.labels import hanley_mcneil, wilson

UTC = dt.UTC
H0 = dt.datetime(2024, 5, 1, 9, tzinfo=UTC)


def labels_for(monitored: Any, hour: dt.datetime, *, flip: bool = False, requests: int = 20, rows: int = 5) -> list:
    """The true labels of the rows ``log_hour`` sent in ``hour`` (flipped: every one wrong)."""
    y = monitored.y_test
    out = []
    for i in range(requests):
        part = y.iloc[(i * rows) % len(y) :][:rows]
        for j, value in enumerate(part.tolist()):
            out.append({"request_id": f"r{hour:%H}-{i}", "row": j, "label": str(1 - value if flip else value)})
    return out


def test_labels_give_realized_accuracy_per_window_and_a_breach_when_it_drops(
    monitored: Any, log_hour: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "log"
    later = H0 + dt.timedelta(hours=1)
    log_hour(folder, monitored.served, monitored.test, H0)
    log_hour(folder, monitored.served, monitored.test, later)
    pl.DataFrame(labels_for(monitored, H0)).write_csv(tmp_path / "good.csv")
    # the second hour's outcomes say the model got everything wrong
    pl.DataFrame(labels_for(monitored, later, flip=True)).write_parquet(tmp_path / "bad.parquet")
    monkeypatch.setenv("MLGATE_REGISTRY", monitored.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(monitored.artifacts))
    assert main(["labels", "add", str(tmp_path / "good.csv"), "--log", str(folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["labels"] == 100
    assert main(["labels", "add", str(tmp_path / "bad.parquet"), "--log", str(folder)]) == 0
    capsys.readouterr()
    args = ["monitor", "bc@production", "--log", str(folder), "--until", "2024-05-01T11:00", "--json"]
    assert main([*args, "--min-accuracy", "0.8"]) == 1
    doc = json.loads(capsys.readouterr().out)
    first, second = doc["windows"]
    assert first["realized"]["labelled"] == 100 and first["realized"]["metrics"]["accuracy"] > 0.9
    assert 0.9 < first["realized"]["metrics"]["roc_auc"] <= 1.0 and first["breaches"] == []
    # the estimate (no labels needed) is close to what the labels then showed on the clean hour
    estimated = first["estimated"]["metrics"]
    assert estimated["accuracy"] == pytest.approx(first["realized"]["metrics"]["accuracy"], abs=0.1)
    low, high = first["realized"]["intervals"]["roc_auc"]
    assert low < first["realized"]["metrics"]["roc_auc"] <= high <= 1.0
    assert second["realized"]["metrics"]["accuracy"] < 0.1
    assert any(b.startswith("accuracy") for b in second["breaches"])
    # a correction for the second hour replaces the wrong labels
    pl.DataFrame(labels_for(monitored, later)).write_csv(tmp_path / "fixed.csv")
    assert main(["labels", "add", str(tmp_path / "fixed.csv")]) == 0
    assert main([*args, "--min-accuracy", "0.8"]) == 0


def test_a_wrong_label_file_stores_nothing_and_names_the_problem(
    monitored: Any, log_hour: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "log"
    log_hour(folder, monitored.served, monitored.test, H0)
    monkeypatch.setenv("MLGATE_REGISTRY", monitored.url)
    cases = {
        "nolabel.csv": ({"request_id": ["r09-0"], "outcome": [1]}, "has no 'label' column"),
        "unknown.csv": (
            {"request_id": ["r09-0", "zzz"], "label": [1, 0]},
            "line 3, column 'request_id': request 'zzz' was never answered",
        ),
        "row.csv": (
            {"request_id": ["r09-0"], "row": ["first"], "label": [1]},
            "line 2, column 'row': holds 'first', not a whole number",
        ),
        "twice.csv": (
            {"request_id": ["r09-0", "r09-0"], "label": [1, 0]},
            "line 3, column 'request_id': labels request 'r09-0' row 0 again (first on line 2)",
        ),
        "time.csv": (
            {"request_id": ["r09-0"], "label": [1], "time": ["yesterday"]},
            "line 2, column 'time': is 'yesterday', not an ISO time",
        ),
        "null.csv": ({"request_id": ["r09-0", None], "label": [1, 0]}, "line 3, column 'request_id': is empty"),
    }
    for name, (columns, message) in cases.items():
        pl.DataFrame(columns).write_csv(tmp_path / name)
        assert main(["labels", "add", str(tmp_path / name), "--log", str(folder)]) == 2, name
        err = capsys.readouterr().err
        assert name in err and message in err, (name, err)
    assert not (tmp_path / "work" / ".mlgate" / "monitor" / "labels").exists()


def test_wilson_interval() -> None:
    low, high = wilson(90, 100)
    assert 0.82 < low < 0.83 and 0.94 < high < 0.95
    low, high = hanley_mcneil(0.8, 50, 50)  # their formula by hand: SE sqrt(4.951 / 2500) = 0.0445
    assert high - low == pytest.approx(2 * 1.959964 * 0.0445, abs=0.001)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)


def test_monitor_without_labels_reports_no_realized_metrics(monitored: Any, log_hour: Any, tmp_path: Path) -> None:
    log_hour(tmp_path / "log", monitored.served, monitored.test, H0)
    report = monitor(
        "bc@production",
        tmp_path / "log",
        until=H0 + dt.timedelta(hours=1),
        limits=Limits(min_accuracy=0.9),
        registry=monitored.registry,
        labels=tmp_path / "none",
    )
    assert report.windows[0].realized is None and not report.breached
