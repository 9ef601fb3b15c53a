"""The request handlers of ``mlgate serve``: :class:`ServerApp` and the responses it writes.

Every handler takes ``holder.current`` once and uses it to the end, so a swap never changes the version
under a request. Bad input is refused before the model runs (4xx naming each field); anything the
model raises after that is a 500, never dressed up as a client error. Every response names the
version that served it in ``x-mlgate-model-version``, the variant (``primary`` or ``canary``) in
``x-mlgate-variant`` and the request id in ``x-request-id`` (the caller's, or a new one; a caller's id
that is not 1 to 128 visible ASCII characters is a 400, since it is echoed verbatim).

The scoring routes (V2 ``infer``, ``/predict``, ``/invocations``) share one path, ``ServerApp._score``:
route, read, validate, predict, mirror, log. The others answer health, V2 metadata, ``POST /labels``,
``/metrics`` and ``/openapi.json``. :mod:`mlgate.serve.app` builds the application around them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mlgate import threads
from mlgate.errors import InputError
from mlgate.serve.loader import ModelHolder, Served
from mlgate.serve.metrics import ServeMetrics
from mlgate.serve.predlog import LogRecord, new_request_id, now_ns
from mlgate.serve.protocol import (
    RequestError,
    content_type,
    dumps,
    name_of,
    parse_invocations,
    parse_predict,
    parse_v2,
    v2_output,
)

if TYPE_CHECKING:
    from mlgate.serve.batching import Batcher
    from mlgate.serve.options import ServeOptions
    from mlgate.serve.predlog import PredictionLog
    from mlgate.serve.routing import CanarySplit, ShadowMirror

VERSION_HEADER = "x-mlgate-model-version"
VARIANT_HEADER = "x-mlgate-variant"
REQUEST_ID_HEADER = "x-request-id"
# a request id is echoed verbatim, so it must be a valid header value that fits a log line
REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")
# nginx's code for a client that closed the connection: never sent (nobody is listening), only counted
CLIENT_CLOSED = 499
log = logging.getLogger("mlgate.serve")


def json_response(
    doc: Any, status: int = 200, served: Served | None = None, headers: dict[str, str] | None = None
) -> Response:
    """An orjson-encoded response, naming the version that served it."""
    if served is not None:
        headers = {VERSION_HEADER: served.label, **(headers or {})}
    return Response(dumps(doc), status_code=status, media_type="application/json", headers=headers)


@dataclass
class Scored:
    """What one scoring request produced, and the headers and log fields that go with it."""

    served: Served
    parsed: Any
    preds: Any
    probs: Any
    headers: dict[str, str]


class ServerApp:
    """The routes over the primary :class:`ModelHolder` (and the optional canary, shadow, batcher and log)."""

    def __init__(
        self,
        options: ServeOptions,
        holder: ModelHolder,
        metrics: ServeMetrics,
        *,
        canary: ModelHolder | None = None,
        split: CanarySplit | None = None,
        shadow: ShadowMirror | None = None,
        batcher: Batcher | None = None,
        predlog: PredictionLog | None = None,
    ) -> None:
        self.options = options
        self.holder = holder
        self.metrics = metrics
        self.canary = canary
        self.split = split
        self.shadow = shadow
        self.batcher = batcher
        self.predlog = predlog

    # -- plumbing -----------------------------------------------------------------------------------

    async def _body(self, request: Request) -> bytes:
        from starlette.requests import ClientDisconnect

        limit = self.options.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestError(413, [f"the body is {int(declared)} bytes; the limit is {limit}"])
        chunks: list[bytes] = []
        size = 0
        try:
            # a body that never finishes would hold a connection (and a worker's memory) for good
            async with asyncio.timeout(self.options.body_timeout_s):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise RequestError(413, [f"the body is larger than the limit of {limit} bytes"])
                    chunks.append(chunk)
        except TimeoutError:
            raise RequestError(
                408, [f"the body did not arrive within {self.options.body_timeout_s:g} s (after {size} bytes)"]
            ) from None
        except ClientDisconnect:
            raise RequestError(
                CLIENT_CLOSED, ["the client closed the connection before the body was complete"]
            ) from None
        return b"".join(chunks)

    def _refuse(
        self, request: Request, exc: RequestError, served: Served | None, headers: dict[str, str] | None = None
    ) -> Response:
        self.metrics.error(_route(request), served.label if served else "", "client")
        if exc.status == 408:  # the rest of the body may still come: nothing more is read on this connection
            headers = {**(headers or {}), "connection": "close"}
        return json_response(exc.body(), exc.status, served, headers)

    def _unavailable(self, request: Request) -> Response:
        self.metrics.error(_route(request), "", "unavailable")
        return json_response({"error": f"no version of {self.options.ref} is loaded yet"}, 503)

    def _check_model(self, request: Request, served: Served) -> Served:
        """The version a request names (the primary's, or the canary's by ``/versions/{v}``), else a 404."""
        name = request.path_params.get("model_name")
        if name is not None and name != self.options.name:
            raise RequestError(
                404, [f"model {_cut(name)!r} is not served here; this server serves {self.options.name!r}"]
            )
        version = request.path_params.get("model_version")
        if version is None or version == str(served.number):
            return served
        other = self.canary.current if self.canary is not None else None
        if other is not None and version == str(other.number):
            return other
        raise RequestError(
            404, [f"version {_cut(version)!r} of {self.options.name!r} is not served here; serving {served.label}"]
        )

    def _pick(self, request: Request, primary: Served) -> tuple[Served, str]:
        """The version that scores this request and its variant: the canary takes its share."""
        canary = self.canary.current if self.canary is not None else None
        if canary is None or self.split is None:
            return primary, "primary"
        if self.split.to_canary(request.headers.get(self.options.request_key_header)):
            return canary, "canary"
        return primary, "primary"

    def _log(
        self,
        request: Request,
        started: float,
        served: Served | None,
        variant: str,
        rid: str,
        status: int,
        inputs: Any = None,
        outputs: Any = None,
        error: str | None = None,
    ) -> None:
        if self.predlog is None:
            return
        self.predlog.record(
            LogRecord(
                now_ns(),
                rid,
                _route(request),
                self.options.name,
                served.label if served is not None else "",
                variant,
                status,
                time.perf_counter() - started,
                inputs,
                outputs,
                error,
                served,  # its signature types the log's columns
            )
        )

    async def _score(
        self, request: Request, parse: Callable[[bytes, Served], Any], proba: Callable[[Any], bool]
    ) -> Scored | Response:
        """Route, read, validate, predict, mirror and log; a Response when the request stops early."""
        started = time.perf_counter()
        given = request.headers.get(REQUEST_ID_HEADER)
        rid = given if given and REQUEST_ID.fullmatch(given) else new_request_id()
        primary = self.holder.current
        if primary is None:
            self._log(request, started, None, "primary", rid, 503, error="no version loaded")
            return self._unavailable(request)
        served, variant = primary, "primary"
        headers = {REQUEST_ID_HEADER: rid, VARIANT_HEADER: variant}
        try:
            if given is not None and rid != given:
                got = f"{len(given)} characters" + (", not all visible ASCII" if 0 < len(given) <= 128 else "")
                raise RequestError(
                    400,
                    [
                        f"the {REQUEST_ID_HEADER} header must be 1 to 128 visible ASCII characters (got {got}); "
                        "send another id or none (the server makes one)"
                    ],
                )
            if "model_version" in request.path_params:
                served = self._check_model(request, primary)
                variant = "primary" if served is primary else "canary"
            else:
                self._check_model(request, primary)
                served, variant = self._pick(request, primary)
            headers[VARIANT_HEADER] = variant
            body = await self._body(request)
            parsed = parse(body, served)
            data = getattr(parsed, "data", parsed)
            try:
                prepared = data if served.takes_frames else served.model.prepare(data)
            except InputError as exc:
                raise RequestError(400, [exc.message]) from None
        except RequestError as exc:
            self._log(request, started, served, variant, rid, exc.status, error=exc.body()["error"])
            return self._refuse(request, exc, served, headers)
        want_proba = proba(parsed)
        try:
            if self.batcher is not None:
                preds, probs = await self.batcher.predict(served, prepared, want_proba)
            else:
                with threads.limited():  # as the gate's latency check measured it
                    preds, probs = served.model.predict_prepared(prepared, proba=want_proba)
        except Exception as exc:
            log.exception("%s raised on a request to %s", served.label, request.url.path)
            self.metrics.error(_route(request), served.label, "model")
            message = f"the model {served.label} failed: {type(exc).__name__} (see the server log)"
            self._log(request, started, served, variant, rid, 500, inputs=prepared, error=message)
            return json_response({"error": message}, 500, served, headers)
        if not _finite(preds, probs):  # a NaN answered as a 200 (null in JSON) would fail silently
            self.metrics.error(_route(request), served.label, "model")
            message = f"the model {served.label} failed: it returned non-finite outputs (NaN or infinity)"
            log.error("%s returned non-finite outputs on a request to %s", served.label, request.url.path)
            self._log(request, started, served, variant, rid, 500, inputs=prepared, error=message)
            return json_response({"error": message}, 500, served, headers)
        self.metrics.routed.labels(variant, served.label).inc()
        if self.shadow is not None:
            self.shadow.submit(body, parse, served.label, preds, rid, _route(request))
        outputs = {"predict": preds} if probs is None else {"predict": preds, "predict_proba": probs}
        self._log(request, started, served, variant, rid, 200, inputs=prepared, outputs=outputs)
        return Scored(served, parsed, preds, probs, headers)

    # -- routes -------------------------------------------------------------------------------------

    async def live(self, request: Request) -> Response:
        return json_response({"live": True})

    async def ready(self, request: Request) -> Response:
        ok = self.holder.ready
        return json_response({"ready": ok}, 200 if ok else 503)

    async def server_metadata(self, request: Request) -> Response:
        from mlgate import __version__

        return json_response({"name": "mlgate", "version": __version__, "extensions": ["binary_tensor_data"]})

    async def model_metadata(self, request: Request) -> Response:
        served = self.holder.current
        if served is None:
            return self._unavailable(request)
        try:
            served = self._check_model(request, served)
        except RequestError as exc:
            return self._refuse(request, exc, served)
        mv = served.model.metadata
        outputs = [{"name": "predict", "datatype": "BYTES", "shape": [-1]}]
        out_sig = mv.signature.get("outputs", {})
        if out_sig.get("type") == "tensor":
            outputs[0] = {"name": "predict", "datatype": _datatype(out_sig.get("dtype")), "shape": out_sig.get("shape")}
        parameters: dict[str, Any] = {"semver": mv.semver, "digest": mv.digest, "alias": self.options.alias}
        if _gives_proba(served):
            classes = class_names(served)
            outputs.append(
                {"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(classes) if classes else -1]}
            )
            if classes is not None:
                parameters["classes"] = classes  # the columns of predict_proba, in order
        return json_response(
            {
                "name": self.options.name,
                "versions": [str(served.number)],
                "platform": f"mlgate-{mv.flavor}",
                "inputs": served.spec.v2_inputs(),
                "outputs": outputs,
                "parameters": parameters,
            },
            served=served,
        )

    async def model_ready(self, request: Request) -> Response:
        served = self.holder.current
        if served is None:
            return json_response({"name": self.options.name, "ready": False}, 503)
        try:
            served = self._check_model(request, served)
        except RequestError as exc:
            return self._refuse(request, exc, served)
        return json_response({"name": self.options.name, "ready": True}, served=served)

    async def infer(self, request: Request) -> Response:
        header = request.headers.get("inference-header-content-length")
        result = await self._score(
            request,
            lambda body, s: parse_v2(body, header, s.spec),
            lambda parsed: parsed.outputs is None or "predict_proba" in parsed.outputs,
        )
        if isinstance(result, Response):
            return result
        served, parsed, preds, probs = result.served, result.parsed, result.preds, result.probs
        available = {"predict": preds} | ({"predict_proba": probs} if probs is not None else {})
        wanted = parsed.outputs or tuple(available)
        unknown = [n for n in wanted if n not in available]
        if unknown:
            names = ", ".join(repr(_cut(n)) for n in unknown)
            return self._refuse(
                request,
                RequestError(400, [f"unknown output(s) {names}; this model gives {', '.join(available)}"]),
                served,
                result.headers,
            )
        doc: dict[str, Any] = {"model_name": self.options.name, "model_version": str(served.number)}
        if parsed.id is not None:
            doc["id"] = parsed.id
        doc["outputs"] = [v2_output(n, available[n]) for n in wanted]
        classes = class_names(served) if "predict_proba" in wanted else None
        for out in doc["outputs"]:
            if out["name"] == "predict_proba" and classes is not None:
                out["parameters"] = {"classes": classes}  # the columns of the probabilities, in order
        return json_response(doc, served=served, headers=result.headers)

    async def predict(self, request: Request) -> Response:
        raw = request.query_params.get("proba", "false")
        if raw not in ("true", "false"):
            exc = RequestError(400, [f"the query parameter proba must be true or false, got {name_of(raw)}"])
            return self._refuse(request, exc, self.holder.current)
        want = raw == "true"

        def parse(body: bytes, served: Served) -> Any:
            if want and not _gives_proba(served):
                raise RequestError(400, [f"{served.label} gives no probabilities: leave proba out"])
            return parse_predict(body, served.spec)

        result = await self._score(request, parse, lambda _: want)
        if isinstance(result, Response):
            return result
        doc: dict[str, Any] = {"predictions": result.preds}
        if want:
            probs = np.asarray(result.probs).tolist()
            names = class_names(result.served) or [str(i) for i in range(len(probs[0]) if probs else 0)]
            doc["probabilities"] = [dict(zip(names, row, strict=True)) for row in probs]
        return json_response(doc, served=result.served, headers=result.headers)

    async def invocations(self, request: Request) -> Response:
        media = content_type(request.headers)
        result = await self._score(request, lambda body, s: parse_invocations(body, media, s.spec), lambda _: False)
        if isinstance(result, Response):
            return result
        return json_response({"predictions": result.preds}, served=result.served, headers=result.headers)

    async def ping(self, request: Request) -> Response:
        return await self.ready(request)

    async def labels(self, request: Request) -> Response:
        """``POST /labels``: delayed labels (``{"labels": [{"request_id", "label", "row"?, "time"?}]}``, or the
        bare list), checked whole and stored where ``mlgate labels add`` stores them; ids are not checked
        against the log, whose latest rows may not be flushed yet (an unknown id simply never joins). A
        label outside the served classifier's classes is refused unless ``?allow_new_classes=true``."""
        from starlette.concurrency import run_in_threadpool

        from mlgate.monitor.labels import store_labels

        settings = self.options.settings
        root = settings.root if settings is not None else Path.cwd()
        served = self.holder.current
        allow = request.query_params.get("allow_new_classes", "").lower() in ("1", "true", "yes")
        try:
            frame = _label_frame(await self._body(request))
            added = await run_in_threadpool(
                functools.partial(
                    store_labels,
                    frame,
                    root / ".mlgate" / "monitor" / "labels",
                    what="the POST /labels body",
                    place=lambda i: f"labels[{i}]",
                    classes=class_names(served) if served is not None else None,
                    allow_new_classes=allow,
                )
            )
        except RequestError as exc:
            return self._refuse(request, exc, None)
        except InputError as exc:
            return self._refuse(request, RequestError(400, [str(exc).replace("\n  hint:", "; hint:")]), None)
        doc: dict[str, Any] = {"labels": added.labels, "file": added.file.name}
        if added.new_classes:
            doc["new_classes"] = added.new_classes
        return json_response(doc)

    async def metrics_route(self, request: Request) -> Response:
        body, media = self.metrics.render()
        return Response(body, media_type=media)

    async def openapi(self, request: Request) -> Response:
        from mlgate import __version__
        from mlgate.serve.openapi import build_openapi

        served = self.holder.current
        spec = served.spec if served else None
        proba = served is None or _gives_proba(served)
        return json_response(build_openapi(self.options.name, spec, __version__, proba=proba))

    def routes(self) -> list[Route]:
        """Every route, V2 ones with and without ``/versions/{v}``."""
        v2 = "/v2/models/{model_name}"
        vv = v2 + "/versions/{model_version}"
        return [
            Route("/v2/health/live", self.live, methods=["GET"]),
            Route("/v2/health/ready", self.ready, methods=["GET"]),
            Route("/v2", self.server_metadata, methods=["GET"]),
            Route(v2, self.model_metadata, methods=["GET"]),
            Route(vv, self.model_metadata, methods=["GET"]),
            Route(v2 + "/ready", self.model_ready, methods=["GET"]),
            Route(vv + "/ready", self.model_ready, methods=["GET"]),
            Route(v2 + "/infer", self.infer, methods=["POST"]),
            Route(vv + "/infer", self.infer, methods=["POST"]),
            Route("/predict", self.predict, methods=["POST"]),
            Route("/invocations", self.invocations, methods=["POST"]),
            Route("/labels", self.labels, methods=["POST"]),
            Route("/ping", self.ping, methods=["GET"]),
            Route("/health", self.ping, methods=["GET"]),
            Route("/metrics", self.metrics_route, methods=["GET"]),
            Route("/openapi.json", self.openapi, methods=["GET"]),
        ]


def _label_frame(body: bytes) -> Any:
    """The rows of a ``POST /labels`` body as a frame; a 400 naming what is wrong."""
    import json

    import polars as pl

    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise RequestError(400, [f"the body is not JSON ({exc})"]) from None
    rows = doc.get("labels") if isinstance(doc, dict) else doc
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise RequestError(
            400, ['the body must be {"labels": [{"request_id": "…", "label": …, "row": 0, "time": "…"}, …]}']
        )
    if not rows:
        raise RequestError(400, ['no labels in the body: send {"labels": [{"request_id": "…", "label": …}, …]}'])
    try:
        return pl.DataFrame(rows, infer_schema_length=None)
    except Exception as exc:  # mixed types in one field: Polars names it
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RequestError(400, [f"the labels do not form a table: {first[:200]}"]) from None


def _finite(*outputs: Any) -> bool:
    """Whether every numeric output is a finite number (text labels and absent outputs pass)."""
    for out in outputs:
        if out is None:
            continue
        arr = np.asarray(out)
        if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
            return False
    return True


def _gives_proba(served: Served) -> bool:
    return callable(getattr(served.model.native, "predict_proba", None))


def class_names(served: Served) -> list[str] | None:
    """The class labels a classifier's probabilities are columns of, as text (None when it does not say)."""
    native = served.model.native
    classes = getattr(native, "classes_", None)
    if classes is None:
        classes = getattr(native, "classes", None)
    return None if classes is None else [str(c) for c in np.asarray(classes).tolist()]


def _route(request: Request) -> str:
    return getattr(request.scope.get("route"), "path", "unmatched")


def _cut(text: str, limit: int = 64) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _datatype(dtype: str | None) -> str:
    import numpy as np

    from mlgate.serve.input_spec import v2_datatype

    try:
        return v2_datatype(np.dtype(dtype or "object"))
    except TypeError:
        return "BYTES"


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's HTTP errors (404, 405…) and anything unhandled as JSON naming the method and path."""
    if not isinstance(exc, HTTPException):
        return json_response({"error": f"internal error: {request.method} {_cut(request.url.path)}"}, 500)
    # the headers carry Allow on a 405
    doc = {"error": f"{exc.detail}: {request.method} {_cut(request.url.path)}"}
    return json_response(doc, exc.status_code, headers=dict(exc.headers or {}))
