"""A wrong label file: every problem named by line and column in one message; unknown ids and new classes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from mlgate.cli import main
from mlgate.monitor.labels import read_labels

H0 = dt.datetime(2024, 5, 1, 9, tzinfo=dt.UTC)


@pytest.fixture
def logged(monitored: Any, log_hour: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One hour of the breast-cancer classifier's traffic (classes 0 and 1, probabilities logged)."""
    folder = tmp_path / "log"
    log_hour(folder, monitored.served, monitored.test, H0)
    monkeypatch.setenv("MLGATE_REGISTRY", monitored.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(monitored.artifacts))
    return folder


def add(file: Path, log: Path, store: Path, *extra: str) -> int:
    return main(["labels", "add", str(file), "--log", str(log), "--labels", str(store), *extra])


def test_every_wrong_line_is_named_with_its_column_and_nothing_is_stored(
    logged: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "outcomes.csv"
    csv.write_text(
        "request_id,row,label,time\n"
        "r09-0,0,1,2024-05-01T09:30:00Z\n"  # line 2: fine
        "r09-0,0,1,2024-05-01T09:30:00Z\n"  # line 3: labelled twice
        "r09-1,x,0,2024-05-01T09:30:00Z\n"  # line 4: row not a number
        "r09-2,0,,2024-05-01T09:30:00Z\n"  # line 5: empty label
        "r09-3,0,1,yesterday\n"  # line 6: not a time
        "nope,0,1,2024-05-01T09:30:00Z\n"  # line 7: never answered
    )
    store = tmp_path / "labels"
    assert add(csv, logged, store) == 2
    err = capsys.readouterr().err
    assert "outcomes.csv has 5 problem(s); nothing was stored" in err
    for expected in (
        "line 3, column 'request_id': labels request 'r09-0' row 0 again (first on line 2)",
        "line 4, column 'row': holds 'x', not a whole number",
        "line 5, column 'label': is empty",
        "line 6, column 'time': is 'yesterday', not an ISO time",
        "line 7, column 'request_id': request 'nope' was never answered",
    ):
        assert expected in err, (expected, err)
    assert "line 2" not in err.replace("first on line 2", "")
    assert read_labels(store) is None


def test_the_list_is_capped_and_says_how_many_more(
    logged: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "unknown.csv"
    csv.write_text("request_id,label\n" + "".join(f"ghost-{i},1\n" for i in range(25)))
    store = tmp_path / "labels"
    assert add(csv, logged, store) == 2
    err = capsys.readouterr().err
    assert "has 25 problem(s)" in err and "and 15 more" in err
    assert "line 11, column 'request_id': request 'ghost-9'" in err and "ghost-10'" not in err
    assert "--skip-unknown" in err
    assert read_labels(store) is None


def test_skip_unknown_stores_the_logged_requests_and_counts_the_rest(
    logged: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "mixed.csv"
    csv.write_text("request_id,row,label\nr09-0,0,1\nghost-1,0,0\nr09-1,0,0\nghost-1,1,0\nghost-2,0,1\n")
    store = tmp_path / "labels"
    assert add(csv, logged, store, "--skip-unknown") == 0
    out = capsys.readouterr().out
    assert "stored 2 label(s)" in out
    assert "skipped 3 label(s) of 2 request id(s) the log never answered: 'ghost-1', 'ghost-2'" in out
    stored = read_labels(store)
    assert stored is not None and sorted(stored["request_id"].to_list()) == ["r09-0", "r09-1"]
    # only unknown ids: nothing left to store is still an error
    only = tmp_path / "only.csv"
    only.write_text("request_id,label\nghost-1,1\n")
    assert add(only, logged, store, "--skip-unknown") == 2
    assert "every label names a request id the log" in capsys.readouterr().err
    assert (
        main(["labels", "add", str(csv), "--log", str(logged), "--labels", str(store), "--skip-unknown", "--json"]) == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["labels"] == 2 and doc["skipped"] == 3 and doc["skipped_ids"] == ["ghost-1", "ghost-2"]


def test_a_label_outside_the_models_classes_is_refused_unless_allowed(
    logged: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "named.csv"
    csv.write_text("request_id,label\nr09-0,1\nr09-1,malignant\nr09-2,malignant\nr09-3,unsure\n")
    store = tmp_path / "labels"
    assert add(csv, logged, store) == 2
    err = capsys.readouterr().err
    assert "line 3, column 'label': 'malignant' is not one of the model's classes (0, 1)" in err
    assert "line 4, column 'label': 'malignant'" in err and "line 5, column 'label': 'unsure'" in err
    assert "line 2" not in err and "--allow-new-classes" in err
    assert read_labels(store) is None
    assert add(csv, logged, store, "--allow-new-classes") == 0
    out = capsys.readouterr().out
    assert "stored 4 label(s)" in out
    assert "outside the model's classes stored (--allow-new-classes): 'malignant' ×2, 'unsure' ×1" in out
    stored = read_labels(store)
    assert stored is not None and stored.height == 4


def test_json_lines_are_numbered_from_one(logged: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonl = tmp_path / "outcomes.jsonl"
    jsonl.write_text('{"request_id": "r09-0", "label": 1}\n{"request_id": "r09-1", "label": 7}\n')
    assert add(jsonl, logged, tmp_path / "labels") == 2
    assert "line 2, column 'label': '7' is not one of the model's classes (0, 1)" in capsys.readouterr().err
