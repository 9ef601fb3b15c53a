"""``mlgate data schema infer`` and ``mlgate data validate``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlgate.cli._common import console, emit_report, err_console, print_json

if TYPE_CHECKING:
    from mlgate.data.validate import ValidationReport

schema_app = typer.Typer(
    help="Infer and edit data schemas (mlgate.schema.yaml).", no_args_is_help=True, rich_markup_mode=None
)


@schema_app.command("infer")
def schema_infer(
    data: str = typer.Argument(
        ...,
        help="A data file, folder or glob (Parquet, CSV, Arrow IPC, JSON lines), or its profile JSON "
        "(mlgate data profile DATA -o PROFILE.json): then the data is not read.",
    ),
    output: Path = typer.Option(Path("mlgate.schema.yaml"), "--output", "-o", help="Where to write the schema."),
    slack: float = typer.Option(
        0.0,
        "--slack",
        help="Widen every inferred range further by this fraction of (max − min), and null bounds × (1 + slack).",
    ),
    target: str | None = typer.Option(None, "--target", help="The label column (its classes become categories)."),
    max_categories: int = typer.Option(50, "--max-categories", help="Text columns with this few values or fewer."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing schema file."),
    as_json: bool = typer.Option(False, "--json", help="Print the schema as JSON as well."),
) -> None:
    """Infer a schema from data (or from its profile) and write it as YAML for people to edit."""
    from rich.markup import escape

    from mlgate.data.schema import infer_schema, load_profile, schema_from_profile
    from mlgate.errors import UsageError

    if output.exists() and not force:
        raise UsageError(f"{output} already exists", hint="pass --force to overwrite it, or -o to write elsewhere")
    caveats: dict[str, str] = {}
    if Path(data).suffix.lower() == ".json" and Path(data).is_file():
        inferred = schema_from_profile(load_profile(data), slack=slack, max_categories=max_categories, target=target)
        schema, caveats = inferred.schema, inferred.caveats
    else:
        schema = infer_schema(data, slack=slack, max_categories=max_categories, target=target)
    schema.save(output)
    # what a profile could not decide goes to stderr, so that --json output stays one JSON document
    for name, caveat in caveats.items():
        err_console().print(f"[yellow]note[/] column '{escape(name)}' {escape(caveat)}")
    if as_json:
        print_json(schema.to_dict())
        return
    rows = f"rows ≥ {schema.rows_min:,}" if schema.rows_min is not None else "no row bounds"
    console().print(
        f"[green]wrote[/] {output}: {len(schema.columns)} columns, {rows}, fractions tested at alpha "
        f"{schema.alpha:g}; bounds leave room for a new sample of the same data: edit it to tighten the rules"
    )


def validate(
    ctx: typer.Context,
    data: str | None = typer.Argument(
        None,
        metavar="[DATA]",
        help="A data file, folder or glob (Parquet, CSV, Arrow IPC, JSON lines). "
        "Default: data.train and data.eval from mlgate.yaml.",
        show_default=False,
    ),
    schema: Path | None = typer.Option(
        None, "--schema", "-s", help="The schema file (default: data.schema in mlgate.yaml, else mlgate.schema.yaml)."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the report as JSON (without DATA: an object keyed by data.train, data.eval)."
    ),
    markdown: Path | None = typer.Option(
        None, "--markdown", help="Append a Markdown summary to this file (e.g. $GITHUB_STEP_SUMMARY)."
    ),
) -> None:
    """Check data against a schema; list every violation. Exit 1 when any rule fails.

    Without DATA, checks data.train and data.eval from mlgate.yaml, each reported.
    """
    from mlgate.cli._common import settings
    from mlgate.data.configured import schema_path, validate_configured
    from mlgate.data.validate import validate as run_validation

    if data is None:
        reports = validate_configured(settings(ctx), schema)
        if markdown is not None:
            with markdown.open("a", encoding="utf-8") as fh:
                fh.writelines(r.to_markdown() for r in reports.values())
        if as_json:
            print_json({key: r.to_dict() for key, r in reports.items()})
        else:
            for key, r in reports.items():
                console().print(f"[bold]{key}[/]")
                _render(r)
        if not all(r.ok for r in reports.values()):
            raise typer.Exit(1)
        return
    report = run_validation(data, schema if schema is not None else schema_path(settings(ctx)))
    emit_report(report, markdown=markdown, as_json=as_json, render=_render)
    if not report.ok:
        raise typer.Exit(1)


def _render(report: ValidationReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    from mlgate.data.validate import shown_value

    out = console()
    summary = f"{escape(report.source)}: {report.rows:,} rows, {report.columns} columns, {len(report.checks)} checks"
    if report.ok:
        out.print(f"[green]✅ passed[/] {summary}")
        return
    table = Table(title=f"❌ {len(report.violations)} violation(s)", title_justify="left")
    for col in ("column", "rule", "rows"):
        table.add_column(col, no_wrap=True)
    table.add_column("examples (row: value)", overflow="fold")
    table.add_column("what", overflow="fold", ratio=1)
    for v in report.violations:
        examples = ", ".join(f"{e.row}: {shown_value(e.value)}" for e in v.examples)
        table.add_row(
            escape(v.column or "(dataset)"),
            v.rule,
            "" if v.rows is None else f"{v.rows:,}",
            escape(examples),
            escape(v.message),
        )
    out.print(table)
    out.print(f"[red]failed[/] {summary}" + (f"\nrow numbers: {escape(report.row_note)}" if report.row_note else ""))
