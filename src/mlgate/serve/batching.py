"""Adaptive batching: requests that are in flight together share one ``predict`` call.

Each request is parsed and validated on its own first, so a bad request is refused alone and never
joins a batch. A validated input waits in the batcher; the batch is scored as soon as one of these
holds: it has ``max_size`` rows, every request in flight is already waiting in it (nobody else can
join, so waiting longer only adds latency), or ``max_wait`` has passed since its first request. At
concurrency 1 that makes a batch of one with no added wait; under load the batch fills with what
arrived together.

The check runs as a callback after the requests already scheduled on the event loop, so requests read
from many sockets in one loop iteration join the same batch. Inputs of the same version (and asking
for the same outputs) are concatenated (pandas frames by rows, arrays along the first axis), scored
once, and split back by row counts. If the batched call raises, or returns a different number of rows,
each request is scored alone, so a failure stays with the request that caused it when the model
allows it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mlgate import threads

if TYPE_CHECKING:
    from mlgate.serve.loader import Served
    from mlgate.serve.metrics import ServeMetrics


@dataclass
class _Item:
    served: Served
    data: Any
    proba: bool
    rows: int
    future: asyncio.Future[tuple[Any, Any]]


class Batcher:
    """Groups concurrent predictions of one server; ``in_flight()`` counts the requests being handled."""

    def __init__(self, max_size: int, max_wait_s: float, metrics: ServeMetrics, in_flight: Callable[[], int]) -> None:
        self.max_size = max_size
        self.max_wait_s = max_wait_s
        self.metrics = metrics
        self.in_flight = in_flight
        self._items: list[_Item] = []
        self._rows = 0
        self._first = 0.0
        self._check: asyncio.Handle | None = None
        self._timer: asyncio.TimerHandle | None = None

    async def predict(self, served: Served, data: Any, proba: bool) -> tuple[Any, Any]:
        """Predictions (and probabilities when ``proba``) for ``data``, scored together with its neighbours."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Any, Any]] = loop.create_future()
        if not self._items:
            self._first = time.perf_counter()
        rows = len(data)
        self._items.append(_Item(served, data, proba, rows, future))
        self._rows += rows
        if self._check is None:
            self._check = loop.call_soon(self._maybe_flush)
        return await future

    def _maybe_flush(self) -> None:
        self._check = None
        if not self._items:
            return
        waited = time.perf_counter() - self._first
        if self._rows >= self.max_size or len(self._items) >= self.in_flight() or waited >= self.max_wait_s:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_wait_s - waited, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._items:
            self.flush()

    def flush(self) -> None:
        """Score everything waiting now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        items, self._items, self._rows = self._items, [], 0
        groups: dict[tuple[int, bool], list[_Item]] = {}
        for item in items:
            groups.setdefault((id(item.served), item.proba), []).append(item)
        for group in groups.values():
            chunk: list[_Item] = []
            rows = 0
            for item in group:
                if chunk and rows + item.rows > self.max_size:
                    self._score(chunk)
                    chunk, rows = [], 0
                chunk.append(item)
                rows += item.rows
            self._score(chunk)

    def _score(self, items: list[_Item]) -> None:
        served, proba = items[0].served, items[0].proba
        total = sum(i.rows for i in items)
        self.metrics.batch_size.observe(total)
        self.metrics.batch_requests.observe(len(items))
        if len(items) > 1:
            joined = _concat([i.data for i in items])
            if joined is not None:
                try:
                    preds, probs = _run(served, joined, proba)
                except Exception:  # find the request that caused it: score each alone below
                    pass
                else:
                    if len(preds) == total and (probs is None or len(probs) == total):
                        start = 0
                        for item in items:
                            end = start + item.rows
                            _resolve(item, (preds[start:end], probs[start:end] if probs is not None else None))
                            start = end
                        return
        for item in items:
            try:
                result = _run(served, item.data, proba)
            except Exception as exc:
                if not item.future.done():
                    item.future.set_exception(exc)
            else:
                _resolve(item, result)


def _resolve(item: _Item, result: tuple[Any, Any]) -> None:
    if not item.future.done():  # a client that went away cancelled its future
        item.future.set_result(result)


def _run(served: Served, data: Any, proba: bool) -> tuple[Any, Any]:
    with threads.limited():  # as the gate's latency check measured it
        return served.model.predict_prepared(data, proba=proba)


def _concat(parts: list[Any]) -> Any:
    """Stack validated inputs by rows, or None when they cannot be (mixed kinds)."""
    first = parts[0]
    if isinstance(first, np.ndarray):
        if all(isinstance(p, np.ndarray) and p.shape[1:] == first.shape[1:] for p in parts):
            return np.concatenate(parts, axis=0)
        return None
    import pandas as pd

    if all(isinstance(p, pd.DataFrame) for p in parts):
        return pd.concat(parts, ignore_index=True)
    return None
