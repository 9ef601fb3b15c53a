"""What every command shares (cli/_common.py): printing stored text safely, digests, times, reports, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mlgate.cli._common import emit_report, print_error, printable, short_digest, when
from mlgate.errors import CheckFailed, ConfigError


def test_stored_text_cannot_style_the_terminal_or_send_escape_sequences() -> None:
    # markup escaped; the escape character and a right-to-left override shown as text, not sent
    assert printable("[bold red]pwned[/] \x1b[2J\u202eevil") == r"\[bold red]pwned\[/] \x1b[2J\u202eevil"
    assert printable("two\nlines") == "two\\nlines"
    assert printable("two\nlines", newlines=True) == "two\nlines"


def test_digests_and_times_for_tables() -> None:
    assert short_digest("blake3:" + "1a2b3c4d5e6f" + "0" * 52) == "blake3:1a2b3c4d5e6f"
    assert when(datetime(2024, 5, 1, 12, 30, 5, 999, tzinfo=UTC)) == "2024-05-01 12:30:05"
    assert when(None) == ""


class _Report:
    def to_markdown(self) -> str:
        return "## report\n"

    def to_dict(self) -> dict[str, Any]:
        return {"ok": True}


def test_a_report_is_appended_as_markdown_then_printed_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# before\n")
    rendered: list[_Report] = []
    emit_report(_Report(), markdown=summary, as_json=True, render=rendered.append)
    assert summary.read_text() == "# before\n## report\n"  # CI job summaries are appended to, never replaced
    assert json.loads(capsys.readouterr().out) == {"ok": True}
    assert rendered == []
    report = _Report()
    emit_report(report, markdown=None, as_json=False, render=rendered.append)
    assert rendered == [report]


def test_errors_print_one_line_and_a_hint_with_secrets_masked(capsys: pytest.CaptureFixture[str]) -> None:
    print_error(ConfigError("cannot reach postgresql://ana:s3cret@db/x", hint="check the password"))
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach postgresql://ana:***@db/x")
    assert "s3cret" not in err and "hint: check the password" in err
    print_error(CheckFailed("the gate blocked bc:2"))
    assert capsys.readouterr().err == "failed: the gate blocked bc:2\n"
