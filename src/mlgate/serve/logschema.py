"""The prediction log's columns: the meta columns, inputs typed by the version's signature, the outputs.

:func:`log_schema` is the schema of every log file of one version; :func:`records_frame` turns the
records a writer collected into one frame of that schema, one row per scored row (a refused request is
one row with no inputs). See :mod:`mlgate.serve.predlog` for the writer and docs/monitoring.md for the
columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from mlgate.serve.predlog import LogRecord

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
