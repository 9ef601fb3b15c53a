"""``mlgate package``: write a deployable build context (Dockerfile, locked requirements, model, manifests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mlgate.cli._common import console, print_json, registry, settings


def package(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The version to package: fraud:3, fraud@production, fraud:1.4.0."),
    out: Path = typer.Option(..., "--out", "-o", help="The folder to write (must be empty or absent)."),
    image: str | None = typer.Option(None, "--image", help="Image name for the manifests (default NAME:SEMVER)."),
    full_lock: bool = typer.Option(
        False, "--full-lock", help="Pin every recorded distribution, not only what serving needs."
    ),
    force: bool = typer.Option(False, "--force", help="Replace the contents of a non-empty --out folder."),
    with_wheel: bool = typer.Option(
        False, "--with-wheel", help="Build this mlgate's wheel into OUT/wheels/ (for images without it on the index)."
    ),
    rollouts: str | None = typer.Option(
        None, "--rollouts", help="argo: an Argo Rollouts Rollout (in the Deployment's place) and AnalysisTemplate."
    ),
    analysis: str | None = typer.Option(None, "--analysis", help="With --rollouts: the analysis of delivery.analyses."),
    prometheus: str | None = typer.Option(
        None, "--prometheus", help="With --rollouts: the Prometheus URL the AnalysisTemplate queries by default."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Package a verified version with its server: docker build OUT, then kubectl apply -f OUT/k8s."""
    options: dict[str, Any] = {"image": image, "full_lock": full_lock, "force": force, "with_wheel": with_wheel}
    if rollouts is not None:
        from mlgate.delivery import argo

        url = prometheus or argo.DEFAULT_PROMETHEUS
        delivery = settings(ctx).delivery
        result = argo.package(
            ref,
            out,
            registry=registry(ctx),
            delivery=delivery,
            kind=rollouts,
            analysis=analysis,
            prometheus=url,
            **options,
        )
    elif analysis is not None or prometheus is not None:
        from mlgate.errors import UsageError

        raise UsageError("--analysis and --prometheus go with --rollouts", hint="add --rollouts argo")
    else:
        from mlgate.serve.package import package as build

        result = build(ref, out, registry=registry(ctx), **options)
    if as_json:
        print_json(result.to_dict())
        return
    c = console()
    c.print(f"[green]packaged[/] {result.ref} ({result.digest[:19]}…) into {result.out}")
    c.print(f"  {len(result.requirements)} pinned requirement(s); files: {', '.join(result.files)}")
    if result.not_in_lock:
        c.print(f"  [yellow]not in the recorded lock[/] (pinned from here): {', '.join(result.not_in_lock)}")
    c.print(f"  build: docker build -t {result.image} {result.out}   run locally: {result.out / 'entrypoint.sh'}")
