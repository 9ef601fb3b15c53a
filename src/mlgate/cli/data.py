"""``mlgate data …``: profiles, schemas, validation, drift. One command per function; heavy imports inside."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlgate.cli._common import console, print_json, settings

if TYPE_CHECKING:
    from mlgate.data.profile import ColumnProfile, Profile

app = typer.Typer(
    help="Data CI: profiles, schemas, validation, drift, and both in one read (check).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

TOP_VALUES = 3


@app.command("profile")
def profile(
    ctx: typer.Context,
    data: str = typer.Argument(..., help="A data file, folder or glob (parquet, csv, tsv, ipc, jsonl)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the profile JSON to this file."),
    format: str | None = typer.Option(
        None, "--format", help="Read the data as parquet, csv, ipc or ndjson (default: from the extension)."
    ),
    column: list[str] = typer.Option([], "--column", "-c", help="Profile only this column (repeatable)."),
    batch_rows: int = typer.Option(250_000, "--batch-rows", help="Rows per batch while sketching."),
    engine: str = typer.Option(
        "local", "--engine", help="local, or ray: profile partitions in parallel on Ray (RAY_ADDRESS) and merge them."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the profile as JSON instead of a table."),
) -> None:
    """Profile a dataset in one streaming run: exact statistics plus mergeable sketches."""
    from mlgate.data.profile import profile as make_profile

    address = settings(ctx).ray_address if engine == "ray" else None
    prof = make_profile(
        data, columns=column or None, format=format, batch_rows=batch_rows, engine=engine, ray_address=address
    )
    if output is not None:
        prof.save(output)
    if as_json:
        print_json(prof.to_dict())
        return
    console().print(profile_table(prof))
    if output is not None:
        console().print(f"[green]wrote[/] {output} ({prof.rows:,} rows × {len(prof.columns)} columns)")


def profile_table(prof: Profile):
    """A Rich table of a profile: one row per column."""
    from rich.table import Table

    table = Table(title=f"{prof.source or 'data'}: {prof.rows:,} rows × {len(prof.columns)} columns")
    for name in ("column", "kind", "nulls %", "min", "mean", "max", "distinct≈", "top values"):
        table.add_column(name, justify="right" if name in ("nulls %", "mean", "distinct≈") else "left")
    for col in prof.columns.values():
        distinct = col.distinct()
        table.add_row(
            col.name,
            col.kind,
            f"{100 * col.nulls / col.count:.1f}" if col.count else "-",
            _value(col, col.min),
            _number(col.mean),
            _value(col, col.max),
            f"{distinct:,.0f}" if distinct is not None else "-",
            _top(col),
        )
    return table


def _number(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def _value(col: ColumnProfile, x: float | str | None) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x if len(x) <= 24 else x[:23] + "…"
    if col.kind == "datetime":
        from datetime import UTC, datetime, timedelta

        return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=x)).strftime("%Y-%m-%d %H:%M:%S")
    return _number(x)


def _top(col: ColumnProfile) -> str:
    items = col.frequent_items()
    if not items or not col.valid:
        return ""
    shown = list(items.items())[:TOP_VALUES]
    return ", ".join(f"{v if len(v) <= 16 else v[:15] + '…'} ({100 * n / col.valid:.0f}%)" for v, n in shown)


def _register_commands() -> None:
    from mlgate.cli.data_drift import check, drift
    from mlgate.cli.data_schema import schema_app, validate

    app.add_typer(schema_app, name="schema")
    app.command("validate")(validate)
    app.command("drift")(drift)
    app.command("check")(check)


_register_commands()
