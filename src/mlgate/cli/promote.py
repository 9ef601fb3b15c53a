"""``mlgate promote`` and ``mlgate rollback``: alias moves, compare-and-set, always recorded."""

from __future__ import annotations

import typer

from mlgate.cli._common import console, print_json, registry, settings


def promote(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The version to promote: fraud:7, fraud:1.4.0-rc.2, fraud@staging …"),
    to: str = typer.Option(..., "--to", help="The alias to move, e.g. production or staging."),
    expect: str | None = typer.Option(
        None, "--expect", help="Only move if the alias now holds this version ('none': only if it is unset)."
    ),
    reason: str | None = typer.Option(None, "--reason", help="Why; recorded on the alias event."),
    gate: bool = typer.Option(False, "--gate", help="Run the gate against the alias's holder first."),
    force: bool = typer.Option(
        False, "--force", help="Move a protected alias without a passing gate (needs --reason)."
    ),
    data: str | None = typer.Option(None, "--data", help="Evaluation data the gate report was made on."),
    as_json: bool = typer.Option(False, "--json", help="Print the alias event as JSON."),
) -> None:
    """Point an alias at a version; a protected alias (production) needs a passing gate report."""
    from mlgate.promotion import promote as run_promote
    from mlgate.refs import parse_ref

    reg = registry(ctx)
    kwargs = {}
    if expect is not None:
        kwargs["expect"] = None if expect.lower() == "none" else expect
    mv = reg.get(parse_ref(ref))
    event = run_promote(
        mv.ref, to, settings=settings(ctx), registry=reg, reason=reason, force=force, gate=gate, data=data, **kwargs
    )
    if as_json:
        print_json(event.to_dict())
        return
    if not event.changed:
        console().print(f"{mv.name}@{to} already points to {mv.ref}; nothing changed")
        return
    before = f"{mv.name}:{event.from_number}" if event.from_number else "nothing"
    now = reg.get(f"{mv.name}@{to}")
    how = " [yellow](forced past the gate)[/]" if event.forced else ""
    console().print(f"[green]promoted[/] {mv.name}@{to}: {before} → [bold]{now.ref}[/] ({now.semver}){how}")


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
