"""The monitor cache parses a file's partials only when a window needs them, and gives the cold run's report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from mlgate.monitor import monitor
from mlgate.monitor.partials import FORMAT

UTC = dt.UTC
H0 = dt.datetime(2024, 5, 1, 9, tzinfo=UTC)


def hour(n: int) -> dt.datetime:
    return H0 + dt.timedelta(hours=n)


def run(monitored: Any, folder: Path, cache: Path | None) -> Any:
    return monitor("bc@production", folder, until=hour(4), registry=monitored.registry, cache=cache)


def test_a_new_file_in_a_cached_hour_merges_with_the_cached_partials_as_a_cold_run(
    monitored: Any, log_hour: Any, tmp_path: Path
) -> None:
    folder, cache = tmp_path / "log", tmp_path / "cache"
    for n in range(3):
        log_hour(folder, monitored.served, monitored.test, hour(n))
    run(monitored, folder, cache)
    log_hour(folder, monitored.served, monitored.test, hour(1), requests=7)  # a second file in hour 1
    log_hour(folder, monitored.served, monitored.test, hour(3))
    grown = run(monitored, folder, cache)
    assert (grown.files_read, grown.files_cached) == (2, 3)
    assert grown.windows_cached == 2  # hours 0 and 2; hour 1 is judged again with its two files
    assert grown.windows[1].requests == 27
    cold = run(monitored, folder, None)
    assert grown.to_dict()["windows"] == cold.to_dict()["windows"]


def test_entries_are_written_with_a_header_naming_their_windows(monitored: Any, log_hour: Any, tmp_path: Path) -> None:
    import json

    folder, cache = tmp_path / "log", tmp_path / "cache"
    log_hour(folder, monitored.served, monitored.test, hour(0))
    run(monitored, folder, cache)
    (entry,) = cache.glob("*.json")
    head, body = entry.read_text(encoding="utf-8").split("\n")
    assert json.loads(head)["format"] == FORMAT
    assert json.loads(head)["windows"] == [hour(0).isoformat()]
    assert list(json.loads(body)) == [hour(0).isoformat()]


def test_a_damaged_entry_is_computed_again_from_its_file(monitored: Any, log_hour: Any, tmp_path: Path) -> None:
    folder, cache = tmp_path / "log", tmp_path / "cache"
    for n in range(2):
        log_hour(folder, monitored.served, monitored.test, hour(n))
    run(monitored, folder, cache)
    first, second = sorted(cache.glob("*.json"), key=lambda p: p.read_text(encoding="utf-8"))
    # a damaged header: the file is read again
    first.write_text("{not json\n{}", encoding="utf-8")
    # a damaged body under a sound header, in a window judged again: computed again from the file
    head = second.read_text(encoding="utf-8").split("\n")[0]
    second.write_text(head + "\n{truncated", encoding="utf-8")
    for verdict in (cache / "windows").glob("*.json"):
        verdict.unlink()
    again = run(monitored, folder, cache)
    assert (again.files_read, again.files_cached) == (1, 1)
    assert again.to_dict()["windows"] == run(monitored, folder, None).to_dict()["windows"]
    assert "{truncated" not in second.read_text(encoding="utf-8")  # stored again
