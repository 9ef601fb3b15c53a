"""Drift, validation and check reports as report views: one structure, one escaping rule in every format."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from mlgate.data.check import CheckReport
from mlgate.data.drift import drift
from mlgate.data.validate import Check, Example, ValidationReport, Violation
from mlgate.report.html import html_of
from mlgate.report.markdown import markdown_of
from mlgate.report.view import Document, Table, Text, plain

NAME = "a|b <c> `d`"


def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(3)
    ref = pl.DataFrame({NAME: rng.normal(size=600), "gone": rng.normal(size=600)})
    cur = pl.DataFrame({NAME: rng.normal(size=600) + 1.0, "new": rng.normal(size=600)})
    return ref, cur


def validation() -> ValidationReport:
    checks = [Check(NAME, "range_min", False), Check(NAME, "dtype", True), Check(None, "rows_min", True)]
    violation = Violation(NAME, "range_min", "1 value below 0", 1, (Example(2, "x|y\nz"),))
    return ValidationReport("data.csv", 10, 2, checks, [violation], "schema.yaml", "0-based")


def md_cells(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line)) - 1


def test_drift_view_has_the_verdict_a_row_per_column_and_the_column_lists() -> None:
    ref, cur = frames()
    report = drift(ref, cur)
    doc = report.to_view()
    assert doc.passed is False and plain(doc.title) == "Data drift"
    table = next(b for b in doc.blocks if isinstance(b, Table))
    assert [r.cells[0] for r in table.rows] == [c.column for c in report.columns]
    assert {r.status for r in table.rows} == {"fail"}
    lists = [plain(b.spans) for b in doc.blocks if isinstance(b, Text)]
    assert lists == ["missing from current (a failure): gone", "Only in current (not tested): new"]


def test_a_name_with_markup_is_escaped_alike_in_drift_and_validation() -> None:
    ref, cur = frames()
    for doc in (drift(ref, cur).to_view(), validation().to_view()):
        md = markdown_of(doc)
        rows = [line for line in md.splitlines() if line.startswith("| ") and "a\\|b" in line]
        assert rows, md
        header = next(line for line in md.splitlines() if line.startswith("| "))
        assert all(md_cells(row) == md_cells(header) for row in rows)  # the pipe never splits a cell
        assert "<c>" not in md.replace("`` a\\|b <c> `d` ``", "")  # outside code spans, `<` is an entity
        page = html_of(doc)
        assert "a|b &lt;c&gt; `d`" in page and "<c>" not in page


def test_validation_view_rows_and_markdown_section() -> None:
    doc = validation().to_view()
    table = next(b for b in doc.blocks if isinstance(b, Table))
    assert [(r.cells[0], r.cells[2], r.status) for r in table.rows] == [
        ("❌", "range_min", "fail"),
        ("✅", "dtype", "pass"),
        ("✅", "rows_min", "pass"),
    ]
    md = validation().to_markdown()
    assert md.startswith("### Data validation: ❌ 1 violation\n")
    assert "| ✅ | *(dataset)* | rows_min |  |  |" in md and "2: x\\|y z" in md


def test_check_view_nests_both_reports_at_their_own_levels() -> None:
    ref, cur = frames()
    doc = CheckReport(validation(), drift(ref, cur)).to_view()
    assert [type(b) for b in doc.blocks] == [Document, Document] and doc.passed is False
    md = markdown_of(doc)
    assert md.index("## Data check: ❌ failed") < md.index("### Data validation") < md.index("## Data drift")
