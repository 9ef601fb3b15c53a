"""``mlgate logs``: read the prediction log ``mlgate serve --log`` writes."""

from __future__ import annotations

from pathlib import Path

import typer

from mlgate.cli._common import console, print_json, settings


def logs(
    ctx: typer.Context,
    folder: Path | None = typer.Argument(None, help="The log folder; default: serve.log in mlgate.yaml."),
    since: str | None = typer.Option(None, "--since", help="Only requests since: 15m, 2h, 1d or an ISO time (UTC)."),
    limit: int = typer.Option(20, "--limit", "-n", help="Show the last N requests."),
    as_json: bool = typer.Option(False, "--json", help="Print the records as a JSON list."),
) -> None:
    """Show the last requests the server logged: time, version, variant, status, latency, inputs, outputs."""
    from mlgate.errors import UsageError
    from mlgate.serve.options import serve_section
    from mlgate.serve.predlog import parse_since, read_log

    if folder is None:
        folder = serve_section(settings(ctx)).get("log")
        if folder is None:
            raise UsageError(
                "no log folder given", hint="pass the folder given to mlgate serve --log, or set serve.log"
            )
    frame = read_log(folder, since=parse_since(since) if since else None, limit=limit)
    if as_json:
        print_json(frame.with_columns(frame["time"].dt.to_string("%Y-%m-%dT%H:%M:%S%.6fZ")).to_dicts())
        return
    if frame.is_empty():
        console().print(f"no requests logged in {folder}" + (f" since {since}" if since else ""))
        return
    from rich.table import Table

    table = Table(title=f"{frame.height} request(s) from {folder}")
    for col in ("time (UTC)", "request", "version", "variant", "status", "ms", "inputs", "outputs / error"):
        table.add_column(col, overflow="ellipsis", no_wrap=col not in ("inputs", "outputs / error"))
    for row in frame.iter_rows(named=True):
        table.add_row(
            row["time"].strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            row["request_id"][:12],
            row["version"],
            row["variant"],
            str(row["status"]),
            f"{row['latency_ms']:.2f}",
            _short(row["inputs"]),
            _short(row["outputs"] or row["error"]),
        )
    console().print(table)


def _short(text: str | None, limit: int = 80) -> str:
    if text is None:
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
