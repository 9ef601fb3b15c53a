"""The inference server under hostile or careless clients, on a real uvicorn server.

A long or odd request id, a client that disconnects halfway through its body, a body that never
finishes, and schemathesis with every check (the OpenAPI document and the server agree both ways:
what the schema accepts is scored, what it refuses is a 4xx, never a 500).
"""

# ruff: noqa: F811 (the serving fixtures are imported from tests/unit/serve and used as arguments)
from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

from mlgate.serve.app import REQUEST_ID_HEADER
from tests.unit.serve.conftest import (  # noqa: F401 (the serving fixtures, shared)
    seeded,
    seeded_registry,
    seeded_template,
    start_server,
    wait_for,
)


def _records(seeded: Any, n: int = 2) -> list[dict[str, Any]]:
    return json.loads(seeded.X.iloc[:n].to_json(orient="records"))


def _count(server: Any, status: int, route: str = "/predict") -> float:
    return sum(
        server.metrics.value("mlgate_serve_requests_total", {"route": route, "version": v, "status": str(status)})
        for v in ("bc:1", "bc:2", "")
    )


@pytest.fixture
def server(start_server: Any) -> Any:
    return start_server()


def test_request_ids_are_echoed_and_a_long_one_is_a_400_not_a_500(server: Any, seeded: Any) -> None:
    recs = _records(seeded)
    r = httpx.post(f"{server.base}/predict", json=recs, headers={REQUEST_ID_HEADER: "a" * 128})
    assert r.status_code == 200 and r.headers[REQUEST_ID_HEADER] == "a" * 128
    for bad in ("b" * 129, "x" * 5000, "with space", "caf\u00e9"):
        r = httpx.post(f"{server.base}/predict", json=recs, headers={REQUEST_ID_HEADER: bad.encode("latin-1")})
        assert r.status_code == 400, (len(bad), r.text)
        assert "x-request-id header must be 1 to 128 visible ASCII characters" in r.json()["error"]
        fresh = r.headers[REQUEST_ID_HEADER]  # the answer still carries an id, a fresh one
        assert fresh and fresh != bad and len(fresh) <= 128
    assert _count(server, 500) == 0
    assert "x" * 200 not in httpx.get(f"{server.base}/metrics").text


def _half_a_body(port: int, recs: list[dict[str, Any]], *, close: bool) -> socket.socket:
    body = json.dumps(recs).encode()
    sock = socket.create_connection(("127.0.0.1", port))
    head = (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock.sendall(head + body[: len(body) // 2])
    if close:
        sock.close()
    return sock


def test_a_client_that_disconnects_mid_body_is_no_500_and_no_traceback(
    server: Any, seeded: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # uvicorn's and the server's loggers do not propagate: listen to them directly
    loggers = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "mlgate.serve")]
    for logger in loggers:
        logger.addHandler(caplog.handler)
    try:
        for _ in range(3):
            _half_a_body(server.port, _records(seeded, 20), close=True)
        wait_for(lambda: _count(server, 499) == 3)
    finally:
        for logger in loggers:
            logger.removeHandler(caplog.handler)
    assert _count(server, 500) == 0
    text = httpx.get(f"{server.base}/metrics").text
    assert 'status="500"' not in text
    assert 'mlgate_serve_errors_total{kind="client",route="/predict",version="bc:1"} 3.0' in text
    assert not any(r.exc_info for r in caplog.records) and "Traceback" not in caplog.text, caplog.text
    assert httpx.post(f"{server.base}/predict", json=_records(seeded)).status_code == 200


def test_a_body_that_never_finishes_gets_408_and_the_connection_closed(start_server: Any, seeded: Any) -> None:
    server = start_server(body_timeout_s=0.5)
    started = time.monotonic()
    sock = _half_a_body(server.port, _records(seeded, 20), close=False)
    try:
        sock.settimeout(10)
        answer = b""
        while chunk := sock.recv(65536):  # the server closes the connection after answering
            answer += chunk
    finally:
        sock.close()
    assert time.monotonic() - started < 5
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408") and b"connection: close" in head.lower()
    assert "did not arrive within 0.5 s" in json.loads(body)["error"]
    assert _count(server, 408) == 1 and _count(server, 500) == 0


def test_405_names_the_allowed_methods(server: Any) -> None:
    r = httpx.get(f"{server.base}/predict")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    r = httpx.delete(f"{server.base}/v2/models/bc")
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "HEAD"}


# -- schemathesis, every check ------------------------------------------------------------------------


def _fuzzed_model() -> tuple[Any, Any]:
    """A model that scores every finite float64 and missing values: any valid body is scored (2xx), so a
    5xx or a 4xx on a valid body is the server's fault. (Trees cast to float32 and fail beyond its range.)"""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = load_breast_cancer(as_frame=True, return_X_y=True)
    return HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X, y), X


def _document(model: Any, X: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The document the server publishes while serving ``model``."""
    from mlgate import __version__
    from mlgate.serve.openapi import build_openapi
    from mlgate.serve.protocol import InputSpec, probe_nulls
    from mlgate.signature import infer_schema

    spec = probe_nulls(InputSpec.from_signature({"inputs": infer_schema(X)}), model.predict)
    return build_openapi("bc", spec, __version__), spec.names


MODEL, X = _fuzzed_model()
DOCUMENT, NAMES = _document(MODEL, X)
load_all_checks()
EVERY_CHECK = CHECKS.get_all()


def _flat(data: list[Any]) -> list[Any]:
    return [v for item in data for v in (item if isinstance(item, list) else [item])]


def _cross_field(body: Any, path: str) -> Any:
    """Make a generated valid body keep the rules the document states in words (JSON Schema cannot).

    Every column once, one row count for every tensor (or column list), as many values as ``shape`` says.
    """
    if not isinstance(body, dict):
        return body
    if path.endswith("/infer") and isinstance(body.get("inputs"), list):
        given: dict[str, Any] = {}
        for tensor in body["inputs"]:
            given.setdefault(tensor["name"], tensor)
        first = next(iter(given.values()))
        rows = len(_flat(first["data"]))
        repaired = []
        for name in NAMES:
            tensor = dict(given.get(name) or {**first, "name": name})
            values = (_flat(tensor["data"]) + [0.5] * rows)[:rows]
            tensor["shape"] = [rows] if len(tensor["shape"]) == 1 else [rows, 1]
            tensor["data"] = values
            repaired.append(tensor)
        return {**body, "inputs": repaired}
    for key in ("instances", "inputs"):
        columns = body.get(key)
        if isinstance(columns, dict) and columns:
            rows = min(len(v) for v in columns.values())
            return {**body, key: {c: v[:rows] for c, v in columns.items()}}
    return body


positive = schemathesis.openapi.from_dict(DOCUMENT)
positive.config.generation.update(modes=[GenerationMode.POSITIVE], max_examples=15)

negative = schemathesis.openapi.from_dict(DOCUMENT)
negative.config.generation.update(modes=[GenerationMode.NEGATIVE], max_examples=15)


@pytest.fixture
def fuzzed(seeded_registry: Any, start_server: Any) -> Any:
    """A server following an alias on MODEL (registered as bc:4), whose document is DOCUMENT."""
    import mlgate

    mv = mlgate.log_model(MODEL, "bc", sample_input=X.head(20), registry=seeded_registry)
    seeded_registry.set_alias("bc", "fuzz", mv.number)
    return start_server(alias="fuzz")


def test_the_fuzzed_document_is_the_served_one(fuzzed: Any) -> None:
    assert httpx.get(f"{fuzzed.base}/openapi.json").json() == DOCUMENT


# NumPy's warnings on extreme values inside the model are not errors in a server (they are in this suite)
OVERFLOW = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@OVERFLOW
@positive.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None, derandomize=True)  # the server is stateless
def test_valid_requests_by_the_document_are_scored(case: Any, fuzzed: Any) -> None:
    case.body = _cross_field(case.body, case.path)
    case.call_and_validate(base_url=fuzzed.base, checks=EVERY_CHECK)


@OVERFLOW
@negative.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None, derandomize=True)
def test_invalid_requests_by_the_document_are_refused_with_a_4xx(case: Any, fuzzed: Any) -> None:
    response = case.call_and_validate(base_url=fuzzed.base, checks=EVERY_CHECK)
    assert response.status_code < 500, (case.path, case.body, response.text)
