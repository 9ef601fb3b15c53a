"""Running the application on uvicorn (uvloop, httptools), with one or several worker processes."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import require

if TYPE_CHECKING:
    from collections.abc import Iterator

    import uvicorn
    from starlette.applications import Starlette

    from mlgate.registry.store import Registry
    from mlgate.registry.types import ModelVersion
    from mlgate.serve.options import ServeOptions

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def check_alias(options: ServeOptions, registry: Registry) -> ModelVersion:
    """The version ``name@alias`` points at now; NotFoundError (exit 2) when the model or alias does not exist."""
    from mlgate.errors import NotFoundError

    try:
        return registry.get(options.ref)
    except NotFoundError as exc:
        hint = exc.hint
        if hint is None:
            try:
                held = registry.aliases(options.name)
            except NotFoundError:
                held = {}
            hint = (
                f"{options.name} has the aliases {', '.join(sorted(held))}; pass one with --alias"
                if held
                else f"point it at a version first: mlgate promote {options.name}:N --to {options.alias}"
            )
        raise NotFoundError(f"cannot serve {options.ref}: {exc.message}", hint=hint) from None


def _app_factory(options: ServeOptions) -> Starlette:
    from mlgate.serve.app import create_app

    return create_app(options)


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus the ``mlgate.serve`` logger (swaps, failures) on the same handler."""
    from uvicorn.config import LOGGING_CONFIG

    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg["loggers"]["mlgate.serve"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return cfg


def uvicorn_config(options: ServeOptions, app: Any = None) -> uvicorn.Config:
    """The uvicorn configuration: uvloop, httptools, the app built in each worker from ``options``."""
    require("uvicorn", "serve", "mlgate serve")
    require("starlette", "serve", "mlgate serve")
    import uvicorn

    return uvicorn.Config(
        app if app is not None else functools.partial(_app_factory, options),
        factory=app is None,
        host=options.host,
        port=options.port,
        workers=options.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=log_config(options.log_level),
        log_level=options.log_level,
        access_log=False,
        timeout_graceful_shutdown=30,
    )


def serve(options: ServeOptions, *, registry: Registry | None = None) -> None:
    """Serve ``name@alias`` until interrupted; refuses to start if an alias does not exist (exit 2) or the
    prediction-log folder cannot be written (exit 3).

    Each worker process builds its own app and follows the alias on its own. In-flight requests are
    drained on shutdown (up to 30 s).
    """
    if registry is None:
        from mlgate.registry.store import Registry

        registry = Registry(settings=options.settings)
    check_alias(options, registry)
    for alias in (options.canary_alias, options.shadow_alias):
        if alias is not None:
            check_alias(options.following(alias), registry)
    registry.close()
    if options.log_dir is not None:
        from mlgate.serve.predlog import check_writable

        check_writable(options.log_dir)
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if options.workers == 1:
        uvicorn.Server(uvicorn_config(options)).run()
        return
    with shared_metrics_dir() as folder:
        config = uvicorn_config(dataclasses.replace(options, metrics_dir=folder))
        sock = config.bind_socket()
        Multiprocess(config, sockets=[sock]).run()


@contextlib.contextmanager
def shared_metrics_dir() -> Iterator[Path]:
    """A temporary folder the workers share their Prometheus values through, removed afterwards.

    prometheus_client picks its multiprocess mode from ``PROMETHEUS_MULTIPROC_DIR`` when it is first
    imported, so the variable is set here, before the workers are spawned, and restored after.
    """
    import os
    import tempfile

    before = os.environ.get(MULTIPROC_ENV)
    with tempfile.TemporaryDirectory(prefix="mlgate-metrics-") as folder:
        os.environ[MULTIPROC_ENV] = folder
        try:
            yield Path(folder)
        finally:
            if before is None:
                os.environ.pop(MULTIPROC_ENV, None)
            else:
                os.environ[MULTIPROC_ENV] = before
