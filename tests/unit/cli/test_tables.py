"""Tables at 80 columns and in a pipe: refs, versions and digests are never cut."""

from __future__ import annotations

import re

import pytest

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def three_versions(cli, model_file):  # type: ignore[no-untyped-def]
    path, data = model_file
    for _ in range(3):
        assert cli("model", "register", str(path), "--name", "fraud-detector", "--data", str(data)).code == 0
    assert cli("promote", "fraud-detector:2", "--to", "staging", "--reason", "qa").code == 0
    return [cli("model", "show", f"fraud-detector:{n}", "--json").json() for n in (1, 2, 3)]


def test_a_pipe_gets_plain_aligned_rows(cli, three_versions, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    r = cli("model", "list", "fraud-detector")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert not re.search("[│┃━─…]", r.out)
    header = next(line for line in lines if line.startswith("#"))
    rows = [line for line in lines if line[:1].isdigit()]
    assert len(rows) == 3
    for mv, row in zip(three_versions, rows, strict=True):
        assert mv["semver"] in row and mv["digest"][:19] in row  # blake3: + 12 hex digits
        assert mv["status"] in row.split()
    # aligned: every row's digest starts where the header's digest column does
    assert {row.index("blake3:") for row in rows} == {header.index("digest")}
    assert "staging" in rows[1]


def test_an_80_column_terminal_folds_other_columns_but_keeps_identifiers(cli, three_versions, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("FORCE_COLOR", "1")  # Rich treats the output as a terminal
    r = cli("model", "list", "fraud-detector")
    assert r.code == 0, r.err
    out = ANSI.sub("", r.out)
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    for mv in three_versions:
        assert mv["semver"] in out and mv["digest"][:19] in out and mv["status"] in out
    history = ANSI.sub("", cli("model", "history", "fraud-detector").out)
    assert "staging" in history and "…" not in history


def test_plain_table_keeps_titles_multiline_cells_and_right_justification() -> None:
    from rich.table import Table

    from mlgate.cli.tables import plain_table

    t = Table(title="[bold]runs[/]")
    t.add_column("id")
    t.add_column("time", justify="right")
    t.add_row("a1", "1.50 s")
    t.add_row("b22\nsecond line", "12.00 s")
    assert plain_table(t).plain.splitlines() == [
        "runs",
        "id              time",
        "a1            1.50 s",
        "b22          12.00 s",
        "second line",
    ]
