"""Small state files written whole or not at all, and paths as reports show them."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from mlgate.files import project_relative, write_atomic


def test_a_reader_sees_the_old_or_the_new_file_never_a_part(tmp_path: Path) -> None:
    path = tmp_path / "state" / "mlgate.lock"  # the folder is made on demand
    old, new = "a" * 200_000, "b" * 200_000
    write_atomic(path, old)
    seen: set[str] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.add(path.read_text())

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(50):
        write_atomic(path, new if i % 2 else old, durable=i % 10 == 0)
    done.set()
    reader.join()
    assert seen <= {old, new}
    assert [p.name for p in path.parent.iterdir()] == ["mlgate.lock"]  # no temporary file left behind


def test_bytes_are_written_as_given(tmp_path: Path) -> None:
    write_atomic(tmp_path / "blob", b"\x00\xff")
    assert (tmp_path / "blob").read_bytes() == b"\x00\xff"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "state" / "cache.json"
    write_atomic(path, "{}")
    with pytest.raises(TypeError):
        write_atomic(path, 42)  # type: ignore[arg-type]
    assert path.read_text() == "{}"
    assert os.listdir(path.parent) == ["cache.json"]


def test_reports_name_files_relative_to_the_project(tmp_path: Path) -> None:
    root = tmp_path / "project"
    assert project_relative(root / "data" / "eval.csv", root) == "data/eval.csv"
    assert project_relative(str(root / "data" / "eval.csv"), root) == "data/eval.csv"
    assert project_relative("data/eval.csv", root) == "data/eval.csv"  # already relative: unchanged
    outside = tmp_path / "elsewhere" / "eval.csv"
    assert project_relative(outside, root) == str(outside)  # nothing to shorten: the path as given
