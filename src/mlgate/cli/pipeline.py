"""``mlgate run``, ``mlgate status`` and ``mlgate runs list|show|diff``: thin adapters over :mod:`mlgate.pipeline`."""

from __future__ import annotations

from typing import Any

import typer

from mlgate.cli._common import console, print_json, registry, settings, when

runs_app = typer.Typer(
    help="Recorded pipeline runs: params, metrics, timings and cache hits.", no_args_is_help=True, rich_markup_mode=None
)


def run(
    ctx: typer.Context,
    stages: list[str] | None = typer.Argument(None, help="Stages to bring up to date (default: all)."),
    force: bool = typer.Option(False, "--force", "-f", help="Run the commands even when cached or up to date."),
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Say what would run or be restored; change nothing."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Run up to N independent stages at once."),
    lock_timeout: float = typer.Option(
        300.0, "--lock-timeout", help="Seconds to wait for another `mlgate run` in this project to finish."
    ),
    smoke: bool = typer.Option(
        False, "--smoke", help="Use the 'smoke:' overrides of params.yaml (cached apart from full runs)."
    ),
    executor: str | None = typer.Option(
        None, "--executor", help="local or ray (default: 'executor:' in mlgate.yaml, else local)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Run stale pipeline stages; stages seen before are restored from the run cache. Exit 1 if a stage failed."""
    from mlgate.cli.pipeline_output import run_command

    code = run_command(
        settings(ctx),
        stages or (),
        as_json=as_json,
        force=force,
        dry_run=dry_run,
        jobs=jobs,
        lock_timeout=lock_timeout,
        smoke=smoke,
        executor=executor,
    )
    if code:
        raise typer.Exit(code)


def status(
    ctx: typer.Context,
    stages: list[str] | None = typer.Argument(None, help="Stages to check (default: all)."),
    smoke: bool = typer.Option(False, "--smoke", help="Check against the last smoke run instead of mlgate.lock."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Say which stages are stale and exactly why. Exit 0 when everything is up to date, 1 when a stage is stale."""
    from mlgate.cli.pipeline_output import status_command

    code = status_command(settings(ctx), stages or (), smoke=smoke, as_json=as_json)
    if code:
        raise typer.Exit(code)


def dag(
    ctx: typer.Context,
    stages: list[str] | None = typer.Argument(None, help="Show only these stages and what they depend on."),
    fmt: str = typer.Option("text", "--format", help="text, mermaid (for Markdown), dot (Graphviz) or json."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (the same as --format json)."),
) -> None:
    """Show the stage graph: which stage feeds which, in dependency order."""
    from mlgate.cli.pipeline_output import emit, no_stages_yet
    from mlgate.errors import UsageError
    from mlgate.pipeline import graph
    from mlgate.pipeline.status import require_stages

    formats = ("text", "mermaid", "dot", "json")
    if fmt not in formats:
        raise UsageError(f"--format {fmt!r} is not one of {', '.join(formats)}")
    if as_json and fmt not in ("text", "json"):
        raise UsageError(f"--json and --format {fmt} ask for two formats; give one")
    fmt = "json" if as_json else fmt
    cfg = settings(ctx)
    if not stages and no_stages_yet(cfg):
        if fmt == "json":
            print_json({"stages": [], "edges": []})
        else:
            emit([[(f"{cfg.line_of()} declares no stages yet: add a 'stages:' section (docs/pipelines.md)", None)]])
        return
    pipeline = require_stages(cfg)
    names = pipeline.select(stages or ())
    if fmt == "json":
        print_json({"stages": names, "edges": [list(e) for e in graph.edges(pipeline, names)]})
    elif fmt == "text":
        for line in graph.text(pipeline, names):
            print(line)
    else:
        print(graph.mermaid(pipeline, names) if fmt == "mermaid" else graph.dot(pipeline, names), end="")


@runs_app.command("list")
def runs_list(
    ctx: typer.Context,
    limit: int = typer.Option(20, "--limit", min=1, help="How many of the latest runs."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The latest pipeline runs, newest first."""
    records = _registry(ctx).runs(limit=limit)
    if as_json:
        print_json([r.to_dict() for r in records])
        return
    from rich.table import Table

    t = Table(title=f"{len(records)} run(s)")
    for col in ("id", "started", "status", "stages", "cached", "time", "commit", "by"):
        t.add_column(col, no_wrap=col in ("id", "started"))
    for r in records:
        t.add_row(
            r.id,
            when(r.started_at),
            r.status,
            str(len(r.stages)),
            str(r.cache_hits),
            f"{r.duration_s:.2f} s",
            (r.commit or "-")[:10],
            r.created_by,
        )
    console().print(t)


@runs_app.command("show")
def runs_show(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., help="A run id (or a unique prefix of it)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One run: its stages with timings and cache hits, its params and its metrics."""
    from rich.table import Table

    from mlgate.pipeline.runs import flatten

    r = _registry(ctx).get_run(run_id)
    if as_json:
        print_json(r.to_dict())
        return
    out = console()
    out.print(f"run {r.id} · {r.status} · {when(r.started_at)} · {r.duration_s:.2f} s · by {r.created_by}")
    out.print(f"commit {r.commit or '-'} · {r.cache_hits} of {len(r.stages)} stage(s) from the cache")
    t = Table(title="stages")
    for col in ("stage", "outcome", "time", "restored"):
        t.add_column(col)
    for s in r.stages:
        t.add_row(s["stage"], s["outcome"], f"{s['duration_s']:.2f} s", str(s.get("restored", 0)))
    out.print(t)
    for title, values in (("params", flatten(r.params)), ("metrics", flatten(r.metrics, files=True))):
        kv = Table(title=title)
        kv.add_column("key")
        kv.add_column("value")
        for k, v in values.items():
            kv.add_row(k, str(v))
        out.print(kv)


@runs_app.command("diff")
def runs_diff(
    ctx: typer.Context,
    a: str = typer.Argument(..., help="The first run id."),
    b: str = typer.Argument(..., help="The second run id."),
    all_keys: bool = typer.Option(False, "--all", help="Show equal values too."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Params and metrics of two runs side by side (only what differs, unless --all)."""
    from mlgate.pipeline.runs import diff_runs

    reg = _registry(ctx)
    ra, rb = reg.get_run(a), reg.get_run(b)
    rows = diff_runs(ra, rb, only_changed=not all_keys)
    if as_json:
        print_json({"a": ra.id, "b": rb.id, "rows": [row.to_dict() for row in rows]})
        return
    from rich.table import Table

    t = Table(title=f"{ra.id} → {rb.id}")
    for col in ("section", "key", ra.id, rb.id, "change"):
        t.add_column(col)
    for row in rows:
        t.add_row(row.section, row.key, _cell(row.a), _cell(row.b), row.change)
    console().print(t if rows else "the two runs have the same params and metrics")


def _registry(ctx: typer.Context) -> Any:
    """The registry, after moving this project's deferred no-op runs into it."""
    from mlgate.pipeline.journal import flush_runs

    reg = registry(ctx)
    flush_runs(settings(ctx), reg)
    return reg


def _cell(value: Any) -> str:
    from mlgate.pipeline.runs import ABSENT

    return "-" if value is ABSENT else str(value)
