"""Request bodies → validated model inputs, and predictions → response bodies: the wire formats.

Three wire formats reach the same two shapes: a table of named columns (``columns`` signatures) or one
typed array (``tensor`` signatures). Open Inference Protocol V2 sends typed, shaped tensors (JSON or
the binary-tensor extension); ``/predict`` takes records or ``{"columns", "data"}``; ``/invocations``
takes MLflow's JSON formats and CSV. Every check runs before the model sees anything, and every
problem names the field (column, tensor, key) without repeating the caller's values, so a bad request
is always a 4xx and an exception from the model is always the model's.

What a version takes, and how decoded values are checked against it, is in
:mod:`mlgate.serve.input_spec`; its public names are importable from here too.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from mlgate.serve.input_spec import (
    ACCEPTS,
    KIND_OF_V2,
    KIND_WORDS,
    MAX_NAME,
    MAX_NULL_PROBES,
    V2_TO_NUMPY,
    InputSpec,
    RequestError,
    bad,
    check_values,
    name_of,
    nested_shape,
    numpy_dtype,
    probe_nulls,
    v2_datatype,
)

__all__ = [
    "MAX_NAME",
    "MAX_NULL_PROBES",
    "MLFLOW_KEYS",
    "V2_TO_NUMPY",
    "InputSpec",
    "RequestError",
    "V2Request",
    "bad",
    "check_values",
    "content_type",
    "dumps",
    "load_json",
    "name_of",
    "nested_shape",
    "numpy_dtype",
    "parse_csv",
    "parse_invocations",
    "parse_predict",
    "parse_v2",
    "probe_nulls",
    "v2_datatype",
    "v2_output",
]


def load_json(body: bytes) -> Any:
    """Parse a JSON body; malformed JSON is a 400 that does not repeat the body."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad(f"the body is not valid JSON ({exc.msg} at byte {exc.pos})") from None


def content_type(headers: Mapping[str, str]) -> str:
    """The media type of a request, lower-case without parameters ('application/json' when absent)."""
    return (headers.get("content-type") or "application/json").split(";", 1)[0].strip().lower()


# -- /predict ---------------------------------------------------------------------------------------


def parse_predict(body: bytes, spec: InputSpec) -> Any:
    """``/predict``: records ``[{"col": v}]``, ``{"columns": [...], "data": [[...]]}`` or ``{"data": tensor}``."""
    doc = load_json(body)
    if isinstance(doc, list):
        if spec.type == "tensor" or (doc and not isinstance(doc[0], dict)):
            return spec.from_array(doc, "body")
        return spec.from_records(doc)
    if isinstance(doc, dict):
        if "columns" in doc:
            unknown = sorted(set(doc) - {"columns", "data"})
            if unknown:
                raise bad(f"unknown key(s) {', '.join(name_of(k) for k in unknown)}; expected 'columns' and 'data'")
            return spec.from_rows(doc.get("columns"), doc.get("data"), "body")
        if set(doc) == {"data"}:
            return spec.from_array(doc["data"], "data")
        if spec.type == "columns":
            return spec.from_records([doc], "the record")  # one row as a single object
    raise bad(
        "expected records [{column: value}, …], one record {column: value}, "
        "{'columns': [...], 'data': [[...], …]} or {'data': [...]}"
    )


# -- MLflow /invocations ----------------------------------------------------------------------------

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def parse_invocations(body: bytes, media_type: str, spec: InputSpec) -> Any:
    """MLflow's scoring formats: ``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``, CSV."""
    if media_type == "text/csv":
        return parse_csv(body, spec)
    if media_type != "application/json":
        raise RequestError(
            415, [f"content type {name_of(media_type)} is not accepted; send application/json or text/csv"]
        )
    doc = load_json(body)
    if not isinstance(doc, dict):
        raise bad(f"expected a JSON object with one of the keys {', '.join(MLFLOW_KEYS)}")
    keys = [k for k in MLFLOW_KEYS if k in doc]
    unknown = sorted(set(doc) - {*MLFLOW_KEYS, "params"})
    if len(keys) != 1 or unknown:
        extra = f"; unknown key(s) {', '.join(name_of(k) for k in unknown)}" if unknown else ""
        raise bad(f"expected exactly one of the keys {', '.join(MLFLOW_KEYS)}{extra}")
    if "params" in doc and not isinstance(doc["params"], dict):
        raise bad("'params' must be an object")
    key = keys[0]
    value = doc[key]
    if key == "dataframe_split":
        if not isinstance(value, dict) or set(value) - {"columns", "data", "index"}:
            raise bad("dataframe_split must be an object with 'columns' and 'data' (and optionally 'index')")
        if not isinstance(value.get("index", []), list):
            raise bad("dataframe_split.index must be a list")
        return spec.from_rows(value.get("columns"), value.get("data"), "dataframe_split")
    if key == "dataframe_records":
        if not isinstance(value, list):
            raise bad("dataframe_records must be a list of records")
        return spec.from_records(value, "dataframe_records")
    if isinstance(value, dict) and spec.type == "columns":
        return spec.from_columns(value)  # {"inputs": {"col": [values]}}
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return spec.from_records(value, key)
    return spec.from_array(value, key)


def parse_csv(body: bytes, spec: InputSpec) -> Any:
    """CSV with a header row → DataFrame; each cell is converted to its column's type or named as wrong."""
    if spec.type != "columns":
        raise bad("CSV needs a model that takes named columns")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad("the CSV body is not UTF-8 text") from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        raise bad("the CSV body cannot be parsed") from None
    if not rows:
        raise bad("the CSV body is empty: send a header row and at least one row")
    header, data = rows[0], [r for r in rows[1:] if r]
    if len(set(header)) != len(header):
        raise bad("the CSV header names a column twice")
    if any(len(r) != len(header) for r in data):
        raise bad(f"CSV: every row must have {len(header)} cells, one per header column")
    problems = spec.names_problems(header, where="CSV header")
    if problems:
        raise bad(*problems)
    if not data:
        raise bad("CSV: no rows: send at least one after the header")
    columns: dict[str, list[Any]] = {}
    for i, n in enumerate(header):
        converted, problem = _from_text([r[i] for r in data], spec.kinds[n], nullable=n in spec.nullable)
        if problem:
            problems.append(f"column {name_of(n)}: {problem}")
        columns[n] = converted
    if problems:
        raise bad(*problems)
    return spec.from_columns(columns)


def _from_text(cells: list[str], kind: str, *, nullable: bool = False) -> tuple[list[Any], str | None]:
    if nullable:  # an empty cell is a missing value, as pandas reads it
        missing = [c if c != "" else None for c in cells]
        if kind in ("string", "datetime"):
            return missing, None
    if kind in ("string", "datetime"):
        return cells, None
    out: list[Any] = []
    failed = 0
    for c in cells:
        if nullable and c == "":
            out.append(None)
            continue
        try:
            if kind == "float":
                out.append(float(c))
            elif kind == "int":
                out.append(int(c))
            elif c.strip().lower() in ("true", "1", "false", "0"):
                out.append(c.strip().lower() in ("true", "1"))
            else:
                raise ValueError(c)
        except ValueError:
            failed += 1
    return out, (f"{failed} cell(s) are not {KIND_WORDS[kind]}" if failed else None)


# -- Open Inference Protocol V2 -----------------------------------------------------------------------


@dataclass(frozen=True)
class V2Request:
    """A parsed V2 inference request: the model input, the request id and the outputs asked for."""

    data: Any
    id: str | None
    outputs: tuple[str, ...] | None


def parse_v2(body: bytes, header_length: str | None, spec: InputSpec) -> V2Request:
    """A V2 ``infer`` body, JSON or with the binary-tensor extension (``Inference-Header-Content-Length``)."""
    binary = b""
    if header_length is not None:
        if not header_length.isdigit() or int(header_length) > len(body):
            raise bad("the Inference-Header-Content-Length header must be the length of the JSON part of the body")
        binary, body = body[int(header_length) :], body[: int(header_length)]
    doc = load_json(body)
    if not isinstance(doc, dict):
        raise bad("the body must be a JSON object with 'inputs'")
    rid = doc.get("id")
    if "id" in doc and not isinstance(rid, str):
        raise bad("'id' must be a string")
    if not isinstance(doc.get("parameters", {}), dict):
        raise bad("'parameters' must be an object")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs or not all(isinstance(t, dict) for t in inputs):
        raise bad("'inputs' must be a non-empty list of tensors {name, shape, datatype, data}")
    outputs = doc.get("outputs")
    wanted: tuple[str, ...] | None = None
    if "outputs" in doc:
        if not isinstance(outputs, list) or not all(
            isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
        ):
            raise bad("'outputs' must be a list of {name}")
        wanted = tuple(o["name"] for o in outputs)
    tensors: dict[str, tuple[Any, tuple[int, ...], str]] = {}
    problems: list[str] = []
    offset = 0
    for i, t in enumerate(inputs):
        name = t.get("name")
        label = f"inputs[{i}]" if not isinstance(name, str) else f"input {name_of(name)}"
        try:
            if not isinstance(name, str):
                raise bad(f"{label}: 'name' must be a string")
            if name in tensors:
                raise bad(f"{label} is given twice")
            flat, shape, datatype, used = _v2_tensor(t, label, binary, offset)
            offset += used
            tensors[name] = (flat, shape, datatype)
        except RequestError as exc:
            problems += exc.problems
    if problems:
        raise bad(*problems)
    if offset != len(binary):
        raise bad("the binary part of the body is longer than the tensors' binary_data_size add up to")
    return V2Request(_v2_to_input(tensors, spec), rid, wanted)


def _v2_tensor(t: Mapping[str, Any], label: str, binary: bytes, offset: int) -> tuple[Any, tuple[int, ...], str, int]:
    datatype = t.get("datatype")
    if datatype not in V2_TO_NUMPY:
        raise bad(f"{label}: 'datatype' must be one of {', '.join(V2_TO_NUMPY)}")
    shape = t.get("shape")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise bad(f"{label}: 'shape' must be a list of non-negative integers")
    count = math.prod(shape)
    params = t.get("parameters", {})
    if not isinstance(params, dict):
        raise bad(f"{label}: 'parameters' must be an object")
    size = params.get("binary_data_size")
    if size is not None:
        if "data" in t:
            raise bad(f"{label}: give either 'data' or parameters.binary_data_size, not both")
        if type(size) is not int or size < 0 or offset + size > len(binary):
            raise bad(f"{label}: binary_data_size does not fit in the binary part of the body")
        return _from_binary(binary[offset : offset + size], datatype, count, label), tuple(shape), datatype, size
    if "data" not in t:
        raise bad(f"{label}: 'data' is missing")
    data = t["data"]
    if not isinstance(data, list):
        raise bad(f"{label}: 'data' must be a list")
    nested, flat = nested_shape(data, f"{label}.data")
    if len(nested) > 1 and list(nested) != list(shape):
        raise bad(f"{label}: nested data has shape {list(nested)} but 'shape' says {shape}")
    if len(flat) != count:
        raise bad(f"{label}: 'shape' {shape} holds {count} values, 'data' has {len(flat)}")
    problem = check_values(
        flat, KIND_OF_V2[datatype], str(V2_TO_NUMPY[datatype]) if datatype != "BYTES" else "string", nullable=True
    )
    if problem:
        raise bad(f"{label}: {problem} for datatype {datatype}")
    return flat, tuple(shape), datatype, 0


def _from_binary(raw: bytes, datatype: str, count: int, label: str) -> Any:
    if datatype == "BYTES":
        out: list[str] = []
        pos = 0
        while pos < len(raw):
            if pos + 4 > len(raw):
                raise bad(f"{label}: truncated BYTES element")
            n = int.from_bytes(raw[pos : pos + 4], "little")
            chunk = raw[pos + 4 : pos + 4 + n]
            if len(chunk) != n:
                raise bad(f"{label}: truncated BYTES element")
            try:
                out.append(chunk.decode("utf-8"))
            except UnicodeDecodeError:
                raise bad(f"{label}: BYTES elements must be UTF-8 text") from None
            pos += 4 + n
        if len(out) != count:
            raise bad(f"{label}: 'shape' holds {count} values, the binary data has {len(out)}")
        return out
    dtype = V2_TO_NUMPY[datatype].newbyteorder("<")
    if len(raw) != count * dtype.itemsize:
        raise bad(
            f"{label}: 'shape' holds {count} {datatype} values, which is {count * dtype.itemsize} bytes, not {len(raw)}"
        )
    arr = np.frombuffer(raw, dtype=dtype).astype(V2_TO_NUMPY[datatype])
    if arr.dtype.kind == "f" and np.isinf(arr).any():
        raise bad(f"{label}: non-finite numbers are not accepted")
    return arr


def _v2_to_input(tensors: Mapping[str, tuple[Any, tuple[int, ...], str]], spec: InputSpec) -> Any:
    if spec.type == "tensor":
        if list(tensors) != [spec.tensor_name]:
            given = ", ".join(name_of(n) for n in tensors)
            raise bad(f"expected exactly one input tensor named {spec.tensor_name!r}, got {given}")
        flat, shape, datatype = tensors[spec.tensor_name]
        if isinstance(flat, np.ndarray) and flat.dtype.kind == "f" and np.isnan(flat).any():
            raise bad(f"input {spec.tensor_name!r}: non-finite numbers are not accepted")
        return spec.tensor(flat, shape, datatype, f"input {spec.tensor_name!r}")
    problems = spec.names_problems(list(tensors), where="inputs")
    rows: set[int] = set()
    columns: dict[str, Any] = {}
    for name, (flat, shape, datatype) in tensors.items():
        if name not in spec.kinds:
            continue
        kind = spec.kinds[name]
        if KIND_OF_V2[datatype] not in ACCEPTS[kind]:
            problems.append(f"input {name_of(name)}: datatype {datatype} does not fit the column's {spec.dtypes[name]}")
        if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
            problems.append(f"input {name_of(name)}: shape must be [rows] or [rows, 1], got {list(shape)}")
        elif shape[0] == 0:
            problems.append(f"input {name_of(name)}: no rows: send at least one")
        rows.add(shape[0] if shape else 0)
        if isinstance(flat, list):
            columns[name] = list(flat)
        else:  # binary floats carry a missing value as NaN: a null, which the column may or may not take
            columns[name] = [None if v != v else v for v in flat.tolist()] if flat.dtype.kind == "f" else flat.tolist()
    if not problems and len(rows) > 1:
        problems.append("input tensors have different numbers of rows")
    if problems:
        raise bad(*problems)
    return spec.from_columns(columns)


def v2_output(name: str, values: Any) -> dict[str, Any]:
    """One output tensor in the protocol's JSON form (flat, row-major ``data``)."""
    arr = np.asarray(values)
    datatype = v2_datatype(arr.dtype)
    flat = arr.reshape(-1)
    data = flat.astype(str).tolist() if datatype == "BYTES" else flat
    return {"name": name, "datatype": datatype, "shape": list(arr.shape), "data": data}


def dumps(doc: Any) -> bytes:
    """JSON bytes, NumPy arrays and scalars included, non-finite floats as null."""
    return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY, default=_default)


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)
