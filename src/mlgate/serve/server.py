"""Running the application on uvicorn (uvloop, httptools), with one or several worker processes."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import UsageError, require

if TYPE_CHECKING:
    import socket
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


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``; UsageError (exit 2) when the port is taken or the address is not ours."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {port} on {host} is already in use: stop what listens there or pass another --port"
            ) from None
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror or exc}): check --host and --port") from None
    sock.set_inheritable(True)  # the worker processes accept on it
    return sock


def serve(options: ServeOptions, *, registry: Registry | None = None) -> None:
    """Serve ``name@alias`` until interrupted; refuses to start if the port is taken or an alias does not
    exist (exit 2) or the prediction-log folder cannot be written (exit 3).

    The port is bound first, so a taken port is reported before anything is loaded. Each worker process
    builds its own app and follows the alias on its own. In-flight requests are drained on shutdown
    (up to 30 s).
    """
    require("uvicorn", "serve", "mlgate serve")
    sock = listen(options.host, options.port)
    try:
        _serve_on(sock, options, registry)
    finally:
        sock.close()


def _serve_on(sock: socket.socket, options: ServeOptions, registry: Registry | None) -> None:
    if registry is None:
        from mlgate.registry.store import Registry

        registry = Registry(settings=options.settings)
    from mlgate.models import require_consent
    from mlgate.signing import verify_signatures

    for following in [options] + [options.following(a) for a in (options.canary_alias, options.shadow_alias) if a]:
        mv = check_alias(following, registry)
        # refuse at start, with exit 2 and a hint, what the watcher would only log as a failed swap
        require_consent(mv, registry=registry, allow_pickle=options.allow_pickle, allow_code=options.allow_code)
        verify_signatures(registry, mv, alias=following.alias)
    registry.close()
    if options.log_dir is not None:
        from mlgate.serve.predlog import check_writable

        check_writable(options.log_dir)
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if options.workers == 1:
        uvicorn.Server(uvicorn_config(options)).run(sockets=[sock])
        return
    with shared_metrics_dir() as folder:
        config = uvicorn_config(dataclasses.replace(options, metrics_dir=folder))
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
