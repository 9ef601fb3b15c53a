"""Canary split and shadow mirroring.

The canary split is deterministic. A request that carries a request key (``x-request-key`` by
default) goes to the canary when the key's hash, read as a number in [0, 1), is below the weight: the
same key always lands on the same side, and raising the weight only moves keys from the primary to
the canary, never back. Requests without a key are split by a running total (``share += weight``;
a request goes to the canary each time the total passes a whole number), so over any N requests the
canary gets ``N * weight`` of them, rounded, with no randomness to make tests or audits flaky.

A rollout (``mlgate rollout``, state in the registry) drives the same split when no ``--canary-alias`` is
given: on every poll of the primary alias, :class:`RolloutFollower` reads the active rollout on it (one
indexed query), loads its candidate as the canary and then sets the split's weight; with no active
rollout, or one aborted to weight 0, the weight drops to 0 at once and the canary stops serving. So every
replica following the alias takes the rollout's weight within one poll. An A/B test (``mlgate abtest``) is
such a rollout, held at B's share until it is stopped: keyed requests stay on their side for its whole life.

The shadow sees a copy of every scored request after its response is ready: the body is parsed and
validated against the shadow's own signature and scored on one background thread, and its
predictions are compared with the ones that were served. Nothing the shadow does can delay or fail
a response: a full queue skips the copy (counted), and an error is counted, never raised.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from mlgate import threads

if TYPE_CHECKING:
    from mlgate.registry.store import Registry
    from mlgate.serve.loader import ModelHolder, Served
    from mlgate.serve.metrics import ServeMetrics

log = logging.getLogger("mlgate.serve")
_SCALE = float(2**64)


def key_share(key: str) -> float:
    """Where ``key`` falls in [0, 1): the first 8 bytes of its BLAKE2b digest over 2**64."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


class CanarySplit:
    """Decides, per request, whether the canary serves it."""

    def __init__(self, weight: float) -> None:
        self.weight = weight
        self._total = 0.0

    def to_canary(self, key: str | None) -> bool:
        """True when the canary should serve a request with this key (None: no key)."""
        if self.weight <= 0.0:
            return False
        if key is not None:
            return key_share(key) < self.weight
        self._total += self.weight
        if self._total >= 1.0:
            self._total -= 1.0
            return True
        return False


class RolloutFollower:
    """Follows the active rollout on ``name@alias``: its candidate becomes ``canary``, its weight ``split.weight``."""

    def __init__(self, registry: Registry, name: str, alias: str, canary: ModelHolder, split: CanarySplit) -> None:
        self.registry = registry
        self.name = name
        self.alias = alias
        self.canary = canary
        self.split = split

    def __call__(self) -> None:
        """Read the rollout once; called by the primary holder after each poll that reached the registry."""
        try:
            route = self.registry.rollout_route(self.name, self.alias)
        except Exception as exc:  # the primary's poll reports registry trouble; the split stays as it was
            log.debug("the rollout on %s@%s could not be read: %s", self.name, self.alias, exc)
            return
        if route is None or route[2] <= 0.0:
            self.split.weight = 0.0  # first, so that no request goes to a canary that is being retired
            current = self.canary.current
            if current is not None:
                self.canary.retire(self._ended(current.number, aborted=route is not None))
            return
        number, digest, weight = route
        self.canary.activate(number, digest)
        current = self.canary.current
        # the weight applies only once the candidate is loaded: until then every request stays on the primary
        self.split.weight = weight if current is not None and current.digest == digest else 0.0

    def _ended(self, number: int, *, aborted: bool) -> str:
        """Why the canary stops serving, read from the alias once (only when it does): promoted, or not."""
        target, canary = f"{self.name}@{self.alias}", f"{self.name}:{number}"
        if aborted:
            return f"the rollout on {target} gives its canary weight 0; {canary}"
        try:
            holder, _ = self.registry.resolve_digest(target)
        except Exception:  # the alias cannot be read now: say only what is known
            return f"no active rollout on {target}; the canary {canary}"
        if holder == number:
            return f"the rollout on {target} promoted {canary}: it is now the primary; its canary copy"
        return (
            f"the rollout on {target} ended without promoting {canary} (aborted or stopped), "
            f"the alias stays on {self.name}:{holder}; the canary {canary}"
        )


def agreement(served: Any, shadow: Any) -> tuple[int, int]:
    """(agreeing rows, disagreeing rows) between two predictions of the same rows.

    Floating-point outputs agree within ``np.isclose``'s default tolerance; everything else must be equal.
    Outputs of different shapes disagree on every row.
    """
    a, b = np.asarray(served), np.asarray(shadow)
    rows = a.shape[0] if a.ndim else 1
    if a.shape != b.shape:
        return 0, rows
    same = np.isclose(a, b) if a.dtype.kind in "fc" and b.dtype.kind in "fciu" else a == b
    if same.ndim > 1:
        same = same.reshape(same.shape[0], -1).all(axis=1)
    agree = int(np.count_nonzero(same))
    return agree, int(np.size(same)) - agree


class ShadowMirror:
    """Scores copies of requests on the shadow version, on one background thread, at most ``max_pending`` queued."""

    def __init__(self, holder: ModelHolder, metrics: ServeMetrics, max_pending: int = 256) -> None:
        self.holder = holder
        self.metrics = metrics
        self.max_pending = max_pending
        self._pending = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlgate-shadow")
        # the prediction log's hook (shadow, request id, endpoint, input, predictions, seconds), when logging
        self.on_scored: Callable[[Served, str, str, Any, Any, float], None] | None = None

    def submit(
        self,
        body: bytes,
        parse: Callable[[bytes, Served], Any],
        served_label: str,
        preds: Any,
        rid: str = "",
        endpoint: str = "",
    ) -> None:
        """Queue one copy; returns at once (a full queue or no loaded shadow skips it)."""
        shadow = self.holder.current
        with self._lock:
            if shadow is None or self._pending >= self.max_pending:
                self.metrics.shadow_requests.labels("skipped").inc()
                return
            self._pending += 1
        try:
            self._pool.submit(self._score, shadow, body, parse, served_label, preds, rid, endpoint)
        except RuntimeError:  # the pool is shutting down
            with self._lock:
                self._pending -= 1
            self.metrics.shadow_requests.labels("skipped").inc()

    def _score(
        self,
        shadow: Served,
        body: bytes,
        parse: Callable[[bytes, Served], Any],
        label: str,
        preds: Any,
        rid: str = "",
        endpoint: str = "",
    ) -> None:
        try:
            parsed = parse(body, shadow)
            data = getattr(parsed, "data", parsed)
            started = time.perf_counter()
            with threads.limited():
                theirs = shadow.model.predict(data)
            if self.on_scored is not None:
                self.on_scored(shadow, rid, endpoint, data, theirs, time.perf_counter() - started)
            agree, disagree = agreement(preds, theirs)
            self.metrics.compared(label, shadow.label, agree, disagree)
            self.metrics.shadow_requests.labels("scored").inc()
        except Exception as exc:  # the shadow's failures are counted, never passed on
            self.metrics.shadow_requests.labels("error").inc()
            log.debug("shadow %s failed on a mirrored request: %s: %s", shadow.label, type(exc).__name__, exc)
        finally:
            with self._lock:
                self._pending -= 1

    def drain(self, timeout: float = 10.0) -> None:
        """Wait (up to ``timeout``) for the queued copies, then stop the thread."""
        import time

        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.01)
        self._pool.shutdown(wait=False, cancel_futures=True)
