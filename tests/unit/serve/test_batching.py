"""Adaptive batching: identical results to unbatched scoring, real batches under concurrency, isolated errors."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import numpy as np
import pytest

from mlgate.serve.app import VERSION_HEADER
from mlgate.serve.batching import Batcher
from mlgate.serve.metrics import ServeMetrics


async def _fire(base: str, bodies: list[tuple[str, Any]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        return await asyncio.gather(*(http.post(path, json=body) for path, body in bodies))


def _v2(frame: Any) -> dict[str, Any]:
    inputs = [{"name": c, "datatype": "FP64", "shape": [len(frame)], "data": frame[c].tolist()} for c in frame.columns]
    return {"inputs": inputs}


def test_batched_results_equal_unbatched_ones(start_server: Any, seeded: Any) -> None:
    server = start_server(batch_max_size=64, batch_max_wait_ms=50)
    model = seeded.models[1]
    sizes = [1, 3, 1, 7, 2, 1, 5, 1] * 6  # 48 requests, 128 rows
    starts = np.cumsum([0, *sizes[:-1]])
    frames = [seeded.X.iloc[s : s + n] for s, n in zip(starts, sizes, strict=True)]
    bodies: list[tuple[str, Any]] = []
    for i, f in enumerate(frames):
        if i % 2:
            bodies.append(("/v2/models/bc/infer", _v2(f)))
        else:
            bodies.append(("/predict", json.loads(f.to_json(orient="records"))))
    for _ in range(3):  # rounds of concurrent requests
        responses = asyncio.run(_fire(server.base, bodies))
        for f, (path, _), r in zip(frames, bodies, responses, strict=True):
            assert r.status_code == 200 and r.headers[VERSION_HEADER] == "bc:1"
            if path == "/predict":
                assert r.json()["predictions"] == model.predict(f).tolist()
            else:
                out = {o["name"]: o for o in r.json()["outputs"]}
                assert out["predict"]["data"] == model.predict(f).tolist()
                assert out["predict_proba"]["shape"] == [len(f), 2]
                proba = np.asarray(out["predict_proba"]["data"]).reshape(len(f), 2)
                # BLAS sums a matrix product in an order that depends on its row count: a few ulps apart
                np.testing.assert_allclose(proba, model.predict_proba(f), rtol=1e-12, atol=0)
    calls = server.metrics.value("mlgate_serve_batch_requests_count")
    requests = server.metrics.value("mlgate_serve_batch_requests_sum")
    assert requests == 3 * len(bodies)
    assert calls < requests  # some predict calls served several requests
    assert server.metrics.value("mlgate_serve_batch_size_sum") == 3 * sum(sizes)


def test_a_bad_request_is_refused_alone(start_server: Any, seeded: Any) -> None:
    server = start_server(batch_max_size=32, batch_max_wait_ms=50)
    good = json.loads(seeded.X.iloc[:2].to_json(orient="records"))
    bad = [{**good[0], "mean radius": "big"}]
    bodies = [("/predict", bad if i % 5 == 0 else good) for i in range(20)]
    responses = asyncio.run(_fire(server.base, bodies))
    want = seeded.models[1].predict(seeded.X.iloc[:2]).tolist()
    for i, r in enumerate(responses):
        if i % 5 == 0:
            assert r.status_code == 400 and "'mean radius'" in r.json()["error"]
        else:
            assert r.status_code == 200 and r.json()["predictions"] == want


def test_a_model_error_stays_with_the_request_that_caused_it(server: Any, seeded: Any) -> None:
    # the real loaded bc:1 behind the server; a NaN passes no HTTP validation, so it is fed here directly
    served = server.holder.current
    frames = [served.model.prepare(seeded.X.iloc[i : i + 2]) for i in range(0, 8, 2)]
    poisoned = frames[1].copy()
    poisoned.iloc[0, 0] = np.nan
    frames[1] = poisoned
    metrics = ServeMetrics()

    async def run() -> list[Any]:
        batcher = Batcher(16, 0.05, metrics, lambda: len(frames))
        return await asyncio.gather(*(batcher.predict(served, f, True) for f in frames), return_exceptions=True)

    results = asyncio.run(run())
    assert isinstance(results[1], ValueError) and "NaN" in str(results[1])
    for i in (0, 2, 3):
        preds, probs = results[i]
        np.testing.assert_array_equal(preds, seeded.models[1].predict(seeded.X.iloc[2 * i : 2 * i + 2]))
        assert probs.shape == (2, 2)
    assert (
        metrics.value("mlgate_serve_batch_requests_sum") == 4
        and metrics.value("mlgate_serve_batch_requests_count") == 1
    )


def test_a_lone_request_does_not_wait_for_the_timer(server: Any, seeded: Any) -> None:
    served = server.holder.current
    frame = served.model.prepare(seeded.X.iloc[:1])
    metrics = ServeMetrics()

    async def run() -> Any:
        batcher = Batcher(64, 30.0, metrics, lambda: 1)  # a 30 s wait: the test would time out if it applied
        return await asyncio.wait_for(batcher.predict(served, frame, False), timeout=5)

    preds, probs = asyncio.run(run())
    assert probs is None and preds.tolist() == seeded.models[1].predict(seeded.X.iloc[:1]).tolist()


@pytest.mark.parametrize(("size", "wait"), [(-1, 1.0), (4, -1.0)])
def test_batch_options_are_checked(size: int, wait: float) -> None:
    from mlgate.errors import UsageError
    from mlgate.serve.options import ServeOptions

    with pytest.raises(UsageError, match="cannot be negative"):
        ServeOptions("bc", batch_max_size=size, batch_max_wait_ms=wait)
