"""The prediction log: every request and its response, in Parquet files partitioned by hour.

A request hands the log one tuple of references (the validated input, the predictions, its version,
status, latency, request id and time) under a lock and goes on; nothing is serialized on the request
path. A background thread wakes every ``flush_s`` seconds, or as soon as ``batch_rows`` records wait,
turns the waiting records into one Polars frame per hour and writes each to
``<folder>/date=YYYY-MM-DD/hour=HH/part-<time>-<pid>-<n>.parquet`` (a temporary name, then a rename,
so a reader never sees half a file). At most ``max_pending`` records wait or are being written; past
that a record is dropped and counted (``mlgate_prediction_log_dropped_total{reason="queue_full"}``),
so a slow disk costs log records, never latency or memory. A write that fails (disk full, folder
removed) drops its records, counted with ``reason="write_error"``, and the server keeps answering.

A folder that cannot be written when the server starts is an :class:`EnvironmentProblem` (exit 3):
the path may be right, the filesystem refuses it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import EnvironmentProblem, UsageError

if TYPE_CHECKING:
    import polars as pl

    from mlgate.serve.metrics import ServeMetrics

log = logging.getLogger("mlgate.serve")
UTC = dt.UTC
COLUMNS = (
    "time",
    "request_id",
    "route",
    "model",
    "version",
    "variant",
    "status",
    "latency_ms",
    "rows",
    "inputs",
    "outputs",
    "error",
)


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One request as the server saw it; ``inputs`` and ``outputs`` are serialized by the writer thread."""

    time_ns: int
    request_id: str
    route: str
    model: str
    version: str
    variant: str
    status: int
    latency_s: float
    inputs: Any = None
    outputs: Any = None
    error: str | None = None


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
    ) -> None:
        self.folder = check_writable(folder)
        self.metrics = metrics
        self.max_pending = max_pending
        self.flush_s = flush_s
        self.batch_rows = batch_rows
        self._buffer: list[LogRecord] = []
        self._pending = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = itertools.count()
        self._failing = False

    def start(self) -> None:
        """Start the writer thread."""
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
        self.flush()

    def flush(self) -> int:
        """Write every waiting record now; the number written."""
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

    def _write(self, batch: list[LogRecord]) -> int:
        import polars as pl

        frame = pl.DataFrame(_columns(batch), schema=_schema(), orient="col")
        stamp = dt.datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        keyed = frame.with_columns(pl.col("time").dt.strftime("%Y-%m-%d/%H").alias("_hour"))
        for (key,), part in keyed.partition_by("_hour", include_key=False, as_dict=True, maintain_order=True).items():
            date, hour = str(key).split("/")
            target = self.folder / f"date={date}" / f"hour={hour}"
            target.mkdir(parents=True, exist_ok=True)
            name = f"part-{stamp}-{os.getpid()}-{next(self._seq):06d}.parquet"
            tmp = target / f".{name}.tmp"
            part.write_parquet(tmp, compression="zstd", statistics=True)
            os.replace(tmp, target / name)
        return len(batch)


def _schema() -> dict[str, Any]:
    import polars as pl

    return {
        "time": pl.Datetime("us", "UTC"),
        "request_id": pl.String,
        "route": pl.String,
        "model": pl.String,
        "version": pl.String,
        "variant": pl.String,
        "status": pl.Int16,
        "latency_ms": pl.Float64,
        "rows": pl.Int32,
        "inputs": pl.String,
        "outputs": pl.String,
        "error": pl.String,
    }


def _columns(batch: list[LogRecord]) -> list[list[Any]]:
    from mlgate.serve.protocol import dumps

    times, inputs, outputs, rows = [], [], [], []
    for r in batch:
        times.append(dt.datetime.fromtimestamp(r.time_ns / 1e9, UTC))
        text, n = _inputs_json(r.inputs, dumps)
        inputs.append(text)
        rows.append(n)
        outputs.append(dumps(r.outputs).decode() if r.outputs is not None else None)
    return [
        times,
        [r.request_id for r in batch],
        [r.route for r in batch],
        [r.model for r in batch],
        [r.version for r in batch],
        [r.variant for r in batch],
        [r.status for r in batch],
        [r.latency_s * 1000.0 for r in batch],
        rows,
        inputs,
        outputs,
        [r.error for r in batch],
    ]


def _inputs_json(data: Any, dumps: Any) -> tuple[str | None, int | None]:
    """Validated inputs as JSON: records for a table, a nested list for a tensor."""
    if data is None:
        return None, None
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # a pandas frame
        return dumps(data.to_dict(orient="records")).decode(), len(data)
    return dumps(data).decode(), (len(data) if hasattr(data, "__len__") else None)


# -- reading ----------------------------------------------------------------------------------------

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """``15m``, ``2h``, ``1d`` ago, or an ISO date or time (UTC unless it names a zone)."""
    now = now or dt.datetime.now(UTC)
    m = _RELATIVE.match(text)
    if m:
        return now - dt.timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--since must be a duration (30s, 15m, 2h, 1d, 1w) or an ISO time (2024-05-01T12:00), got {text!r}"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def log_files(folder: Path, since: dt.datetime | None = None) -> list[Path]:
    """The finished Parquet files under ``folder``, skipping hours wholly before ``since``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"the prediction-log folder {folder} does not exist", hint="pass the folder given to --log")
    floor = since.strftime("%Y-%m-%d %H") if since is not None else ""
    files = []
    for day in sorted(folder.glob("date=*")):
        for hour in sorted(day.glob("hour=*")):
            key = f"{day.name[5:]} {hour.name[5:]}"
            if key >= floor:
                files.extend(sorted(hour.glob("part-*.parquet")))
    return files


def read_log(folder: Path, *, since: dt.datetime | None = None, limit: int | None = None) -> pl.DataFrame:
    """The logged requests since ``since`` (all when None), oldest first, the last ``limit`` of them."""
    import polars as pl

    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, got {limit}")
    files = log_files(folder, since)
    if not files:
        return pl.DataFrame(schema=_schema())
    scan = pl.scan_parquet(files, hive_partitioning=False)
    if since is not None:
        scan = scan.filter(pl.col("time") >= since)
    frame = scan.sort("time").collect()
    return frame.tail(limit) if limit is not None else frame


def new_request_id() -> str:
    """A random request id (32 hex characters)."""
    return os.urandom(16).hex()


def now_ns() -> int:
    """Wall-clock time in nanoseconds, the log's time column."""
    return time.time_ns()
