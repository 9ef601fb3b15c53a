"""``mlgate labels add FILE``: delayed labels for logged predictions, joined by request id."""

from __future__ import annotations

from pathlib import Path

import typer

from mlgate.cli._common import console, print_json, settings

app = typer.Typer(
    help="Labels for logged predictions: the realized metrics of mlgate monitor.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def labels_folder(ctx: typer.Context, given: Path | None) -> Path:
    """``--labels``, or ``.mlgate/monitor/labels`` in the project."""
    return given if given is not None else settings(ctx).root / ".mlgate" / "monitor" / "labels"


@app.command("add")
def add(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., metavar="FILE", help="CSV, Parquet or JSON lines with request_id, label, optional row, time and value."
    ),
    log: Path | None = typer.Option(
        None, "--log", help="Check every request id against this log (default: serve.log, when set)."
    ),
    labels: Path | None = typer.Option(None, "--labels", help="The labels folder (default: .mlgate/monitor/labels)."),
    skip_unknown: bool = typer.Option(
        False, "--skip-unknown", help="Store the labels of logged requests and skip (count) the unknown ones."
    ),
    allow_new_classes: bool = typer.Option(
        False, "--allow-new-classes", help="Accept labels outside the model's classes (a real new class); warns."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print what was stored as JSON."),
) -> None:
    """Check a label file and store its labels; nothing is stored when one row is wrong (exit 2, each named)."""
    from mlgate.monitor.labels import add_labels
    from mlgate.serve.options import serve_section

    if log is None:
        log = serve_section(settings(ctx)).get("log")
    done = add_labels(
        file, labels_folder(ctx, labels), log=log, skip_unknown=skip_unknown, allow_new_classes=allow_new_classes
    )
    if as_json:
        print_json(done.to_dict())
        return
    out = console()
    out.print(f"stored {done.labels} label(s) in {done.file}")
    if done.skipped:
        ids = ", ".join(repr(i) for i in done.skipped_ids[:5]) + (" …" if len(done.skipped_ids) > 5 else "")
        out.print(
            f"skipped {done.skipped} label(s) of {len(done.skipped_ids)} request id(s) the log never answered: {ids}"
        )
    if done.new_classes:
        counts = ", ".join(f"{k!r} ×{v}" for k, v in done.new_classes.items())
        out.print(f"warning: label(s) outside the model's classes stored (--allow-new-classes): {counts}")
