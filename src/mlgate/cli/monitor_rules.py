"""What ``mlgate monitor`` does beyond one report: its ``monitor.rules`` (once or ``--follow``) and ``export``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mlgate.cli._common import console, emit_report, err_console, print_json, registry, settings


def export(
    ctx: typer.Context, *, prometheus_rules: Path | None, grafana: Path | None, window: str, gauges: bool = False
) -> None:
    """Write Prometheus alerting rules and/or a Grafana dashboard for the server's /metrics."""
    from mlgate.files import write_atomic
    from mlgate.monitor.export import grafana_text, prometheus_rules_text
    from mlgate.serve.logfiles import parse_duration

    rules = settings(ctx).monitor.rules
    if prometheus_rules is not None:
        text = prometheus_rules_text(rules, window=parse_duration(window, what="--window"), textfile=gauges)
        write_atomic(prometheus_rules, text)
        console().print(f"wrote {prometheus_rules} (check it with `promtool check rules {prometheus_rules}`)")
    if grafana is not None:
        write_atomic(grafana, grafana_text())
        console().print(f"wrote {grafana} (import it in Grafana: Dashboards → New → Import)")


def run_rules(
    ctx: typer.Context,
    ref: str,
    log: Path,
    *,
    follow: bool,
    interval: str | None,
    act: bool,
    as_json: bool,
    markdown: Path | None,
    render: Any,
    args: dict[str, Any],
    textfile: Path | None = None,
    html: Path | None = None,
) -> None:
    """One pass with the rules (exit 1 when a window breached or a rule fires), or ``--follow`` until stopped."""
    from mlgate.errors import UsageError
    from mlgate.monitor.follow import Outcome, check
    from mlgate.monitor.follow import follow as follow_rules
    from mlgate.serve.logfiles import parse_duration

    conf = settings(ctx)
    reg = registry(ctx)
    environ = conf.monitor_environ  # webhook secrets and forge tokens, named in monitor.webhooks / monitor.retrain

    def gauges(outcome: Outcome) -> None:
        if textfile is not None:
            from mlgate.files import write_atomic
            from mlgate.monitor.export import figures_textfile

            write_atomic(textfile, figures_textfile(outcome, until=outcome.until))
        if html is not None:  # with --follow, the page is rewritten after every pass
            from mlgate.monitor.view import write_html

            write_html(outcome.report, html)

    if not follow:
        outcome = check(ref, log, conf.monitor, registry=reg, environ=environ, root=conf.root, act=act, **args)
        gauges(outcome)
        emit_report(outcome, markdown=markdown, as_json=as_json, render=lambda o: render(o))
        if outcome.failed:
            raise typer.Exit(1)
        return
    if args.pop("until", None) is not None:
        raise UsageError("--until does not go with --follow (each pass runs up to now)")
    if not act:
        raise UsageError("--no-actions does not go with --follow (a dry run judges once)")
    every = parse_duration(interval or "1m", what="--interval")

    def on_pass(outcome: Outcome | None, problem: Exception | None) -> None:
        if problem is not None:
            err_console().print(f"monitor pass failed, retrying in {interval or '1m'}: {problem}")
            return
        assert outcome is not None
        gauges(outcome)
        if as_json:
            print_json(outcome.to_dict())
        else:
            ev = outcome.evaluation
            firing = ", ".join(ev.firing) if ev and ev.firing else "none"
            acts = len(ev.events) if ev else 0
            console().print(f"{outcome.report.summary()} · rules firing: {firing} · acts: {acts}")
        if markdown is not None:
            with markdown.open("a", encoding="utf-8") as fh:
                fh.write(outcome.to_markdown())

    try:
        follow_rules(
            ref,
            log,
            conf.monitor,
            registry=reg,
            environ=environ,
            interval=every,
            on_pass=on_pass,
            root=conf.root,
            **args,
        )
    except KeyboardInterrupt:
        err_console().print("stopped; rule states are in the registry, a restart goes on from there")


def show_events(ctx: typer.Context, ref: str, *, as_json: bool, limit: int = 50) -> None:
    """The latest acts of the monitor rules on ``ref`` (the delivery log): alerts, resolves, rollbacks, retrains."""
    from rich.table import Table

    from mlgate.cli._common import printable, when

    events = registry(ctx).monitor_events(ref, limit=limit)
    if as_json:
        print_json([e.to_dict() for e in events])
        return
    t = Table(title=f"monitor acts on {ref} (newest first)")
    for col in ("time", "rule", "act", "target", "status", "attempts", "evidence", "detail"):
        t.add_column(col)
    for e in events:
        t.add_row(
            when(e.created_at) if e.created_at else "-",
            printable(e.rule),
            e.action,
            printable(e.target),
            e.status,
            str(e.attempts),
            e.evidence,
            printable(e.detail or ""),
        )
    console().print(t if events else f"no monitor rule has acted on {ref} yet")
