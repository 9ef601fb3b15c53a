"""``mlgate gate REF`` and ``mlgate report REF``: run the gates, render stored reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mlgate.cli._common import console, err_console, print_json, registry, settings, short_digest


def gate(
    ctx: typer.Context,
    ref: str | None = typer.Argument(
        None, help="The candidate: fraud:7, fraud:1.4.0-rc.2, fraud@staging, or fraud (latest)."
    ),
    against: str = typer.Option("production", "--against", help="The alias whose current version is the champion."),
    data: str | None = typer.Option(None, "--data", help="Evaluation data (default: data.eval in mlgate.yaml)."),
    target: str | None = typer.Option(None, "--target", help="Target column (default: data.target)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write report.json, report.md (+ PNGs), report.html here."
    ),
    markdown: Path | None = typer.Option(
        None, "--markdown", help="Append the Markdown report to this file (e.g. $GITHUB_STEP_SUMMARY)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not record the report in the registry."),
    plan: bool = typer.Option(
        False, "--plan", help="Show what each comparison can resolve on the evaluation rows; score nothing."
    ),
) -> None:
    """Score the candidate and the champion on the same rows and decide every gate. Exit 1 when blocked."""
    from mlgate.errors import UsageError
    from mlgate.gates.evaluate import gate as run_gate

    if plan:
        _plan(ctx, data=data, target=target, against=against, as_json=as_json)
        return
    if ref is None:
        raise UsageError(
            "mlgate gate needs the candidate, e.g. `mlgate gate fraud:7`", hint="or --plan to score nothing"
        )

    status = err_console().status("gating", spinner="dots") if not as_json else None
    if status:
        status.start()
    try:
        result = run_gate(
            ref,
            against=against,
            data=data,
            target=target,
            config=settings(ctx),
            registry=registry(ctx),
            store=not no_store,
            say=(lambda msg: status.update(msg)) if status else None,
        )
    finally:
        if status:
            status.stop()
    _outputs(result.report, out=out, markdown=markdown)
    if as_json:
        print_json(result.report)
    else:
        render(result.report)
    if not result.passed:
        raise typer.Exit(1)


def _plan(ctx: typer.Context, *, data: str | None, target: str | None, against: str, as_json: bool) -> None:
    from rich.markup import escape
    from rich.table import Table

    from mlgate.gates.plan import plan

    rows = plan(data=data, target=target, config=settings(ctx), against=against)
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    out = console()
    if not rows:
        out.print("no comparison gates (vs:) to plan for")
        return
    table = Table(title="what the evaluation set can resolve (estimated, nothing scored)", title_justify="left")
    for col in ("gate", "rows", "max_drop", "resolves ≥", ""):
        table.add_column(col, overflow="fold")
    for r in rows:
        mark = "[yellow]margin below resolution[/]" if r.below_resolution else "[green]ok[/]"
        if r.resolution is None and not r.below_resolution:
            mark = "[dim]measured when gating[/]"
        table.add_row(escape(r.gate), f"{r.rows:,}", "relative" if r.max_drop is None else f"{r.max_drop:g}",
                      "—" if r.resolution is None else f"{r.resolution:.2g}", mark)  # fmt: skip
    out.print(table)
    for r in rows:
        if r.below_resolution or r.resolution is None:
            out.print(f"[bold]{escape(r.gate)}[/]: {escape(r.message)}")


def report(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The version whose gate report to show (its newest, unless --id)."),
    report_id: str | None = typer.Option(None, "--id", help="A report digest from `mlgate report REF --list`."),
    listing: bool = typer.Option(False, "--list", help="List the version's reports instead of showing one."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write report.json, report.md (+ PNGs), report.html here."
    ),
    markdown: Path | None = typer.Option(None, "--markdown", help="Append the Markdown report to this file."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Render a stored gate report again (exactly as it was decided)."""
    import json

    from mlgate.errors import NotFoundError

    reg = registry(ctx)
    records = reg.gate_reports(ref)
    if listing:
        _list(records, as_json)
        return
    if not records:
        raise NotFoundError(f"{ref} has no gate report", hint=f"run `mlgate gate {ref}`")
    record = records[0]
    if report_id is not None:
        # `--list` shows digests cut to a prefix (blake3:1a2b3c4d5e6f): accept any start of one, newest first
        wanted = report_id.strip().removeprefix("blake3:")
        matches = [r for r in records if wanted and r.report_digest.removeprefix("blake3:").startswith(wanted)]
        if not matches:
            raise NotFoundError(f"{ref} has no gate report {report_id}", hint=f"see `mlgate report {ref} --list`")
        record = matches[0]
    doc = json.loads(reg.read_blob(record.report_digest, what=f"gate report of {record.ref}"))
    doc["id"] = record.report_digest
    _outputs(doc, out=out, markdown=markdown)
    if as_json:
        print_json(doc)
    else:
        render(doc)
    if not doc.get("passed"):
        raise typer.Exit(1)


def _list(records: list[Any], as_json: bool) -> None:
    if as_json:
        print_json([r.to_dict() for r in records])
        return
    from rich.table import Table

    from mlgate.cli._common import when

    table = Table(title="gate reports", title_justify="left")
    for col in ("report", "when", "by", "against", "champion", "verdict"):
        table.add_column(col)
    for r in records:
        table.add_row(
            short_digest(r.report_digest),
            when(r.created_at),
            r.created_by,
            r.against,
            short_digest(r.champion_digest) if r.champion_digest else "none (first model)",
            "[green]passed[/]" if r.passed else "[red]blocked[/]",
        )
    console().print(table)


def _outputs(doc: dict[str, Any], *, out: Path | None, markdown: Path | None) -> None:
    if out is not None:
        from mlgate.report import write

        paths = write(doc, out)
        err_console().print(f"report written to {', '.join(str(p) for p in paths.values())}")
    if markdown is not None:
        from mlgate.report import markdown as to_markdown

        with markdown.open("a", encoding="utf-8") as fh:
            fh.write(to_markdown(doc) + "\n")


def render(doc: dict[str, Any]) -> None:
    """The report on the terminal: models, data, checks (failing first) with their reasons, failing slices,
    notes and the verdict (the compact view, :func:`mlgate.report.gate_summary.gate_summary`)."""
    from mlgate.report.gate_summary import gate_summary
    from mlgate.report.terminal import print_document

    print_document(gate_summary(doc), console())
