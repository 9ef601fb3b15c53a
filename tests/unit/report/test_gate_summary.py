"""The gate report's compact terminal view: checks failing first, their reasons, failing slices, the verdict."""

from __future__ import annotations

import copy
from typing import Any

from rich.console import Console

from mlgate.report.gate_summary import gate_summary
from mlgate.report.terminal import renderables
from mlgate.report.view import Table, Text, plain


def shown(report: dict[str, Any]) -> str:
    console = Console(width=240, record=True, color_system=None)
    for item in renderables(gate_summary(report)):
        console.print(item)
    return console.export_text()


def test_checks_fail_first_and_each_failure_says_why(binary_report: dict[str, Any]) -> None:
    doc = gate_summary(binary_report)
    assert doc.passed is False and plain(doc.title).startswith(binary_report["candidate"]["ref"])
    checks = next(b for b in doc.blocks if isinstance(b, Table) and b.key == "checks")
    statuses = [r.status for r in checks.rows]
    assert statuses[0] == "fail" and statuses.index("waived") > statuses.index("pass")  # waived checks go last
    lines = [plain(b.spans) for b in doc.blocks if isinstance(b, Text)]
    failing = [c for c in binary_report["checks"] if c["status"] != "pass" or c.get("waived")]
    assert sum(line.startswith(("✘", "!", "–", "?", "waived")) for line in lines) == len(failing)
    assert lines[-2].startswith("gate blocked: ") or lines[-1].startswith("gate blocked: ")


def test_terminal_text_shows_names_as_written(binary_report: dict[str, Any]) -> None:
    report = copy.deepcopy(binary_report)
    report["checks"][0]["name"] = "[bold red]approved[/]\x1b[2J"
    out = shown(report)
    assert "[bold red]approved[/]\\x1b[2J" in out and "\x1b" not in out
    assert "gate checks" in out and "gate blocked" in out


def test_a_first_model_is_gated_against_nothing(first_model_report: dict[str, Any]) -> None:
    out = shown(first_model_report)
    assert "vs nothing @production" in out and "gate passed: " in out
