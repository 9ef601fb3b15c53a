"""``mlgate serve``: serve the version an alias points at, and follow the alias as it moves."""

from __future__ import annotations

import typer

from mlgate.cli._common import registry, settings


def serve(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The model to serve."),
    alias: str = typer.Option("production", "--alias", "-a", help="The alias to serve and follow."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8080, "--port", "-p", help="Port to listen on."),
    workers: int = typer.Option(
        1, "--workers", "-w", help="Worker processes; each loads the model and follows the alias."
    ),
    poll: float = typer.Option(2.0, "--poll", help="Seconds between reads of the alias."),
    keep_previous: float = typer.Option(
        600.0, "--keep-previous", help="Seconds a replaced version stays loaded, so moving back is instant."
    ),
    max_body: int = typer.Option(8 * 1024 * 1024, "--max-body", help="Largest request body in bytes (larger: 413)."),
    allow_pickle: bool = typer.Option(
        False, "--allow-pickle", help="Load versions stored as pickles (runs their code: only if you trust them)."
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
) -> None:
    """Serve NAME@ALIAS over HTTP (Open Inference Protocol V2, /predict, MLflow's /invocations, /metrics)."""
    from mlgate.errors import UsageError
    from mlgate.serve.options import ServeOptions
    from mlgate.serve.server import serve as run_serve

    if log_level.lower() not in ("debug", "info", "warning", "error"):
        raise UsageError(f"--log-level must be debug, info, warning or error, got {log_level!r}")
    options = ServeOptions(
        name=name,
        alias=alias,
        host=host,
        port=port,
        workers=workers,
        poll_s=poll,
        keep_previous_s=keep_previous,
        max_body_bytes=max_body,
        allow_pickle=allow_pickle,
        log_level=log_level.lower(),
        settings=settings(ctx),
    )
    run_serve(options, registry=registry(ctx))
