"""``mlgate gc``: list what no version and no run-cache entry needs any more, and what killed processes
left behind; delete it only with --yes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mlgate.cli._common import console, print_json, registry, settings, short_digest

if TYPE_CHECKING:
    from mlgate.pipeline.cache import CacheGcResult
    from mlgate.registry.types import GcResult


def _seconds(text: str, option: str) -> float:
    from mlgate.errors import UsageError

    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    t = text.strip().lower()
    try:
        seconds = float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise UsageError(f"{option} {text!r} is not a duration such as 30s, 10m, 1h or 2d")
    return seconds


def gc(
    ctx: typer.Context,
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete the unreferenced blobs (default: only list)."),
    min_age: str = typer.Option(
        "1h", "--min-age", help="Keep orphans younger than this: a registration may still be committing."
    ),
    cache_unused_for: str | None = typer.Option(
        None,
        "--cache-unused-for",
        help="Also drop pipeline run-cache entries unused for this long (e.g. 30d), except those holding "
        "this project's current outputs. Default: keep every entry.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Find artifact blobs that no version references (left by interrupted registrations), run-cache
    entries and output blobs that are no longer needed, and temporary files and folders that killed
    writes and registrations left behind. Lists them; deletes only with --yes."""
    from mlgate.pipeline.gc import collect_garbage

    min_age_s = _seconds(min_age, "--min-age")
    unused_for_s = _seconds(cache_unused_for, "--cache-unused-for") if cache_unused_for is not None else None
    from mlgate.pipeline.cache import RunCache

    conf = settings(ctx)
    run_cache = RunCache(conf.artifacts, s3_endpoint_url=conf.s3_endpoint_url)
    result = registry(ctx).gc(
        delete=yes,
        min_age_s=min_age_s,
        extra_stores=[run_cache.blobs, run_cache.entries],
        workspace_dirs=_output_folders(conf),
    )
    cache = collect_garbage(conf, unused_for_s=unused_for_s, min_age_s=min_age_s, delete=yes)
    if as_json:
        print_json({**result.to_dict(), "run_cache": cache.to_dict()})
        return
    _render_registry(result, yes, min_age)
    _render_cache(cache, cache_unused_for)
    _render_leftovers(result, yes, min_age)
    if not yes and (result.orphans or result.leftovers or cache.orphans or cache.expired or cache.damaged):
        console().print("nothing deleted; run [bold]mlgate gc --yes[/] (same options) to delete them")


def _output_folders(conf: Any) -> list[Path]:
    """The folders that hold the pipeline's outputs, where a killed cache restore leaves its copy."""
    if not conf.pipeline.has_stages:
        return []
    from mlgate.pipeline.spec import load_pipeline

    pipeline = load_pipeline(conf, check_files=False)
    return sorted({(pipeline.root / o.path).parent for st in pipeline.stages.values() for o in st.outs})


def _render_registry(result: GcResult, yes: bool, min_age: str) -> None:
    total = sum(size for _, size, _ in result.orphans)
    if not result.orphans:
        console().print(f"no unreferenced blobs ({result.referenced} referenced)")
        return
    from rich.table import Table

    t = Table(title=f"{len(result.orphans)} unreferenced blob(s), {total} bytes")
    for col in ("digest", "bytes", "age"):
        t.add_column(col)
    for digest, size, age in result.orphans:
        t.add_row(short_digest(digest), str(size), f"{age:.0f} s")
    console().print(t)
    if yes:
        console().print(f"[green]deleted[/] {len(result.deleted)} blob(s)")
        if result.kept_young:
            console().print(f"kept {len(result.kept_young)} younger than {min_age}")


def _render_leftovers(result: GcResult, yes: bool, min_age: str) -> None:
    if not result.leftovers:
        console().print(f"no temporary files left by killed processes (older than {min_age})")
        return
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"{len(result.leftovers)} temporary file(s) or folder(s) left by killed processes")
    for col in ("kind", "path", "bytes", "age"):
        t.add_column(col)
    for item in result.leftovers:
        t.add_row(item.kind, escape(item.path), str(item.size), f"{item.age_s:.0f} s")
    console().print(t)
    if yes:
        console().print(f"[green]deleted[/] {len(result.removed_leftovers)} of them")


def _render_cache(cache: CacheGcResult, unused_for: str | None) -> None:
    size = sum(n for _, n, _ in cache.orphans)
    if cache.expired:
        from rich.table import Table

        t = Table(title=f"{_entries(len(cache.expired))} of the run cache unused for {unused_for} or more")
        for col in ("stage", "key", "unused for"):
            t.add_column(col)
        for key, stage, age in cache.expired:
            t.add_row(stage, short_digest(key), f"{age / 86400:.1f} d")
        console().print(t)
    verb = "deleted" if cache.deleted else "found"
    console().print(
        f"run cache: {_entries(cache.entries)}; {verb} {len(cache.expired)} expired, {len(cache.damaged)} damaged, "
        f"{len(cache.orphans)} output blob(s) nothing names ({size} bytes)"
        + (f"; kept {cache.kept_young} younger blob(s)" if cache.kept_young else "")
    )


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"
