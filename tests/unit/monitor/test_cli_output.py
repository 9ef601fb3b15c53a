"""What ``mlgate monitor`` prints where stdout is not a terminal (a pipe, a file, a CI log)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from mlgate.cli import main

H0 = dt.datetime(2024, 5, 1, 9, tzinfo=dt.UTC)


@pytest.fixture
def piped(monitored: Any, log_hour: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], Path]:
    """Two hours of traffic, then an hour without any; the monitor's arguments; COLUMNS unset, as in CI."""
    folder = tmp_path / "log"
    for n in range(2):
        log_hour(folder, monitored.served, monitored.test, H0 + dt.timedelta(hours=n))
    monkeypatch.setenv("MLGATE_REGISTRY", monitored.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(monitored.artifacts))
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    args = ["monitor", "bc@production", "--log", str(folder), "--since", "2024-05-01T09:00"]
    return [*args, "--until", "2024-05-01T12:00"], folder


def test_a_pipe_gets_whole_headers_and_whole_notes(piped: Any, capsys: pytest.CaptureFixture[str]) -> None:
    args, _ = piped
    assert main([*args, "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert notes and max(len(n) for n in notes) > 80  # a note longer than the 80 columns it was cut at
    assert main(args) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "window (UTC)" in line)
    for name in ("requests", "rows", "errors", "p95 ms", "input drift", "prediction drift", "verdict"):
        assert f" {name} " in f" {header} ", (name, header)
    assert "…" not in out
    for note in notes:
        assert note in out, note  # whole, on one line
    assert all(line == line.rstrip() for line in out.splitlines())  # nothing padded out to the wide width
    assert max(len(line) for line in out.splitlines()) < 1000


def test_a_window_without_traffic_has_no_error_rate_and_refused_is_shown(
    piped: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    args, _ = piped
    assert main([*args, "--json"]) == 0
    busy, _, empty = json.loads(capsys.readouterr().out)["windows"]
    assert busy["requests"] == 20 and busy["error_rate"] == 0.0 and busy["refused"] == 0
    assert empty["requests"] == 0 and empty["error_rate"] is None  # none without traffic, as errors.rate
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if "window (UTC)" in line).split()
    assert header[header.index("errors") + 1] == "refused"
    busy_row = next(line for line in lines if line.lstrip().startswith("2024-05-01T09")).split()
    empty_row = next(line for line in lines if line.lstrip().startswith("2024-05-01T11")).split()
    assert busy_row[3:5] == ["0.0%", "0"]
    assert empty_row[1:5] == ["0", "0", "-", "0"]
