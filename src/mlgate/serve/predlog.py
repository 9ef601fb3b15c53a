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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import EnvironmentProblem

if TYPE_CHECKING:
    import polars as pl

    from mlgate.serve.metrics import ServeMetrics

log = logging.getLogger("mlgate.serve")
UTC = dt.UTC
# the columns every log file starts with, in order
META = (
    "time",
    "request_id",
    "row",
    "route",
    "endpoint",
    "model",
    "version",
    "status",
    "latency_ms",
    "error",
)
PREDICTION = "prediction"
PROBA_PREFIX = "proba_"
# names an input column cannot keep: the meta and output columns, and the hive partition keys
RESERVED = frozenset((*META, PREDICTION, "hour"))
# the variant a request was routed to → the log's route
ROUTES = {"primary": "stable", "canary": "canary", "shadow": "shadow"}


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


def input_column(name: str) -> str:
    """The log column of input ``name``: itself, or ``input_<name>`` when a meta or output column has that name."""
    return f"input_{name}" if name in RESERVED or name.startswith(PROBA_PREFIX) else name


def meta_schema() -> dict[str, Any]:
    """The meta columns and their Polars types."""
    import polars as pl

    return {
        "time": pl.Datetime("us", "UTC"),
        "request_id": pl.String,
        "row": pl.Int32,
        "route": pl.String,
        "endpoint": pl.String,
        "model": pl.String,
        "version": pl.Int64,
        "status": pl.Int16,
        "latency_ms": pl.Float64,
        "error": pl.String,
    }


def polars_dtype(name: str | None) -> Any:
    """The Polars type a signature dtype (``float64``, ``int32``, ``string``, ``datetime64[ns]`` …) is logged as."""
    import polars as pl

    text = (name or "object").lower()
    simple = {
        "float64": pl.Float64,
        "float32": pl.Float32,
        "float16": pl.Float32,
        "int64": pl.Int64,
        "int32": pl.Int32,
        "int16": pl.Int16,
        "int8": pl.Int8,
        "uint64": pl.UInt64,
        "uint32": pl.UInt32,
        "uint16": pl.UInt16,
        "uint8": pl.UInt8,
        "bool": pl.Boolean,
        "boolean": pl.Boolean,
    }
    if text in simple:
        return simple[text]
    if text.startswith(("datetime64", "datetime")):
        return pl.Datetime("us")
    if text.startswith("timedelta"):
        return pl.Duration("us")
    if text.startswith(("int", "uint")):  # pandas' nullable Int64 and the like
        return pl.Int64
    if text.startswith("float"):
        return pl.Float64
    return pl.String  # string, object, category: text


def log_schema(signature: Mapping[str, Any] | None, classes: list[str] | None) -> dict[str, Any]:
    """The full schema of a version's log files: meta, inputs (typed from the signature), outputs."""
    import polars as pl

    schema = meta_schema()
    inputs = (signature or {}).get("inputs") or {}
    if inputs.get("type") == "columns":
        for col in inputs.get("columns", []):
            schema[input_column(str(col["name"]))] = polars_dtype(col.get("dtype"))
    elif inputs.get("type") == "tensor":
        schema["input"] = pl.List(polars_dtype(inputs.get("dtype")))
    outputs = (signature or {}).get("outputs") or {}
    shape = outputs.get("shape") or [-1]
    out_type = polars_dtype(outputs.get("dtype")) if outputs.get("type") == "tensor" else pl.String
    schema[PREDICTION] = out_type if len(shape) <= 1 else pl.List(out_type)
    for name in classes or ():
        schema[PROBA_PREFIX + name] = pl.Float64
    return schema


def class_names(served: Any) -> list[str] | None:
    """The class labels of a classifier's probability columns, as text (None when the model does not say)."""
    import numpy as np

    native = served.model.native
    classes = getattr(native, "classes_", None)
    if classes is None:
        classes = getattr(native, "classes", None)
    return None if classes is None else [str(c) for c in np.asarray(classes).tolist()]


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


def records_frame(records: list[LogRecord], schema: dict[str, Any], number: int) -> pl.DataFrame:
    """One frame of log rows for records of one version: scored rows first, then refused requests."""
    import numpy as np
    import polars as pl

    meta: dict[str, list[Any]] = {name: [] for name in META}
    input_parts: list[Any] = []
    preds: list[Any] = []
    probs: list[Any] = []
    # the refused requests (no inputs) are one row each, after the scored ones (the sort is stable)
    for r in sorted(records, key=lambda r: not _scored_rows(r)):
        n = _scored_rows(r)
        if n:
            input_parts.append(r.inputs)
            out = r.outputs or {}
            pred = out.get("predict")
            preds.append(np.asarray(pred) if pred is not None else np.full(n, None, dtype=object))
            proba = out.get("predict_proba")
            probs.append(None if proba is None else np.asarray(proba, dtype=np.float64).reshape(n, -1))
        _meta_rows(meta, r, max(n, 1), number)
    frame = pl.DataFrame(meta, schema={k: schema[k] for k in META})
    if PREDICTION not in schema:  # refused before any version was loaded
        return frame
    columns: list[Any] = []
    inputs_schema = {k: v for k, v in schema.items() if k not in META and k != PREDICTION}
    inputs_schema = {k: v for k, v in inputs_schema.items() if not k.startswith(PROBA_PREFIX)}
    total = frame.height
    if input_parts:
        columns += _input_columns(input_parts, inputs_schema, total)
        columns.append(_prediction_column(preds, schema[PREDICTION], total))
        columns += _proba_columns(probs, [k for k in schema if k.startswith(PROBA_PREFIX)], total)
    else:
        columns += [pl.Series(k, [None] * total, dtype=v) for k, v in inputs_schema.items()]
        columns.append(pl.Series(PREDICTION, [None] * total, dtype=schema[PREDICTION]))
        columns += [pl.Series(k, [None] * total, dtype=pl.Float64) for k in schema if k.startswith(PROBA_PREFIX)]
    return frame.with_columns(columns).select(list(schema))


def _meta_rows(meta: dict[str, list[Any]], r: LogRecord, n: int, number: int) -> None:
    when = dt.datetime.fromtimestamp(r.time_ns / 1e9, UTC)
    meta["time"] += [when] * n
    meta["request_id"] += [r.request_id] * n
    meta["row"] += list(range(n))
    meta["route"] += [ROUTES.get(r.variant, r.variant)] * n
    meta["endpoint"] += [r.endpoint] * n
    meta["model"] += [r.model] * n
    meta["version"] += [number] * n
    meta["status"] += [r.status] * n
    meta["latency_ms"] += [r.latency_s * 1000.0] * n
    meta["error"] += [r.error] * n


def _scored_rows(r: LogRecord) -> int:
    return 0 if r.inputs is None else _rows(r.inputs)


def _rows(data: Any) -> int:
    shape = getattr(data, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) else 1
    return len(data) if hasattr(data, "__len__") else 1


def _input_columns(parts: list[Any], schema: dict[str, Any], total: int) -> list[Any]:
    """The scored rows' inputs as typed columns, padded with nulls to ``total`` rows (the refused requests)."""
    import numpy as np
    import polars as pl

    first = parts[0]
    if "input" in schema and len(schema) == 1:  # a tensor signature: each row flattened into a list
        arrays = [np.asarray(p) for p in parts]
        flat = np.concatenate([a.reshape(a.shape[0], -1) for a in arrays]) if arrays else np.empty((0, 0))
        values = pl.Series("input", list(flat), dtype=schema["input"], strict=False)
        return [values.extend(pl.Series("input", [None] * (total - len(values)), dtype=schema["input"]))]
    mod = type(first).__module__
    if mod.startswith("pandas"):
        import pandas as pd

        frame = pl.from_pandas(pd.concat(parts, ignore_index=True) if len(parts) > 1 else first)
    elif mod.startswith("polars"):
        frame = pl.concat(parts, how="diagonal_relaxed")
    else:  # arrays in signature order
        frame = pl.DataFrame(np.concatenate([np.asarray(p) for p in parts]), schema=list(schema), orient="row")
    frame = frame.rename({c: input_column(c) for c in frame.columns if input_column(c) != c})
    out = []
    for name, dtype in schema.items():
        col = frame[name] if name in frame.columns else pl.Series(name, [None] * frame.height)
        col = col.cast(dtype, strict=False)
        out.append(col.extend(pl.Series(name, [None] * (total - len(col)), dtype=dtype)))
    return out


def _prediction_column(preds: list[Any], dtype: Any, total: int) -> Any:
    import numpy as np
    import polars as pl

    arr = np.concatenate([p.reshape(p.shape[0], -1) if p.ndim > 1 else p for p in preds])
    if arr.dtype.kind in "OUS":
        values = pl.Series(PREDICTION, [None if v is None else str(v) for v in arr.tolist()], dtype=pl.String)
    else:
        values = pl.Series(PREDICTION, arr if arr.ndim == 1 else list(arr))
    values = values.cast(dtype, strict=False)
    return values.extend(pl.Series(PREDICTION, [None] * (total - len(values)), dtype=dtype))


def _proba_columns(probs: list[Any], names: list[str], total: int) -> list[Any]:
    import numpy as np
    import polars as pl

    if not names:
        return []
    width = len(names)
    blocks, valid = [], []
    for p in probs:
        if p is not None and p.shape[1] == width:
            blocks.append(p)
            valid.append(np.ones(p.shape[0], dtype=bool))
        else:
            rows = p.shape[0] if p is not None else 0
            blocks.append(np.full((rows, width), np.nan))
            valid.append(np.zeros(rows, dtype=bool))
    matrix = np.concatenate(blocks) if blocks else np.empty((0, width))
    mask = np.concatenate(valid) if valid else np.empty(0, dtype=bool)
    pad = total - matrix.shape[0]
    out = []
    for j, name in enumerate(names):
        values = pl.Series(name, matrix[:, j], dtype=pl.Float64)
        values = pl.select(pl.when(pl.Series(mask)).then(values)).to_series().alias(name)
        out.append(values.extend(pl.Series(name, [None] * pad, dtype=pl.Float64)))
    return out


def new_request_id() -> str:
    """A random request id (32 hex characters)."""
    return os.urandom(16).hex()


def now_ns() -> int:
    """Wall-clock time in nanoseconds, the log's time column."""
    return time.time_ns()
