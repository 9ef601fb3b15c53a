"""``mlgate logs``: empty logs, --since, the two maintenance steps (log files: tests/unit/serve/test_predlog.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.unit.cli.conftest import Result

Cli = Callable[..., Result]


def test_an_empty_log_says_so_and_is_an_empty_json_list(data_cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "log"
    folder.mkdir()
    r = data_cli("logs", str(folder), "--since", "2h")
    assert r.code == 0 and f"no requests logged in {folder} since 2h" in r.out
    assert data_cli("logs", str(folder), "--json").json() == []


def test_since_must_be_a_duration_or_a_time(data_cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "log"
    folder.mkdir()
    r = data_cli("logs", str(folder), "--since", "yesterday")
    assert r.code == 2
    assert (
        "--since must be a duration (30s, 15m, 2h, 1d, 1w) or an ISO time (2024-05-01T12:00), got 'yesterday'" in r.err
    )


def test_compact_and_convert_are_separate_steps(data_cli: Cli, tmp_path: Path) -> None:
    r = data_cli("logs", str(tmp_path), "--compact", "--convert")
    assert r.code == 2
    assert "--compact and --convert are separate steps" in r.err and "run --convert first" in r.err
