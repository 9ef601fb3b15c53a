"""``mlgate gc``: list blobs no version references; delete them only with --yes."""

from __future__ import annotations

import typer

from mlgate.cli._common import console, print_json, registry, short_digest


def _seconds(text: str) -> float:
    from mlgate.errors import UsageError

    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    t = text.strip().lower()
    try:
        return float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t)
    except ValueError:
        raise UsageError(f"--min-age {text!r} is not a duration such as 30s, 10m, 1h or 2d") from None


def gc(
    ctx: typer.Context,
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete the unreferenced blobs (default: only list)."),
    min_age: str = typer.Option(
        "1h", "--min-age", help="Keep orphans younger than this: a registration may still be committing."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Find artifact blobs that no version references (left by interrupted registrations)."""
    result = registry(ctx).gc(delete=yes, min_age_s=_seconds(min_age))
    if as_json:
        print_json(result.to_dict())
        return
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
    else:
        console().print("nothing deleted; run [bold]mlgate gc --yes[/] to delete them")
