"""``mlgate init``: a mlgate.yaml and an empty registry in the current project."""

from __future__ import annotations

from pathlib import Path

import typer

from mlgate.cli._common import console


def init(
    ctx: typer.Context,
    directory: Path = typer.Argument(Path("."), help="The project folder."),
    project: str | None = typer.Option(None, "--project", help="Project name (default: the folder name)."),
    ci: str | None = typer.Option(
        None, "--ci", help="Also write CI workflows: github (.github/workflows/) or gitlab (.gitlab-ci.yml)."
    ),
) -> None:
    """Create mlgate.yaml (if absent) and the local registry under .mlgate/; with --ci, the CI workflows."""
    from mlgate.project import init_project

    result = init_project(directory, project=project, ci=ci, registry=ctx.find_root().obj.get("registry"))
    for line in result:
        console().print(line)
