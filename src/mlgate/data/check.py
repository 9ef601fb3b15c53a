"""``check``: validation and drift of the current data from one read, one report, one verdict.

What CI runs on every new batch is ``validate`` then ``drift``; run apart, each reads the current data
and each pays its own start-up. ``check`` profiles the current data once with the validation counts
riding along (:func:`mlgate.data.validate.profile_and_validate`), then compares that profile with the
reference's (a profile JSON file or object, such as a model's stored training profile that the CLI
resolves through :mod:`mlgate.reference`, or the reference data profiled once), so drift goes through
the sketch path of :mod:`mlgate.data.drift`. CSV data, or a schema with ``unique`` on a column, costs a
second read of the current data, as ``profile_and_validate`` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlgate.data.drift import DriftConfig, DriftReport
    from mlgate.data.schema import Schema
    from mlgate.data.validate import ValidationReport
    from mlgate.report.view import Document


@dataclass(frozen=True)
class CheckReport:
    """The validation of the current data and its drift from the reference; ``ok`` when both pass."""

    validation: ValidationReport
    drift: DriftReport

    @property
    def ok(self) -> bool:
        """True when no schema rule failed and the data has not drifted (no reference column is missing)."""
        return self.validation.ok and not self.drift.dataset_drift

    def summary(self) -> str:
        """One line: the verdict of each half."""
        failed = len(self.validation.violations)
        rules = "schema passed" if self.validation.ok else f"{failed} schema violation{'s' * (failed != 1)}"
        return f"{'passed' if self.ok else 'failed'}: {rules}; {self.drift.summary()}"

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready data: the verdict, then both reports as their own commands print them."""
        return {"ok": self.ok, "validation": self.validation.to_dict(), "drift": self.drift.to_dict()}

    def to_view(self) -> Document:
        """The report view: the verdict, then the validation and the drift reports' own views."""
        from mlgate.report.view import Document, Text

        head = "✅ passed" if self.ok else "❌ failed"
        return Document(
            title=("Data check: ", head),
            summary=(Text(self.summary()),),
            blocks=(self.validation.to_view(), self.drift.to_view()),
            passed=self.ok,
            key="check",
        )

    def to_markdown(self) -> str:
        """The report view as one Markdown section: the verdict, then the validation and drift tables."""
        from mlgate.report.markdown import markdown_of

        return markdown_of(self.to_view())


def check(
    reference: Any,
    current: Any,
    schema: Schema | str | Path,
    *,
    config: DriftConfig | None = None,
    batch_rows: int = 250_000,
) -> CheckReport:
    """Validate ``current`` against ``schema`` and compare it with ``reference``, reading ``current`` once.

    ``reference`` is what :func:`mlgate.data.drift.drift` takes: data or a profile (object or JSON file);
    for a model's training profile, resolve the reference first (:func:`mlgate.reference.resolve_reference`).
    """
    from mlgate.data.drift import drift, resolve_source
    from mlgate.data.validate import profile_and_validate

    reference = resolve_source(reference)  # a model reference is refused before the current data is read
    current_profile, validation = profile_and_validate(current, schema, batch_rows=batch_rows)
    drifted = drift(reference, current_profile, config=config)
    return CheckReport(validation, drifted)
