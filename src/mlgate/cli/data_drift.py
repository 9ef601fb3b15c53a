"""``mlgate data drift REFERENCE CURRENT``: per-column drift tests and the verdict; ``mlgate data check``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mlgate.cli._common import console, emit_report, registry

if TYPE_CHECKING:
    from mlgate.data.check import CheckReport
    from mlgate.data.drift import DriftReport

METHOD_NAMES = "auto|ks|chi2|wasserstein|jensenshannon|psi"


def drift(
    ctx: typer.Context,
    reference: str = typer.Argument(
        ...,
        metavar="REFERENCE",
        help="Reference data (file, folder, glob), its profile JSON, or a model (fraud@production).",
    ),
    current: str = typer.Argument(
        ..., metavar="CURRENT", help="Current data (file, folder, glob) or its profile JSON file."
    ),
    share: float = typer.Option(0.5, "--share", help="Dataset drift when at least this share of columns drifted."),
    method: str = typer.Option("auto", "--method", help=f"Test for every column it fits: {METHOD_NAMES}."),
    threshold: float | None = typer.Option(
        None, "--threshold", help="Threshold for every column (p-value or distance)."
    ),
    column_threshold: list[str] = typer.Option(
        [], "--column-threshold", help="COLUMN=VALUE, repeatable: one column's threshold."
    ),
    column_method: list[str] = typer.Option([], "--column-method", help="COLUMN=METHOD, repeatable."),
    ignore: list[str] = typer.Option([], "--ignore", help="A column to leave out, repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    markdown: Path | None = typer.Option(
        None, "--markdown", help="Append a Markdown summary to this file (e.g. $GITHUB_STEP_SUMMARY)."
    ),
) -> None:
    """Compare current data with a reference, column by column. Exit 1 on dataset drift or a missing column."""
    from mlgate.data.drift import ColumnDriftConfig, DriftConfig
    from mlgate.data.drift import drift as run_drift

    thresholds = {k: _number(k, v) for k, v in _pairs(column_threshold, "--column-threshold", "COLUMN=VALUE")}
    methods = dict(_pairs(column_method, "--column-method", "COLUMN=METHOD"))
    columns = {
        name: ColumnDriftConfig(method=methods.get(name), threshold=thresholds.get(name))
        for name in {*thresholds, *methods}
    }
    config = DriftConfig(method=method, threshold=threshold, share=share, columns=columns, ignore=ignore)
    report = run_drift(reference_of(ctx, reference), current, config=config)
    emit_report(report, markdown=markdown, as_json=as_json, render=_render)
    if report.dataset_drift:
        raise typer.Exit(1)


def reference_of(ctx: typer.Context, reference: str) -> Any:
    """What drift compares with: a model reference (``fraud@production``) resolved to the version's training
    profile, any other argument as given. Only a model reference opens the registry (0.25 s)."""
    if Path(reference).exists() or not ("@" in reference or ":" in reference):
        return reference
    from mlgate.reference import resolve_reference

    return resolve_reference(reference, registry=registry(ctx))


def _pairs(items: list[str], flag: str, form: str) -> list[tuple[str, str]]:
    from mlgate.errors import UsageError

    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"{flag} {item!r} must look like {form}")
        out.append((key, value))
    return out


def _number(column: str, text: str) -> float:
    from mlgate.errors import UsageError

    try:
        return float(text)
    except ValueError:
        raise UsageError(f"--column-threshold for {column!r} must be a number, got {text!r}") from None


def _render(report: DriftReport) -> None:
    from mlgate.report.terminal import print_document

    print_document(report.to_view(), console())


def check(
    ctx: typer.Context,
    reference: str = typer.Argument(
        ...,
        metavar="REFERENCE",
        help="Reference data (file, folder, glob), its profile JSON, or a model (fraud@production).",
    ),
    current: str = typer.Argument(..., metavar="CURRENT", help="Current data (file, folder, glob)."),
    schema: Path = typer.Option(Path("mlgate.schema.yaml"), "--schema", "-s", help="The schema file."),
    share: float = typer.Option(0.5, "--share", help="Dataset drift when at least this share of columns drifted."),
    method: str = typer.Option("auto", "--method", help=f"Drift test for every column it fits: {METHOD_NAMES}."),
    threshold: float | None = typer.Option(
        None, "--threshold", help="Drift threshold for every column (p-value or distance)."
    ),
    ignore: list[str] = typer.Option([], "--ignore", help="A column to leave out of drift, repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    markdown: Path | None = typer.Option(
        None, "--markdown", help="Append a Markdown summary to this file (e.g. $GITHUB_STEP_SUMMARY)."
    ),
) -> None:
    """Validate current data against a schema and test its drift from a reference, reading it once.

    Exit 1 when a schema rule fails, the data drifted or a reference column is missing.
    """
    from mlgate.data.check import check as run_check
    from mlgate.data.drift import DriftConfig

    config = DriftConfig(method=method, threshold=threshold, share=share, ignore=ignore)
    report = run_check(reference_of(ctx, reference), current, schema, config=config)
    emit_report(report, markdown=markdown, as_json=as_json, render=_render_check)
    if not report.ok:
        raise typer.Exit(1)


def _render_check(report: CheckReport) -> None:
    from rich.markup import escape

    from mlgate.report.terminal import print_document

    print_document(report.to_view(), console())
    colour = "green" if report.ok else "red"
    console().print(f"[{colour}]check {escape(report.summary())}[/]")
