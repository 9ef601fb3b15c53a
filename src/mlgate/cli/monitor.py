"""``mlgate monitor NAME[@ALIAS]``: one monitor pass over the prediction log of the version a reference names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mlgate.cli._common import console, emit_report, registry, settings
from mlgate.cli.labels import labels_folder


def monitor(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="NAME[@ALIAS]", help="The version to monitor: fraud@production, fraud:3."),
    log: Path | None = typer.Option(None, "--log", help="The prediction-log folder (default: serve.log)."),
    window: str = typer.Option("1h", "--window", help="Window length: 15m, 1h, 1d (aligned to UTC)."),
    since: str | None = typer.Option(None, "--since", help="From: 2h, 1d ago or an ISO time (default: the first row)."),
    until: str | None = typer.Option(None, "--until", help="Until: 2h ago or an ISO time (default: now)."),
    reference: str | None = typer.Option(
        None,
        "--reference",
        help="START/END period whose predictions are the reference (default: the gate outputs, else the first window).",
    ),
    drift_share: float = typer.Option(
        0.5, "--drift-share", help="Input drift when at least this share of columns drifted."
    ),
    max_error_rate: float = typer.Option(0.01, "--max-error-rate", help="Breach above this share of 5xx requests."),
    max_p95_ms: float | None = typer.Option(None, "--max-p95-ms", help="Breach when latency p95 exceeds this (ms)."),
    min_accuracy: float | None = typer.Option(
        None, "--min-accuracy", help="Breach when the realized accuracy's 95% interval is wholly below this."
    ),
    labels: Path | None = typer.Option(None, "--labels", help="The labels folder (default: .mlgate/monitor/labels)."),
    schema: Path | None = typer.Option(
        None, "--schema", help="Quality rules for the inputs (default: data.schema or mlgate.schema.yaml, if present)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Recompute every file's statistics."),
    engine: str = typer.Option(
        "local", "--engine", help="local, or ray: compute the log files' statistics on Ray (RAY_ADDRESS), then merge."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    markdown: Path | None = typer.Option(
        None, "--markdown", help="Append the Markdown report to this file (e.g. $GITHUB_STEP_SUMMARY)."
    ),
    html: Path | None = typer.Option(
        None, "--html", help="Write a self-contained HTML report with time-series plots to this file."
    ),
    follow: bool = typer.Option(False, "--follow", help="Run the monitor.rules every --interval until stopped."),
    interval: str | None = typer.Option(None, "--interval", help="How often --follow runs a pass (default 1m)."),
    no_actions: bool = typer.Option(False, "--no-actions", help="Judge the monitor.rules without acting on them."),
    prometheus_rules: Path | None = typer.Option(
        None, "--prometheus-rules", help="With `export`: write Prometheus alerting rules for /metrics here."
    ),
    grafana: Path | None = typer.Option(None, "--grafana", help="With `export`: write a Grafana dashboard here."),
    events: bool = typer.Option(False, "--events", help="List what the monitor.rules did (alerts, rollbacks …)."),
    prometheus_textfile: Path | None = typer.Option(
        None, "--prometheus-textfile", help="Write the latest window's figures as Prometheus gauges to this file."
    ),
    with_gauges: bool = typer.Option(
        False, "--with-gauges", help="With `export`: rules on the log's figures read the --prometheus-textfile gauges."
    ),
) -> None:
    """Drift, data quality, prediction drift, latency, errors and volume per window. Exit 1 on a breach."""
    from mlgate.errors import UsageError
    from mlgate.monitor import Limits, parse_period
    from mlgate.monitor import monitor as run_monitor
    from mlgate.serve.logfiles import parse_duration, parse_since
    from mlgate.serve.options import serve_section

    if ref == "export" and (prometheus_rules or grafana):
        from mlgate.cli.monitor_rules import export

        export(ctx, prometheus_rules=prometheus_rules, grafana=grafana, window=window, gauges=with_gauges)
        return
    if prometheus_rules or grafana:
        raise UsageError("--prometheus-rules and --grafana go with `mlgate monitor export`, not a model reference")
    if events:
        from mlgate.cli.monitor_rules import show_events

        show_events(ctx, ref, as_json=as_json)
        return
    from mlgate.monitor.ray_engine import check_engine

    check_engine(engine)  # exit 2 for an unknown engine, 3 without Ray, before the registry is opened
    conf = settings(ctx)
    if log is None:
        log = serve_section(conf).get("log")
        if log is None:
            raise UsageError("no log folder given", hint="pass --log (the folder given to mlgate serve --log)")
    args: dict[str, Any] = {
        "window": parse_duration(window, what="--window"),
        "since": parse_since(since) if since else None,
        "until": parse_since(until, option="--until") if until else None,
        "reference": parse_period(reference) if reference else None,
        "limits": Limits(
            drift_share=drift_share, max_error_rate=max_error_rate, max_p95_ms=max_p95_ms, min_accuracy=min_accuracy
        ),
        "cache": None if no_cache else conf.root / ".mlgate" / "monitor" / "partials",
        "labels": labels_folder(ctx, labels),
        "schema": schema if schema is not None else _configured_schema(conf),
        "engine": engine,
        "ray_address": conf.ray_address if engine == "ray" else None,
    }
    if follow or conf.monitor.rules or prometheus_textfile:
        from mlgate.cli.monitor_rules import run_rules

        run_rules(
            ctx, ref, log, follow=follow, interval=interval, act=not no_actions, as_json=as_json,
            markdown=markdown, render=_render, args=args, textfile=prometheus_textfile, html=html,
        )  # fmt: skip
        return
    report = run_monitor(ref, log, registry=registry(ctx), **args)
    if html is not None:
        from mlgate.monitor.view import write_html

        write_html(report, html)
    emit_report(report, markdown=markdown, as_json=as_json, render=_render)
    if report.breached:
        raise typer.Exit(1)


def _configured_schema(conf: Any) -> Path | None:
    from mlgate.data.configured import schema_path

    path = schema_path(conf)
    return path if path.is_file() else None


def _render(report: object) -> None:
    from rich.markdown import Markdown

    console().print(Markdown(report.to_markdown()))  # type: ignore[attr-defined]
