"""The ASGI application: Open Inference Protocol V2, ``/predict``, MLflow's ``/invocations``, ``/metrics``.

:func:`create_app` assembles the server: the :class:`ModelHolder` of each alias it follows, the routes
(:class:`~mlgate.serve.handlers.ServerApp`, where every request is handled, with the response headers
it writes), the metrics middleware and the lifespan that starts and stops them all.

Optional parts, each off unless asked for: a canary alias taking a share of the traffic and a shadow
alias seeing copies (``routing``), adaptive batching (``batching``) and the prediction log
(``predlog``). Each alias is followed by its own :class:`ModelHolder`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from mlgate.serve.handlers import CLIENT_CLOSED as CLIENT_CLOSED
from mlgate.serve.handlers import REQUEST_ID as REQUEST_ID
from mlgate.serve.handlers import REQUEST_ID_HEADER as REQUEST_ID_HEADER
from mlgate.serve.handlers import VARIANT_HEADER as VARIANT_HEADER
from mlgate.serve.handlers import VERSION_HEADER as VERSION_HEADER
from mlgate.serve.handlers import Scored as Scored
from mlgate.serve.handlers import ServerApp as ServerApp
from mlgate.serve.handlers import class_names as class_names
from mlgate.serve.handlers import http_error as _http_error
from mlgate.serve.handlers import json_response as json_response
from mlgate.serve.handlers import log as log
from mlgate.serve.loader import ModelHolder
from mlgate.serve.metrics import ServeMetrics

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from mlgate.registry.store import Registry
    from mlgate.serve.options import ServeOptions


class InFlight:
    """The number of HTTP requests being handled (the batcher stops waiting once all of them wait in it)."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


class _Instrument:
    """Pure ASGI middleware: metrics per route template, version and status, plus the version header."""

    def __init__(self, app: ASGIApp, holder: ModelHolder, metrics: ServeMetrics, in_flight: InFlight) -> None:
        self.app = app
        self.holder = holder
        self.metrics = metrics
        self.count = in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        version = ""
        header = VERSION_HEADER.encode()

        async def send_wrapper(message: Message) -> None:
            nonlocal status, version
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                named = next((v for k, v in headers if k.lower() == header), None)
                if named is None and self.holder.current is not None:
                    named = self.holder.current.label.encode()
                    headers.append((header, named))
                    message = {**message, "headers": headers}
                version = named.decode() if named else ""
            await send(message)

        self.metrics.in_flight.inc()
        self.count.n += 1
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.count.n -= 1
            self.metrics.in_flight.dec()
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.metrics.observe(template, version, status, time.perf_counter() - start)


def create_app(options: ServeOptions, *, registry: Registry | None = None) -> Starlette:
    """The server for ``options``: it follows ``name@alias`` from startup to shutdown.

    ``registry`` defaults to the one ``options.settings`` points at. ``app.state.holder`` is the
    :class:`ModelHolder`, ``app.state.metrics`` the :class:`ServeMetrics`.
    """
    if registry is None:
        from mlgate.registry.store import Registry

        registry = Registry(settings=options.settings)
    metrics = ServeMetrics(options.metrics_dir)
    in_flight = InFlight()
    predlog = None
    if options.log_dir is not None:
        from mlgate.serve.logfiles import retention_from_settings
        from mlgate.serve.predlog import PredictionLog

        # checked here, before anything starts: an unwritable folder stops the server (exit 3)
        predlog = PredictionLog(
            options.log_dir,
            metrics,
            max_pending=options.log_queue,
            flush_s=options.log_flush_s,
            retention=retention_from_settings(options.settings),
        )
    holder = ModelHolder(options, registry, metrics)
    holders = [holder]
    canary = split = shadow = batcher = None
    if options.canary_alias is not None:
        from mlgate.serve.routing import CanarySplit

        canary = ModelHolder(options.following(options.canary_alias), registry, metrics, primary=False)
        split = CanarySplit(options.canary_weight)
        holders.append(canary)
    else:  # no fixed canary: the rollout on the alias, if any, decides (polled with the primary, no watcher)
        from mlgate.serve.routing import CanarySplit, RolloutFollower

        canary = ModelHolder(options.following(f"{options.alias}-rollout"), registry, metrics, primary=False)
        canary.signing_alias = options.alias
        split = CanarySplit(0.0)
        holder.follower = RolloutFollower(registry, options.name, options.alias, canary, split)
    if options.shadow_alias is not None:
        from mlgate.serve.routing import ShadowMirror

        shadow_holder = ModelHolder(options.following(options.shadow_alias), registry, metrics, primary=False)
        shadow = ShadowMirror(shadow_holder, metrics)
        if predlog is not None:  # the shadow's predictions are logged with route "shadow"
            shadow.on_scored = predlog.shadow_hook(options.name)
        holders.append(shadow_holder)
    if options.batching:
        from mlgate.serve.batching import Batcher

        batcher = Batcher(options.batch_max_size, options.batch_max_wait_ms / 1000.0, metrics, lambda: in_flight.n)
    server = ServerApp(
        options, holder, metrics, canary=canary, split=split, shadow=shadow, batcher=batcher, predlog=predlog
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if predlog is not None:
            predlog.start()
        for h in holders:
            h.start()
        try:
            yield
        finally:
            if shadow is not None:
                shadow.drain()
            for h in holders:
                h.close()
            if canary is not None and canary not in holders:
                canary.close()
            if predlog is not None:
                predlog.close()
            metrics.worker_stopped()

    app = Starlette(
        routes=server.routes(),
        middleware=[Middleware(_Instrument, holder=holder, metrics=metrics, in_flight=in_flight)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.holder = holder
    app.state.canary = canary
    app.state.shadow = shadow.holder if shadow is not None else None
    app.state.predlog = predlog
    app.state.metrics = metrics
    return app
