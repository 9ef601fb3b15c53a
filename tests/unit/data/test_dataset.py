"""``Dataset``: one rule to find the evaluation data, one digest that ignores the current folder."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mlgate.config import load_settings
from mlgate.data.dataset import Dataset, configured_dataset, digest_of, resolve_dataset
from mlgate.errors import NotFoundError


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "a.csv").write_text("x,y\n1,0\n2,1\n", encoding="utf-8")
    (tmp_path / "parts" / "b.csv").write_text("x,y\n3,1\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "mlgate.yaml").write_text("data: {eval: parts/*.csv, target: y}\n", encoding="utf-8")
    return tmp_path


def test_a_glob_digests_alike_from_any_folder_and_written_any_way(project: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(project)
    here = resolve_dataset("parts/*.csv", project).digest
    absolute = resolve_dataset(str(project / "parts" / "*.csv"), project).digest
    monkeypatch.chdir(project / "sub")
    settings = load_settings(environ={})
    configured = configured_dataset(settings.data, settings.root)
    assert configured is not None and configured.origin == "data.eval"
    assert here == absolute == configured.digest
    assert configured.name == "parts/*.csv"


def test_the_digest_follows_content_and_file_names(project: Path) -> None:
    before = digest_of(str(project / "parts" / "*.csv"), project)
    (project / "parts" / "b.csv").write_text("x,y\n3,0\n", encoding="utf-8")
    changed = digest_of(str(project / "parts" / "*.csv"), project)
    (project / "parts" / "b.csv").rename(project / "parts" / "c.csv")
    renamed = digest_of(str(project / "parts" / "*.csv"), project)
    assert len({before, changed, renamed}) == 3


def test_a_single_file_digests_its_bytes_only(project: Path) -> None:
    one = resolve_dataset(project / "parts" / "a.csv", project)
    (project / "copy.csv").write_bytes((project / "parts" / "a.csv").read_bytes())
    assert one.digest == resolve_dataset("copy.csv", project).digest
    assert one.is_files and one.name == "parts/a.csv"


def test_a_table_digests_its_rows(project: Path) -> None:
    frame = pl.DataFrame({"x": [1, 2], "y": [0, 1]})
    table = resolve_dataset(frame, project)
    assert not table.is_files and table.name == "<DataFrame>"
    assert table.digest == Dataset(frame.clone(), project).digest
    assert table.digest != Dataset(frame.head(1), project).digest


def test_a_relative_path_is_read_here_first_then_from_the_project(project: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(project / "sub")
    assert resolve_dataset("parts/a.csv", project).source == project / "parts" / "a.csv"
    (project / "sub" / "parts").mkdir()
    (project / "sub" / "parts" / "a.csv").write_text("x,y\n9,1\n", encoding="utf-8")
    assert resolve_dataset("parts/a.csv", project).source == project / "sub" / "parts" / "a.csv"


def test_missing_data_names_where_it_was_given(project: Path) -> None:
    (project / "mlgate.yaml").write_text("data: {eval: nope.csv}\n", encoding="utf-8")
    settings = load_settings(cwd=project, environ={})
    with pytest.raises(NotFoundError, match=r"mlgate\.yaml:1: data\.eval nope\.csv does not exist") as info:
        configured_dataset(settings.data, project)
    assert "mlgate.yaml" in (info.value.hint or "")
    with pytest.raises(NotFoundError, match=r"^--data missing/\*\.csv matches no files"):
        configured_dataset(settings.data, project, given="missing/*.csv")


def test_nothing_configured_resolves_to_none(tmp_path: Path) -> None:
    settings = load_settings(cwd=tmp_path, environ={})
    assert configured_dataset(settings.data, tmp_path) is None
