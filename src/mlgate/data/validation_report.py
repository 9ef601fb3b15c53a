"""What validation found: every rule checked, each violation with example rows, and the report's view.

:class:`ValidationReport` is what :func:`mlgate.data.validate.validate` returns; ``to_dict`` is the JSON
the CLI prints, ``to_view`` the report view every renderer draws (``to_markdown`` for CI summaries).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlgate.report.view import Document

EXAMPLE_JSON_CHARS = 1000  # of an example value kept in the JSON report; the length is kept too


@dataclass(frozen=True)
class Example:
    """One offending value and its 0-based row number."""

    row: int
    value: Any


@dataclass(frozen=True)
class Violation:
    """A rule that failed: ``rows`` offending rows (``None`` for column- and dataset-level rules)."""

    column: str | None
    rule: str
    message: str
    rows: int | None = None
    examples: tuple[Example, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready data."""
        return {
            "column": self.column,
            "rule": self.rule,
            "rows": self.rows,
            "message": self.message,
            "examples": [_json_example(e) for e in self.examples],
        }


@dataclass(frozen=True)
class Check:
    """A rule that was checked, and whether it passed."""

    column: str | None
    rule: str
    ok: bool


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of ``validate``: every check, and a Violation for each one that failed."""

    source: str
    rows: int
    columns: int
    checks: list[Check] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    schema: str | None = None
    row_note: str | None = None

    @property
    def ok(self) -> bool:
        """True when no rule failed."""
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready data."""
        return {
            "ok": self.ok,
            "source": self.source,
            "schema": self.schema,
            "rows": self.rows,
            "columns": self.columns,
            "checks": len(self.checks),
            "failed": len(self.violations),
            "row_numbers": self.row_note or "0-based",
            "violations": [v.to_dict() for v in self.violations],
        }

    def to_view(self) -> Document:
        """The report view: a ❌ row per failed rule, a ✅ row per column's passing rules, in schema order."""
        from mlgate.report.view import Code, Document, Em, Row, Table, Text

        head = "✅ passed" if self.ok else f"❌ {len(self.violations)} violation{'s' * (len(self.violations) != 1)}"
        line = [f"{self.source}: {self.rows:,} rows, {self.columns} columns, {len(self.checks)} checks"]
        if self.schema:
            line += [", schema ", Code(self.schema)]
        line.append(f". Row numbers: {self.row_note}." if self.row_note and not self.ok else ".")
        failed = {(v.column, v.rule): v for v in self.violations}
        order: list[str | None] = []
        for c in self.checks:
            if c.column not in order:
                order.append(c.column)
        rows = []
        for column in order:
            name = Em("(dataset)") if column is None else Code(column)
            passing = []
            for c in self.checks:
                if c.column != column:
                    continue
                v = failed.get((c.column, c.rule))
                if v is None:
                    passing.append(c.rule)
                    continue
                examples = ", ".join(f"{e.row}: {_short(e.value)}" for e in v.examples)
                count = "" if v.rows is None else f"{v.rows:,}"
                rows.append(Row(cells=("❌", name, c.rule, count, examples or v.message), status="fail"))
            if passing:
                rows.append(Row(cells=("✅", name, ", ".join(passing), "", ""), status="pass"))
        table = Table(
            key="validation",
            title="Rules",
            headers=("", "column", "rule", "rows", "examples (row: value)"),
            align="lllrl",
            rows=tuple(rows),
            fold="never",
            heading=False,
        )
        return Document(
            title=("Data validation: ", head),
            summary=(Text(*line),),
            blocks=(table,),
            passed=self.ok,
            level=3,
            key="validation",
        )

    def to_markdown(self) -> str:
        """The report view as a compact Markdown section for CI summaries (``### Data validation``)."""
        from mlgate.report.markdown import markdown_of

        return markdown_of(self.to_view())


def shown_value(value: Any, width: int = 60) -> str:
    """An example value for a terminal table: its repr, cut to ``width`` characters with the full length.

    A value can be a 5 MB string; printed whole, a table takes minutes to lay out and fills the log.
    """
    if value is None:
        return "null"
    if isinstance(value, str) and len(value) > width:
        return f"{value[:width]!r}… ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= width else f"{text[:width]}… ({len(text):,} characters)"


def _json_example(e: Example) -> dict[str, Any]:
    """``{"row", "value"}``; a long text keeps its first EXAMPLE_JSON_CHARS characters and says its length."""
    value = _json_value(e.value)
    if isinstance(value, str) and len(value) > EXAMPLE_JSON_CHARS:
        return {"row": e.row, "value": value[:EXAMPLE_JSON_CHARS], "length": len(value), "truncated": True}
    return {"row": e.row, "value": value}


def _short(value: Any, width: int = 40) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)
