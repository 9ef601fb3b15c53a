"""The alias watcher and the hot swap.

A background thread reads ``name@alias`` every ``poll_s`` seconds (one indexed query). When the alias
points somewhere new, the new version is loaded through :func:`mlgate.load_model`, which verifies every
file against its digest, then warmed up: one prediction on a synthetic row (a version that fails it is
refused), then a few on its stored sample rows (:func:`warm_up`, which never refuses it). Only then does
one reference assignment make it current. A request takes ``holder.current`` once when it starts and
uses that object to the end, so requests in flight finish on the version they started with. The
replaced version stays loaded for ``keep_previous_s``: moving the alias back within that time is a
pointer swap. A version that fails to resolve, verify, load or take the synthetic row is never swapped
in; it is logged and counted, and tried again after ``retry_failed_s``. If the registry cannot be
reached, the loaded version keeps serving.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlgate import threads
from mlgate.errors import CheckFailed, IntegrityError
from mlgate.serve.protocol import InputSpec, probe_nulls

if TYPE_CHECKING:
    from mlgate.models import LoadedModel
    from mlgate.registry.store import Registry
    from mlgate.serve.metrics import ServeMetrics
    from mlgate.serve.options import ServeOptions

log = logging.getLogger("mlgate.serve")


@dataclass(frozen=True)
class Served:
    """A loaded, verified, warmed-up version and what requests need from it."""

    model: LoadedModel
    spec: InputSpec
    number: int
    digest: str
    # the frames the protocol builds are already what the model takes (columns in signature order)
    takes_frames: bool = False

    @property
    def label(self) -> str:
        """``fraud:3``: the value of the ``x-mlgate-model-version`` header."""
        return self.model.metadata.ref


WARM_ROWS = 8  # single-row predictions on the stored sample rows, after one on all of them
WARM_BUDGET_S = 2.0  # a slow model stops warming up here: the warm-up delays the swap, it must stay cheap


def warm_up(model: LoadedModel) -> int:
    """Predict on the version's stored sample rows (its input contract) before it takes traffic; how many calls.

    The first predictions of a freshly loaded model are its slowest (lazy initialisation, cold caches): made
    here, they do not land on a canary's first requests and its latency analysis. All the rows once, then
    a few one at a time as requests come, with probabilities when the model gives them. A version stored
    without sample rows is warmed by the synthetic row alone. Never fails the load: a failure is logged.
    """
    from mlgate.contract import read_contract, rebuild

    try:
        doc = read_contract(model.path)
        if doc is None:
            return 0
        sample = rebuild(doc)
        rows = [sample] + [sample[i : i + 1] for i in range(min(WARM_ROWS, len(sample)))]
        calls, started = 0, time.monotonic()
        with threads.limited():
            for batch in rows:
                model.predict_prepared(model.prepare(batch), proba=True)
                calls += 1
                if time.monotonic() - started > WARM_BUDGET_S:
                    break
    except Exception as exc:  # a warm-up is a courtesy to the first requests, never a reason to refuse a version
        log.warning(
            "%s: the warm-up on its stored sample rows failed (%s: %s); it serves cold",
            model.metadata.ref,
            type(exc).__name__,
            exc,
        )
        return 0
    log.info("%s: warmed up with %d predictions on its stored sample rows", model.metadata.ref, calls)
    return calls


class SwapFailed(Exception):
    """A version could not be made current; ``stage`` says where it stopped."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage


class ModelHolder:
    """Holds the version being served and follows the alias; ``current`` is None until one is loaded."""

    def __init__(
        self, options: ServeOptions, registry: Registry, metrics: ServeMetrics, *, primary: bool = True
    ) -> None:
        self.options = options
        self.primary = primary
        self.registry = registry
        self.metrics = metrics
        self.current: Served | None = None
        self._retained: dict[str, tuple[Served, float]] = {}  # digest → (version, when it was replaced)
        self._failed: dict[str, float] = {}  # digest → when it last failed
        self._swap_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._registry_down = False
        # the alias whose signature rule applies (a rollout's canary: the alias it is rolled out on)
        self.signing_alias = options.alias
        # called after each poll of a primary that answered: the rollout follower reads its weight there
        self.follower: Callable[[], None] | None = None

    @property
    def ready(self) -> bool:
        """Whether a version is loaded and serving."""
        return self.current is not None

    def retained(self) -> list[str]:
        """Labels of the replaced versions still loaded (a move back to them is a pointer swap)."""
        return [s.label for s, _ in self._retained.values()]

    # -- the watcher --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start following the alias in a background thread; the first poll happens at once."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"mlgate-watch-{self.options.ref}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the watcher and wait for it (a load in progress finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:  # the watcher must outlive any single failure
                log.exception("unexpected error while following %s", self.options.ref)
            self._stop.wait(self.options.poll_s)

    def poll(self) -> bool:
        """Read the alias once and swap if it moved; True when a new version became current."""
        from mlgate.errors import NotFoundError

        self._evict()
        try:
            number, digest = self.registry.resolve_digest(self.options.ref)
        except NotFoundError as exc:
            if not self.primary:  # a canary or shadow alias that is gone: the rollout ended or has not begun
                if self.current is not None:
                    self._retire(f"{self.options.ref} no longer exists")
                return False
            self._note_registry_problem(f"{self.options.ref} cannot be resolved: {exc.message}")
            return False
        except Exception as exc:
            self._note_registry_problem(f"the registry cannot be reached: {type(exc).__name__}: {exc}")
            # a dead connection in the pool would fail every later poll too: start afresh next time
            self.registry.close()
            return False
        if self._registry_down:
            log.info("the registry answers again; following %s", self.options.ref)
            self._registry_down = False
        changed = self.activate(number, digest)
        if self.follower is not None:
            self.follower()
        return changed

    def _note_registry_problem(self, message: str) -> None:
        self.metrics.registry_errors.inc()
        if not self._registry_down:  # log the first of a run of failed polls, not every one
            keeping = f"; still serving {self.current.label}" if self.current else "; nothing is loaded yet"
            log.warning("%s%s", message, keeping)
            self._registry_down = True

    def activate(self, number: int, digest: str) -> bool:
        """Make version ``number`` (which must have ``digest``) current, unless it already is or cannot be."""
        with self._swap_lock:
            current = self.current
            if current is not None and current.digest == digest:
                return False
            if digest in self._retained:
                served, _ = self._retained.pop(digest)
                self._swap(served, how="retained")
                return True
            failed_at = self._failed.get(digest)
            if failed_at is not None and time.monotonic() - failed_at < self.options.retry_failed_s:
                return False
            try:
                served = self._load(number, digest)
            except SwapFailed as exc:
                self._failed[digest] = time.monotonic()
                self.metrics.swap_failures.labels(self.options.alias, exc.stage).inc()
                keeping = f"; still serving {current.label}" if current else "; nothing is loaded"
                log.error("%s:%d was not swapped in (%s): %s%s", self.options.name, number, exc.stage, exc, keeping)
                return False
            self._failed.pop(digest, None)
            self._swap(served, how="load")
            return True

    def _load(self, number: int, digest: str) -> Served:
        from mlgate.models import load_model
        from mlgate.signing import verify_signatures

        ref = f"{self.options.name}:{number}"
        try:
            mv = self.registry.get(ref)
        except Exception as exc:
            raise SwapFailed("resolve", f"{type(exc).__name__}: {exc}") from exc
        if mv.digest != digest:
            raise SwapFailed("verify", f"{ref} has digest {mv.digest}, the alias pointed at {digest}")
        try:
            spec = InputSpec.from_signature(mv.signature)
        except ValueError as exc:
            raise SwapFailed("load", str(exc)) from exc
        try:
            # the alias being followed decides which signatures count (promote.require_signature)
            verify_signatures(self.registry, mv, alias=self.signing_alias)
            model = load_model(
                mv, registry=self.registry, allow_pickle=self.options.allow_pickle, allow_code=self.options.allow_code
            )
        except (IntegrityError, CheckFailed) as exc:
            raise SwapFailed("verify", exc.message) from exc
        except Exception as exc:
            raise SwapFailed("load", f"{type(exc).__name__}: {exc}") from exc
        threads.rescan()  # the pools this version's libraries brought, limited while it predicts
        try:
            with threads.limited():
                model.predict(spec.synthetic())
        except Exception as exc:
            shutil.rmtree(model.path, ignore_errors=True)
            raise SwapFailed("warmup", f"a prediction on one synthetic row raised {type(exc).__name__}: {exc}") from exc
        spec = probe_nulls(spec, model.predict)  # which columns may be sent as null
        warm_up(model)
        takes_frames = spec.type == "columns" and model.flavor.input_format(mv.flavor_config) == "pandas"
        return Served(model, spec, number, digest, takes_frames)

    def _swap(self, served: Served, *, how: str) -> None:
        old = self.current
        self.current = served  # the swap: one reference assignment; requests holding `old` finish on it
        if old is not None:
            self._retained[old.digest] = (old, time.monotonic())
        mv = served.model.metadata
        self.metrics.serving(
            self.options.name, self.options.alias, served.label, served.digest, mv.semver, primary=self.primary
        )
        self.metrics.swaps.labels(self.options.alias, how).inc()
        before = f" (was {old.label})" if old else ""
        log.info("serving %s (%s) for %s%s", served.label, mv.semver, self.options.ref, before)

    def retire(self, why: str) -> None:
        """Stop serving the current version (a canary whose rollout or alias ended); it stays loaded a while.

        Logged as ``{why} stops serving``: ``why`` names the version (the rollout follower says how it ended).
        """
        self._retire(why, named=True)

    def _retire(self, why: str, *, named: bool = False) -> None:
        """A canary or shadow whose alias was deleted stops serving (the rollout ended); kept loaded a while."""
        with self._swap_lock:
            old = self.current
            if old is None:
                return
            self.current = None
            self._retained[old.digest] = (old, time.monotonic())
            self.metrics.unserving(self.options.alias)
        if named:
            log.info("%s stops serving", why)
        else:
            log.info("%s: %s stops serving", why, old.label)

    def _evict(self) -> None:
        now = time.monotonic()
        with self._swap_lock:
            for digest, (served, since) in list(self._retained.items()):
                if now - since >= self.options.keep_previous_s:
                    # the model is in memory; its files are no longer needed. They go before the entry, so
                    # that a version no longer listed as retained has no files left (activate holds this lock)
                    shutil.rmtree(served.model.path, ignore_errors=True)
                    del self._retained[digest]
                    log.info("unloaded %s (replaced %.0f s ago)", served.label, now - since)

    def close(self) -> None:
        """Stop watching and delete the loaded versions' temporary files."""
        self.stop()
        for served, _ in self._retained.values():
            shutil.rmtree(served.model.path, ignore_errors=True)
        self._retained.clear()
        if self.current is not None:
            shutil.rmtree(self.current.model.path, ignore_errors=True)
