"""``mlgate logs``: read the prediction log ``mlgate serve --log`` writes; compact it, or convert an old one."""

from __future__ import annotations

from pathlib import Path

import typer

from mlgate.cli._common import console, print_json, settings


def logs(
    ctx: typer.Context,
    folder: Path | None = typer.Argument(None, help="The log folder; default: serve.log in mlgate.yaml."),
    since: str | None = typer.Option(None, "--since", help="Only requests since: 15m, 2h, 1d or an ISO time (UTC)."),
    limit: int = typer.Option(20, "--limit", "-n", help="Show the last N logged rows."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as a JSON list."),
    compact: bool = typer.Option(
        False, "--compact", help="Merge each ended hour's files into one and delete hours past monitor.retention."
    ),
    convert: bool = typer.Option(
        False, "--convert", help="Rewrite a log of an older mlgate (inputs as JSON text) as typed columns, in place."
    ),
) -> None:
    """Show the last rows the server logged: time, request, route, version, status, latency, prediction."""
    from mlgate.errors import UsageError
    from mlgate.serve.options import serve_section

    if folder is None:
        folder = serve_section(settings(ctx)).get("log")
        if folder is None:
            raise UsageError(
                "no log folder given", hint="pass the folder given to mlgate serve --log, or set serve.log"
            )
    if compact and convert:
        raise UsageError("--compact and --convert are separate steps", hint="run --convert first, then --compact")
    if convert:
        from mlgate.serve.logfiles import convert_legacy

        converted = convert_legacy(folder)
        if as_json:
            print_json(converted.to_dict())
        else:
            console().print(
                f"converted {converted.files} file(s): {converted.requests} request(s), {converted.rows} row(s)"
            )
        return
    if compact:
        from mlgate.serve.logfiles import check_folder, maintain, retention_from_settings

        maintained = maintain(check_folder(folder), retention=retention_from_settings(settings(ctx)))
        if as_json:
            print_json(maintained.to_dict())
        else:
            console().print(maintained.summary())
        return
    from mlgate.serve.logfiles import parse_since, read_log

    frame = read_log(folder, since=parse_since(since) if since else None, limit=limit)
    if as_json:
        print_json(frame.with_columns(frame["time"].dt.to_string("%Y-%m-%dT%H:%M:%S%.6fZ")).to_dicts())
        return
    if frame.is_empty():
        console().print(f"no requests logged in {folder}" + (f" since {since}" if since else ""))
        return
    from rich.table import Table

    table = Table(title=f"the last {frame.height} row(s) logged in {folder}")
    for col in ("time (UTC)", "request", "row", "route", "version", "status", "ms", "prediction / error"):
        table.add_column(col, overflow="ellipsis", no_wrap=col != "prediction / error")
    has_prediction = "prediction" in frame.columns
    for row in frame.iter_rows(named=True):
        shown = row["error"] if row["error"] is not None else (row["prediction"] if has_prediction else None)
        table.add_row(
            row["time"].strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            row["request_id"][:12],
            str(row["row"]),
            row["route"],
            f"{row['model']}:{row['version']}",
            str(row["status"]),
            f"{row['latency_ms']:.2f}",
            _short(None if shown is None else str(shown)),
        )
    console().print(table)


def _short(text: str | None, limit: int = 80) -> str:
    if text is None:
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
