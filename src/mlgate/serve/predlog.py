"""The prediction log: every scored row with its inputs and outputs as typed columns, in hourly Parquet.

A request hands the log one tuple of references (the validated input, the predictions, the version that
served it, status, latency, request id and time) under a lock and goes on; nothing is serialized on the
request path. A background thread wakes every ``flush_s`` seconds, or as soon as ``batch_rows`` records
wait, and turns the waiting records into one frame per (model, version, hour), written as
``<folder>/model=<name>/version=<n>/hour=<YYYY-MM-DDTHH>/part-<time>-<pid>-<token>-<n>.parquet`` (a temporary
name, then a rename, so a reader never sees half a file). The folders are hive-style, so
``pl.scan_parquet(folder)`` adds ``model``, ``version`` and ``hour`` from them.

One log row per scored row (a request of three rows gives three, sharing ``request_id``; ``row`` is the
position in the request): the meta columns (:data:`META`), then the inputs in the version's signature
order with the Arrow types its signature names (so every file of a version has the same schema, and
``mlgate data drift model@production 'logs/**/*.parquet'`` compares the inputs with the training
profile), then ``prediction`` and, for classifiers asked for probabilities, one ``proba_<class>`` column
per class. A refused request (4xx, or 503 before any version is loaded) is one row with its status and
error and no inputs; version 0 holds what was refused before a version was loaded. An input whose name
is one of the meta or output names is written as ``input_<name>`` (:func:`input_column`). The shadow
version's predictions on its mirrored copies are logged too, with route ``shadow``, under its own
version (:meth:`PredictionLog.shadow_hook`).

At most ``max_pending`` records wait or are being written; past that a record is dropped and counted
(``mlgate_prediction_log_dropped_total{reason="queue_full"}``), so a slow disk costs log records, never
latency or memory. A write that fails (disk full, folder removed) drops its records, counted with
``reason="write_error"``, and the server keeps answering. When the hour rolls over the writer thread
compacts the hours that ended and deletes those past ``retention`` (``monitor.retention`` in
``mlgate.yaml``; :mod:`mlgate.serve.logfiles`), never failing the server either.

A folder that cannot be written when the server starts is an :class:`EnvironmentProblem` (exit 3):
the path may be right, the filesystem refuses it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import EnvironmentProblem
from mlgate.serve.logschema import (
    META,
    PREDICTION,
    PROBA_PREFIX,
    RESERVED,
    ROUTES,
    class_names,
    input_column,
    log_schema,
    meta_schema,
    polars_dtype,
    records_frame,
)

if TYPE_CHECKING:
    from mlgate.serve.metrics import ServeMetrics

log = logging.getLogger("mlgate.serve")
UTC = dt.UTC

__all__ = [  # the column names and helpers live in logschema; importing them from here keeps working
    "META",
    "PREDICTION",
    "PROBA_PREFIX",
    "RESERVED",
    "ROUTES",
    "LogRecord",
    "PredictionLog",
    "check_writable",
    "class_names",
    "input_column",
    "log_schema",
    "meta_schema",
    "new_request_id",
    "now_ns",
    "polars_dtype",
    "records_frame",
]


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One request as the server saw it; ``inputs`` and ``outputs`` are turned into columns by the writer thread.

    ``served`` is the :class:`~mlgate.serve.loader.Served` version that scored it (its signature types the
    columns, its classes name the probabilities); None when the request was refused before routing.
    """

    time_ns: int
    request_id: str
    endpoint: str
    model: str
    version: str
    variant: str
    status: int
    latency_s: float
    inputs: Any = None
    outputs: Any = None
    error: str | None = None
    served: Any = None


def check_writable(folder: Path) -> Path:
    """Create ``folder`` if needed and prove a file can be written there; EnvironmentProblem (exit 3) if not."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise EnvironmentProblem(
            f"the prediction-log folder {folder} cannot be written: {exc.strerror or type(exc).__name__}",
            hint="pass --log with a folder this user can write, or leave --log out to serve without a log",
        ) from None
    return folder.resolve()


class PredictionLog:
    """The bounded, asynchronous writer of one server's prediction log."""

    def __init__(
        self,
        folder: Path,
        metrics: ServeMetrics,
        *,
        max_pending: int = 10_000,
        flush_s: float = 1.0,
        batch_rows: int = 4096,
        retention: dt.timedelta | None = None,
    ) -> None:
        self.folder = check_writable(folder)
        self.metrics = metrics
        self.max_pending = max_pending
        self.flush_s = flush_s
        self.batch_rows = batch_rows
        self.retention = retention
        self._buffer: list[LogRecord] = []
        self._pending = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = itertools.count()
        self._token = os.urandom(3).hex()  # two logs of one process (a restart) never share a file name
        self._failing = False
        self._schemas: dict[int, tuple[Any, dict[str, Any]]] = {}
        self._maintained_hour: str | None = None

    def start(self) -> None:
        """Start the writer thread."""
        # polars is imported here, before any request: imported first on the writer thread, it sits half
        # initialized in sys.modules while scikit-learn's predict (which checks for a polars frame) reads it
        # in a request thread, and that request fails with AttributeError
        import polars  # noqa: F401

        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="mlgate-predlog", daemon=True)
            self._thread.start()

    def record(self, rec: LogRecord) -> bool:
        """Queue one record without blocking; False (and counted) when the log is full."""
        with self._lock:
            if self._pending >= self.max_pending:
                accepted = False
            else:
                self._pending += 1
                self._buffer.append(rec)
                accepted = True
                waiting = len(self._buffer)
        if not accepted:
            self.metrics.log_dropped.labels("queue_full").inc()
            return False
        if waiting >= self.batch_rows:
            self._wake.set()
        return True

    def shadow_hook(self, model: str) -> Any:
        """What the shadow mirror calls with each copy it scored: a record with route ``shadow``."""

        def record(served: Any, rid: str, endpoint: str, inputs: Any, preds: Any, seconds: float) -> None:
            self.record(
                LogRecord(
                    now_ns(),
                    rid,
                    endpoint,
                    model,
                    served.label,
                    "shadow",
                    200,
                    seconds,
                    inputs,
                    {"predict": preds},
                    None,
                    served,
                )
            )

        return record

    @property
    def pending(self) -> int:
        """Records accepted and not yet written (or dropped)."""
        return self._pending

    def close(self, timeout: float = 30.0) -> None:
        """Write what is waiting, then stop the writer thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_s)
            self._wake.clear()
            self.flush()
            self.maintain()
        self.flush()

    def maintain(self, now: dt.datetime | None = None) -> None:
        """Once per hour: compact the hours that ended and delete those past the retention; never raises."""
        now = now or dt.datetime.now(UTC)
        key = now.strftime("%Y-%m-%dT%H")
        if key == self._maintained_hour:
            return
        self._maintained_hour = key
        from mlgate.serve.logfiles import maintain

        try:
            done = maintain(self.folder, retention=self.retention, now=now)
        except Exception as exc:  # housekeeping never stops the server
            log.warning("prediction-log housekeeping in %s failed: %s: %s", self.folder, type(exc).__name__, exc)
        else:
            if done.compacted or done.deleted:
                log.info("prediction log: %s", done.summary())

    def flush(self) -> int:
        """Write every waiting record now; the number of records written."""
        with self._lock:
            batch, self._buffer = self._buffer, []
        self.metrics.log_queue.set(len(batch))
        if not batch:
            return 0
        try:
            written = self._write(batch)
        except Exception as exc:  # any failure to write costs these records, never the server
            self.metrics.log_dropped.labels("write_error").inc(len(batch))
            if not self._failing:
                log.warning(
                    "the prediction log cannot write to %s (%s: %s); dropping records",
                    self.folder,
                    type(exc).__name__,
                    exc,
                )
                self._failing = True
            written = 0
        else:
            if self._failing:
                log.info("the prediction log writes to %s again", self.folder)
                self._failing = False
            self.metrics.log_written.inc(written)
        finally:
            with self._lock:
                self._pending -= len(batch)
        return written

    def _schema_of(self, served: Any) -> dict[str, Any]:
        if served is None:
            return meta_schema()
        cached = self._schemas.get(id(served))
        if cached is None or cached[0] is not served:  # the id of a released version may be reused
            classes = class_names(served) if callable(getattr(served.model.native, "predict_proba", None)) else None
            cached = (served, log_schema(served.model.metadata.signature, classes))
            self._schemas[id(served)] = cached
        return cached[1]

    def _write(self, batch: list[LogRecord]) -> int:
        from mlgate.serve.logfiles import write_part

        groups: dict[tuple[str, int, str, int], list[LogRecord]] = {}
        for r in batch:
            number = int(r.served.number) if r.served is not None else _number(r.version)
            hour = dt.datetime.fromtimestamp(r.time_ns / 1e9, UTC).strftime("%Y-%m-%dT%H")
            sid = id(r.served) if r.served is not None else 0
            groups.setdefault((r.model, number, hour, sid), []).append(r)
        stamp = dt.datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        for (model, number, hour, _), records in groups.items():
            frame = records_frame(records, self._schema_of(records[0].served), number)
            name = f"part-{stamp}-{os.getpid()}-{self._token}-{next(self._seq):06d}.parquet"
            write_part(self.folder, model, number, hour, frame, name)
        return len(batch)


def _number(label: str) -> int:
    """The version number in a label ``name:3``; 0 when there is none (refused before a version was loaded)."""
    tail = label.rpartition(":")[2]
    return int(tail) if tail.isdigit() else 0


def new_request_id() -> str:
    """A random request id (32 hex characters)."""
    return os.urandom(16).hex()


def now_ns() -> int:
    """Wall-clock time in nanoseconds, the log's time column."""
    return time.time_ns()
