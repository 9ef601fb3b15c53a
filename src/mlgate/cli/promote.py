"""``mlgate promote`` and ``mlgate rollback``: alias moves, compare-and-set, always recorded."""

from __future__ import annotations

import typer

from mlgate.cli._common import console, print_json, registry


def promote(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The version to promote: fraud:7, fraud:1.4.0-rc.2, fraud@staging …"),
    to: str = typer.Option(..., "--to", help="The alias to move, e.g. production or staging."),
    expect: str | None = typer.Option(
        None, "--expect", help="Only move if the alias now holds this version ('none': only if it is unset)."
    ),
    reason: str | None = typer.Option(None, "--reason", help="Why; recorded on the alias event."),
    as_json: bool = typer.Option(False, "--json", help="Print the alias event as JSON."),
) -> None:
    """Point an alias at a version (compare-and-set with --expect); the move is recorded."""
    from mlgate.refs import parse_ref

    reg = registry(ctx)
    parsed = parse_ref(ref)
    mv = reg.get(parsed)
    kwargs = {}
    if expect is not None:
        kwargs["expect"] = None if expect.lower() == "none" else expect
    event = reg.set_alias(mv.name, to, mv.number, reason=reason, **kwargs)
    if as_json:
        print_json(event.to_dict())
        return
    if not event.changed:
        console().print(f"{mv.name}@{to} already points to {mv.ref}; nothing changed")
        return
    before = f"{mv.name}:{event.from_number}" if event.from_number else "nothing"
    now = reg.get(f"{mv.name}@{to}")
    console().print(f"[green]promoted[/] {mv.name}@{to}: {before} → [bold]{now.ref}[/] ({now.semver})")


def rollback(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Model name."),
    alias: str = typer.Option("production", "--alias", "-a", help="The alias to roll back."),
    reason: str | None = typer.Option(None, "--reason", help="Why; recorded on the alias event."),
    as_json: bool = typer.Option(False, "--json", help="Print the alias event as JSON."),
) -> None:
    """Move an alias back to the version that held it before."""
    event = registry(ctx).rollback(name, alias, reason=reason)
    if as_json:
        print_json(event.to_dict())
        return
    console().print(
        f"[yellow]rolled back[/] {name}@{alias}: {name}:{event.from_number} → [bold]{name}:{event.to_number}[/]"
    )
