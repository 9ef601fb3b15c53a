"""``mlgate quickstart``: the whole loop on a small real project."""

from __future__ import annotations

from pathlib import Path

import typer

from mlgate.cli._common import console, short_digest, when


def quickstart(
    directory: Path | None = typer.Argument(None, help="Where to create the project (default: a new temp folder)."),
) -> None:
    """Build a small real project and run validate → register → gate → promote → roll back, in under a minute."""
    import time

    from rich.markup import escape
    from rich.table import Table

    from mlgate import quickstart as qs

    out = console()
    start = time.perf_counter()
    n = 0

    def say(kind: str, text: str, command: str | None = None) -> None:
        nonlocal n
        if kind == "step":
            n += 1
            out.print(f"[bold cyan]▶ {n}.[/] {escape(text)}")
            if command:
                out.print(f"     [dim]$ {escape(command)}[/]")
        else:
            for line in text.splitlines():
                out.print(f"     [dim]{escape(line)}[/]")

    result = qs.run(directory, say=say)
    versions = Table(title="versions of breast-cancer")
    for col in ("#", "semver", "status", "digest", "params", "git", "aliases"):
        versions.add_column(col)
    for v in result.versions:
        git = (v.lineage.get("git") or {}).get("commit", "")[:8] or "-"
        params = ", ".join(f"{k}={val}" for k, val in ((v.lineage.get("params") or {}).get("train") or {}).items())
        versions.add_row(str(v.number), v.semver, v.status, short_digest(v.digest), params, git, ", ".join(v.aliases))
    out.print(versions)
    history = Table(title="production history")
    for col in ("time", "from", "to", "kind", "reason"):
        history.add_column(col)
    for e in result.events:
        history.add_row(when(e.created_at), str(e.from_number or "-"), str(e.to_number), e.kind, e.reason or "")
    out.print(history)
    blocked = [g for g in result.gates if not g.passed]
    if blocked:
        names = ", ".join(f"{g.report['candidate']['ref']}" for g in blocked)
        out.print(f"[bold]the gate blocked {escape(names)}[/]; see reports/ in the project for tables and plots")
    production = result.production
    assert production is not None  # run() sets it before returning
    out.print(
        f"[green]done[/] in {time.perf_counter() - start:.1f} s: breast-cancer@production is "
        f"{production.ref} ({production.semver}), accuracy {result.accuracy:.3f} on held-out rows.\n"
        f"Explore: [bold]cd {result.root} && mlgate model list breast-cancer[/]"
    )
