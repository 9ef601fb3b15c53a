"""What drift found: one ``ColumnDrift`` per column, the ``DriftReport`` verdict, and its report view."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlgate.data.drift.config import P_VALUE_METHODS

if TYPE_CHECKING:
    from mlgate.report.view import Document


@dataclass(frozen=True)
class ColumnDrift:
    """The verdict on one column. ``method`` is a test name, or ``type_mismatch``/``empty``/``missing``/``skipped``.

    ``threshold`` applies to the p-value for p-value tests and to the statistic for distances
    (``compared`` says which; ``comparison()`` shows the value beside it).
    """

    column: str
    kind: str
    method: str
    drifted: bool
    severity: float
    n_ref: int
    n_cur: int
    exact: bool
    statistic: float | None = None
    threshold: float | None = None
    p_value: float | None = None
    reason: str | None = None

    @property
    def tested(self) -> bool:
        """Whether the column counts towards the drifted share (skipped columns do not)."""
        return self.method != "skipped"

    @property
    def compared(self) -> str | None:
        """What the threshold applies to: ``p_value`` for p-value tests, ``statistic`` for distances."""
        if self.threshold is None:
            return None
        return "p_value" if self.method in P_VALUE_METHODS else "statistic"

    def comparison(self) -> str:
        """The value the verdict rests on, set against its threshold: ``p 0.012 < 0.05``, ``0.13 ≥ 0.1``."""
        if self.threshold is None:
            return "-"
        if self.compared == "p_value":
            sign = "<" if self.drifted else "≥"
            return f"p {fmt(self.p_value)} {sign} {fmt(self.threshold)}"
        sign = "≥" if self.drifted else "<"
        return f"{fmt(self.statistic)} {sign} {fmt(self.threshold)}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; a non-finite severity is written as null."""
        return {
            "column": self.column,
            "kind": self.kind,
            "method": self.method,
            "statistic": self.statistic,
            "threshold": self.threshold,
            "compared": self.compared,
            "p_value": self.p_value,
            "drifted": self.drifted,
            "severity": self.severity if math.isfinite(self.severity) else None,
            "n_ref": self.n_ref,
            "n_cur": self.n_cur,
            "exact": self.exact,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DriftReport:
    """Per-column drift, largest first, and the dataset verdict."""

    columns: list[ColumnDrift]
    rows_ref: int
    rows_cur: int
    share: float
    engine: str
    only_in_reference: list[str] = field(default_factory=list)
    only_in_current: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the drifted columns, largest drift first."""
        return [c.column for c in self.columns if c.drifted]

    @property
    def drifted_share(self) -> float:
        """Drifted columns over tested columns (0 when none was tested)."""
        tested = sum(c.tested for c in self.columns)
        return len(self.drifted_columns) / tested if tested else 0.0

    @property
    def missing_columns(self) -> list[str]:
        """Reference columns the current data lacks (and no ``ignore`` names): each one fails the check."""
        return [c.column for c in self.columns if c.method == "missing"]

    @property
    def dataset_drift(self) -> bool:
        """Whether the drifted share reaches the configured share, or a reference column is missing."""
        return bool(self.missing_columns) or (any(c.tested for c in self.columns) and self.drifted_share >= self.share)

    def __getitem__(self, column: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == column:
                return c
        raise KeyError(column)

    def summary(self) -> str:
        """One line: the verdict and the counts behind it."""
        tested = sum(c.tested for c in self.columns)
        verdict = "dataset drift" if self.dataset_drift else "no dataset drift"
        missing = self.missing_columns
        return (
            f"{verdict}: {len(self.drifted_columns)} of {tested} columns drifted "
            f"(share {self.drifted_share:.2f}, limit {self.share:g})"
            + (f"; missing from current: {', '.join(missing)}" if missing else "")
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "dataset_drift": self.dataset_drift,
            "drifted_share": self.drifted_share,
            "share": self.share,
            "drifted_columns": self.drifted_columns,
            "rows_ref": self.rows_ref,
            "rows_cur": self.rows_cur,
            "engine": self.engine,
            "only_in_reference": self.only_in_reference,
            "only_in_current": self.only_in_current,
            "ignored": self.ignored,
            "columns": [c.to_dict() for c in self.columns],
        }

    def to_view(self) -> Document:
        """The report view: the verdict and counts, one table row per column (largest drift first), then the
        reference columns missing from the current data, the columns only in current, and those ignored."""
        from mlgate.report.view import Code, Document, Row, Strong, Table, Text

        rows = []
        for c in self.columns:
            word = "missing" if c.method == "missing" else "drift" if c.drifted else "ok" if c.tested else "skipped"
            verdict = (Strong(word) if c.drifted else word, f" ({c.reason})" if c.reason else "")
            status = "fail" if c.drifted else "pass" if c.tested else "skip"
            cells = (c.column, c.method, fmt(c.statistic), fmt(c.p_value), c.comparison(), verdict)
            rows.append(Row(cells=cells, status=status))
        table = Table(
            key="drift",
            title="Columns",
            headers=("column", "method", "statistic", "p-value", "compared with threshold", "verdict"),
            align="llrrrl",
            rows=tuple(rows),
            fold="never",
            heading=False,
        )
        lists = []
        for label, names in (
            ("missing from current (a failure)", self.missing_columns),
            ("Only in current (not tested)", self.only_in_current),
            ("Ignored", self.ignored),
        ):
            if names:
                named = [part for i, n in enumerate(names) for part in ((", ",) if i else ()) + (Code(n),)]
                lists.append(Text(f"{label}: ", *named))
        where = f" · reference {self.rows_ref:,} rows · current {self.rows_cur:,} rows · {self.engine}"
        return Document(
            title=("Data drift",),
            summary=(Text(Strong(self.summary()), where),),
            blocks=(table, *lists),
            passed=not self.dataset_drift,
            key="drift",
        )

    def to_markdown(self) -> str:
        """The report view as a Markdown section (``## Data drift``)."""
        from mlgate.report.markdown import markdown_of

        return markdown_of(self.to_view())


def fmt(value: float | None) -> str:
    """A statistic for tables: 4 significant digits, scientific when tiny, ``-`` when absent."""
    if value is None:
        return "-"
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"
