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
    body_timeout: float = typer.Option(
        30.0, "--body-timeout", help="Seconds a request body may take to arrive (slower: 408, connection closed)."
    ),
    allow_pickle: bool = typer.Option(
        False, "--allow-pickle", help="Load versions stored as pickles (runs their code: only if you trust them)."
    ),
    allow_code: bool = typer.Option(
        False,
        "--allow-code",
        help="Load versions that run code stored in their artifact (pyfunc, pickles): only if you trust them.",
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    canary_alias: str | None = typer.Option(
        None, "--canary-alias", help="An alias whose version takes --canary-weight of the traffic."
    ),
    canary_weight: float = typer.Option(0.1, "--canary-weight", help="Share of requests the canary serves (0-1)."),
    shadow_alias: str | None = typer.Option(
        None, "--shadow-alias", help="An alias whose version scores a copy of every request, off the response path."
    ),
    request_key: str = typer.Option(
        "x-request-key", "--request-key-header", help="Requests with the same value of this header stick to a variant."
    ),
    log_dir: str | None = typer.Option(
        None, "--log", help="Prediction-log folder (Parquet by hour); default: serve.log in mlgate.yaml, else off."
    ),
    no_log: bool = typer.Option(False, "--no-log", help="Turn the prediction log off even if mlgate.yaml sets one."),
    batch_max_size: int = typer.Option(
        0, "--batch-max-size", help="Adaptive batching: most rows per predict call (0 or 1: off)."
    ),
    batch_max_wait_ms: float = typer.Option(
        2.0, "--batch-max-wait-ms", help="Adaptive batching: longest a request waits for others to join."
    ),
) -> None:
    """Serve NAME@ALIAS over HTTP (Open Inference Protocol V2, /predict, MLflow's /invocations, /metrics)."""
    from mlgate.errors import UsageError
    from mlgate.serve.options import ServeOptions
    from mlgate.serve.server import serve as run_serve

    if log_level.lower() not in ("debug", "info", "warning", "error"):
        raise UsageError(f"--log-level must be debug, info, warning or error, got {log_level!r}")
    from pathlib import Path

    from mlgate.serve.options import serve_section

    resolved = settings(ctx)
    log_path = None if no_log else (Path(log_dir).resolve() if log_dir else serve_section(resolved).get("log"))
    options = ServeOptions(
        name=name,
        alias=alias,
        host=host,
        port=port,
        workers=workers,
        poll_s=poll,
        keep_previous_s=keep_previous,
        max_body_bytes=max_body,
        body_timeout_s=body_timeout,
        allow_pickle=allow_pickle,
        allow_code=allow_code,
        log_level=log_level.lower(),
        canary_alias=canary_alias,
        canary_weight=canary_weight if canary_alias else 0.0,
        shadow_alias=shadow_alias,
        request_key_header=request_key.lower(),
        log_dir=log_path,
        batch_max_size=batch_max_size,
        batch_max_wait_ms=batch_max_wait_ms,
        settings=resolved,
    )
    run_serve(options, registry=registry(ctx))
