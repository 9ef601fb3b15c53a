"""Request bodies → validated model inputs, and predictions → response bodies.

Three wire formats reach the same two shapes: a table of named columns (``columns`` signatures) or one
typed array (``tensor`` signatures). Open Inference Protocol V2 sends typed, shaped tensors (JSON or
the binary-tensor extension); ``/predict`` takes records or ``{"columns", "data"}``; ``/invocations``
takes MLflow's JSON formats and CSV. Every check runs before the model sees anything, and every
problem names the field (column, tensor, key) without repeating the caller's values, so a bad request
is always a 4xx and an exception from the model is always the model's.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

# Open Inference Protocol datatypes ↔ NumPy
V2_TO_NUMPY = {
    "BOOL": np.dtype(bool),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}
_KIND_OF_V2 = {"BOOL": "bool", "BYTES": "string"} | {
    k: ("float" if k.startswith("FP") else "int") for k in V2_TO_NUMPY if k[0] in "FIU"
}
# which wire kinds a column of each signature kind accepts (ints widen to floats, nothing narrows)
_ACCEPTS = {
    "float": {"float", "int"},
    "int": {"int"},
    "bool": {"bool"},
    "string": {"string"},
    "datetime": {"string"},
}
_KIND_WORDS = {"float": "numbers", "int": "integers", "bool": "booleans", "string": "strings", "datetime": "strings"}
MAX_NAME = 64
# past this many columns a model that refuses a row of nulls is not probed column by column at load
MAX_NULL_PROBES = 256


class RequestError(Exception):
    """A request the server refuses before predicting: a status and one line per offending field."""

    def __init__(self, status: int, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.status = status
        self.problems = list(problems)

    def body(self) -> dict[str, Any]:
        """``{"error": "…", "problems": [...]}``: the V2 error form plus the list."""
        return {"error": "; ".join(self.problems), "problems": self.problems}


def bad(*problems: str) -> RequestError:
    """A 400 naming each problem."""
    return RequestError(400, problems)


def name_of(value: Any) -> str:
    """A caller-supplied field name, quoted and cut short: names are echoed, values never are."""
    text = str(value)
    return repr(text if len(text) <= MAX_NAME else text[:MAX_NAME] + "…")


def _kind(dtype: str) -> str:
    if dtype in ("string", "str", "object", "category"):
        return "string"
    try:
        k = np.dtype(dtype).kind
    except TypeError:
        return "string"
    return {"b": "bool", "i": "int", "u": "int", "f": "float", "M": "datetime"}.get(k, "string")


def _numpy_dtype(dtype: str) -> np.dtype[Any]:
    try:
        return np.dtype(dtype) if _kind(dtype) not in ("string", "datetime") else np.dtype(object)
    except TypeError:
        return np.dtype(object)


def _v2_datatype(dtype: np.dtype[Any]) -> str:
    for name, np_dtype in V2_TO_NUMPY.items():
        if np_dtype == dtype and name != "BYTES":
            return name
    return "BYTES"


@dataclass(frozen=True)
class InputSpec:
    """What a version takes, read once from its signature: columns (name, dtype, kind) or one tensor.

    ``nullable``: the columns that accept null (a missing value): those the signature marks
    ``nullable`` and those the loaded version scored with a missing value at load (:func:`probe_nulls`).
    """

    type: str  # "columns" or "tensor"
    names: tuple[str, ...] = ()
    dtypes: Mapping[str, str] = field(default_factory=dict)
    kinds: Mapping[str, str] = field(default_factory=dict)
    tensor_dtype: str = "float64"
    tensor_shape: tuple[int, ...] = (-1,)
    nullable: frozenset[str] = frozenset()

    @classmethod
    def from_signature(cls, signature: Mapping[str, Any]) -> InputSpec:
        """The spec of ``signature["inputs"]``; signatures other than columns or one tensor are refused."""
        spec = signature.get("inputs", {})
        if spec.get("type") == "columns":
            cols = spec["columns"]
            return cls(
                "columns",
                tuple(c["name"] for c in cols),
                {c["name"]: c["dtype"] for c in cols},
                {c["name"]: _kind(c["dtype"]) for c in cols},
                nullable=frozenset(c["name"] for c in cols if c.get("nullable")),
            )
        if spec.get("type") == "tensor":
            return cls("tensor", tensor_dtype=spec.get("dtype", "float64"), tensor_shape=tuple(spec.get("shape", [-1])))
        raise ValueError(f"serving supports columns and single-tensor signatures, not {spec.get('type')!r}")

    @functools.cached_property
    def uniform_numeric(self) -> bool:
        """Whether every column has the same numeric dtype (then a frame is one 2-D block)."""
        return (
            self.type == "columns"
            and bool(self.names)
            and len({self.dtypes[n] for n in self.names}) == 1
            and all(self.kinds[n] in ("float", "int") for n in self.names)
        )

    @property
    def tensor_name(self) -> str:
        """The V2 name of the one input tensor of a tensor signature."""
        return "input"

    def v2_inputs(self) -> list[dict[str, Any]]:
        """The ``inputs`` of the V2 model metadata."""
        if self.type == "columns":
            return [
                {"name": n, "datatype": _v2_datatype(_numpy_dtype(self.dtypes[n])), "shape": [-1, 1]}
                for n in self.names
            ]
        return [
            {
                "name": self.tensor_name,
                "datatype": _v2_datatype(_numpy_dtype(self.tensor_dtype)),
                "shape": list(self.tensor_shape),
            }
        ]

    def synthetic(self, nulls: Sequence[str] = ()) -> Any:
        """One made-up row of the right names and types, to warm a freshly loaded version up.

        The columns in ``nulls`` hold a missing value instead.
        """
        if self.type == "tensor":
            shape = [1, *(d if d > 0 else 1 for d in self.tensor_shape[1:])]
            return np.zeros(shape, dtype=_numpy_dtype(self.tensor_dtype))
        filler = {"float": 0.0, "int": 0, "bool": False, "string": "", "datetime": "1970-01-01"}
        return self.frame({n: [None if n in nulls else filler[self.kinds[n]]] for n in self.names})

    # -- building the model's input ----------------------------------------------------------------

    def frame(self, columns: Mapping[str, Any]) -> Any:
        """A pandas DataFrame in signature order from already-validated columns."""
        import pandas as pd

        nulls = {n for n in self.names if n in self.nullable and _has_null(columns[n])}
        if self.uniform_numeric and (not nulls or self.kinds[self.names[0]] == "float"):
            # one 2-D block: several times faster than a frame built column by column (NumPy reads None as NaN)
            block = np.asarray([columns[n] for n in self.names], dtype=self.dtypes[self.names[0]]).T
            return pd.DataFrame(block, columns=list(self.names))
        data = {}
        for n in self.names:
            values = columns[n]
            if self.kinds[n] == "datetime":
                data[n] = pd.to_datetime(pd.Series(values, dtype=object), errors="raise")
            elif n in nulls and self.kinds[n] in ("int", "bool"):
                # a missing value is NaN, as pandas reads it from a file: ints widen to floats, booleans to objects
                missing = [np.nan if v is None else v for v in values]
                data[n] = np.asarray(missing, dtype=np.float64 if self.kinds[n] == "int" else object)
            elif self.kinds[n] == "string":
                # "string" in a signature is the default text dtype the training frame had ("str" on pandas 3)
                dtype = self.dtypes[n] if self.dtypes[n] in ("object", "category") else None
                if n in nulls:
                    if dtype is None and all(v is None for v in values):
                        dtype = object  # only missing values: still a text column, not pandas' float default
                    values = [np.nan if v is None else v for v in values]
                data[n] = pd.Series(values, dtype=dtype)
            else:
                data[n] = np.asarray(values, dtype=self.dtypes[n])
        return pd.DataFrame(data, columns=list(self.names))

    def from_columns(self, columns: Mapping[str, Any]) -> Any:
        """Check named columns of JSON values (lists) against the signature; a DataFrame or RequestError."""
        if self.type != "columns":
            raise bad("this model takes one tensor, not named columns: send {'data': [[…], …]} or a V2 tensor")
        problems = self._names_problems(list(columns))
        lengths = {len(v) if isinstance(v, list) else -1 for v in columns.values()}
        for n, values in columns.items():
            if n not in self.kinds:
                continue
            if not isinstance(values, list):
                problems.append(f"column {name_of(n)}: expected a list of values")
                continue
            problem = _check_values(values, self.kinds[n], self.dtypes[n], nullable=n in self.nullable)
            if problem:
                problems.append(f"column {name_of(n)}: {problem}")
        if not problems and len(lengths) > 1:
            problems.append("columns have different lengths")
        if not problems and lengths == {0}:
            problems.append("no rows: send at least one")
        if problems:
            raise bad(*problems)
        try:
            return self.frame(columns)
        except (ValueError, TypeError, OverflowError) as exc:
            raise bad(f"values cannot be read as the signature's types ({type(exc).__name__})") from None

    def from_records(self, records: list[Any], where: str = "records") -> Any:
        """Records ``[{"col": value}, …]`` → DataFrame; every record must hold exactly the signature's columns."""
        if not records:
            raise bad(f"{where}: no rows: send at least one")
        if not all(isinstance(r, dict) for r in records):
            raise bad(f"{where}: every record must be a JSON object of column: value")
        keys = list(dict.fromkeys(k for r in records for k in r))
        ragged = [k for k in keys if k in self.kinds and any(k not in r for r in records)]
        if ragged:
            shown = ", ".join(name_of(n) for n in ragged[:8])
            raise bad(f"{where}: some records lack the column(s) {shown}; every record needs every column")
        return self.from_columns({k: [r.get(k) for r in records] for k in keys})

    def from_rows(self, columns: Any, rows: Any, where: str) -> Any:
        """``{"columns": [...], "data": [[...], ...]}`` (MLflow's ``dataframe_split`` too) → DataFrame."""
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise bad(f"{where}.columns must be a list of column names")
        if len(set(columns)) != len(columns):
            raise bad(f"{where}.columns names a column twice")
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad(f"{where}.data must be a list of rows (lists of values)")
        if any(len(r) != len(columns) for r in rows):
            raise bad(f"{where}.data: every row must have {len(columns)} values, one per column")
        return self.from_columns({c: [r[i] for r in rows] for i, c in enumerate(columns)})

    def from_array(self, data: Any, where: str = "data") -> Any:
        """A nested JSON list → the model's tensor (tensor signatures) or rows in signature order (columns)."""
        shape, flat = nested_shape(data, where)
        if self.type == "columns":
            if len(shape) == 1 and shape[0] == len(self.names):
                shape = (1, shape[0])
            if len(shape) != 2 or shape[1] != len(self.names):
                raise bad(
                    f"{where}: expected rows of {len(self.names)} values in signature order, got shape {list(shape)}"
                )
            width = len(self.names)
            return self.from_columns({n: flat[i::width] for i, n in enumerate(self.names)})
        return self.tensor(flat, shape, None, where)

    def tensor(self, flat: list[Any] | np.ndarray, shape: Sequence[int], datatype: str | None, where: str) -> Any:
        """A flat list or array and its shape → the model's input array, checked against the signature."""
        want = self.tensor_shape
        shape = tuple(shape)
        if len(want) == len(shape) + 1 and all(w in (-1, g) for w, g in zip(want[1:], shape, strict=True)):
            shape = (1, *shape)  # one example without its batch dimension
        if len(shape) != len(want) or any(w not in (-1, g) for w, g in zip(want, shape, strict=True)):
            raise bad(f"{where}: expected shape {list(want)} (-1: any size), got {list(shape)}")
        kind = _kind(self.tensor_dtype)
        if datatype is not None and _KIND_OF_V2[datatype] not in _ACCEPTS[kind]:
            raise bad(f"{where}: datatype {datatype} does not fit the model's {self.tensor_dtype} input")
        if isinstance(flat, list):
            problem = _check_values(flat, kind, self.tensor_dtype)
            if problem:
                raise bad(f"{where}: {problem}")
        try:
            return np.asarray(flat, dtype=_numpy_dtype(self.tensor_dtype)).reshape(shape)
        except (ValueError, TypeError, OverflowError):
            raise bad(f"{where}: values cannot be read as {self.tensor_dtype}") from None

    def _names_problems(self, given: list[Any], where: str = "input") -> list[str]:
        problems = []
        missing = [n for n in self.names if n not in given]
        extra = [g for g in given if g not in self.kinds]
        if missing:
            shown = ", ".join(name_of(n) for n in missing[:8]) + (
                f" and {len(missing) - 8} more" if len(missing) > 8 else ""
            )
            problems.append(f"{where}: missing {len(missing)} column(s) the model needs: {shown}")
        if extra:
            shown = ", ".join(name_of(n) for n in extra[:8]) + (f" and {len(extra) - 8} more" if len(extra) > 8 else "")
            problems.append(f"{where}: {len(extra)} column(s) the model does not take: {shown}")
        return problems


def _has_null(values: Any) -> bool:
    return isinstance(values, list) and any(v is None for v in values)


def probe_nulls(spec: InputSpec, predict: Callable[[Any], Any]) -> InputSpec:
    """``spec`` with the columns a loaded version scores when they are missing marked nullable.

    A model trained on rows with missing values (a pipeline that imputes, trees that route them) scores
    such a row, so it is served such rows; one that raises on a missing value, or returns NaN for it,
    keeps refusing null with a 400. One probe with every column missing, then, if that fails, one per
    column (up to :data:`MAX_NULL_PROBES` columns).
    """
    if spec.type != "columns" or not spec.names:
        return spec

    def scores(nulls: Sequence[str]) -> bool:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = np.asarray(predict(spec.synthetic(nulls)))
        except Exception:  # any refusal means the column is not nullable; the reason does not matter here
            return False
        return not (out.dtype.kind in "fc" and not np.isfinite(out).all())

    if scores(spec.names):
        found = set(spec.names)
    elif len(spec.names) <= MAX_NULL_PROBES:
        found = {n for n in spec.names if n not in spec.nullable and scores([n])}
    else:
        found = set()
    return dataclasses.replace(spec, nullable=spec.nullable | found)


def _check_values(values: list[Any], kind: str, dtype: str, *, nullable: bool = False) -> str | None:
    """Why JSON ``values`` cannot fill a column of ``kind`` (None when they can); never quotes a value.

    Nulls are accepted only when ``nullable``.
    """
    types = {type(v) for v in values}
    if type(None) in types:
        if not nullable:
            count = sum(v is None for v in values)
            return f"{count} null value(s); send {_KIND_WORDS[kind]} (this model does not score missing values here)"
        values = [v for v in values if v is not None]
        types.discard(type(None))
        if not values:
            return None
    if kind == "float":
        ok = types <= {int, float}
    elif kind == "int":
        ok = types <= {int} or (types <= {int, float} and all(float(v).is_integer() for v in values))
    elif kind == "bool":
        ok = types <= {bool}
    else:
        ok = types <= {str}
    if not ok:
        got = ", ".join(sorted(_json_type(t) for t in types))
        return f"expected {_KIND_WORDS[kind]}, got {got}"
    if kind in ("float", "int") and bool in types:
        return f"expected {_KIND_WORDS[kind]}, got booleans"
    if kind == "float" and float in types and not all(math.isfinite(v) for v in values):
        return "non-finite numbers are not accepted"
    if kind == "int":
        info = np.iinfo(np.dtype(dtype)) if _numpy_dtype(dtype).kind in "iu" else np.iinfo(np.int64)
        if any(not info.min <= v <= info.max for v in values):
            return f"integers out of the range of {dtype}"
    if kind == "float" and _numpy_dtype(dtype) != np.float64:
        top = np.finfo(_numpy_dtype(dtype)).max
        if any(abs(v) > top for v in values):
            return f"numbers out of the range of {dtype}"
    return None


def _json_type(t: type) -> str:
    return {
        bool: "booleans",
        int: "integers",
        float: "numbers",
        str: "strings",
        list: "lists",
        dict: "objects",
        type(None): "nulls",
    }.get(t, t.__name__)


def nested_shape(data: Any, where: str) -> tuple[tuple[int, ...], list[Any]]:
    """The shape of a regular nested list and its values in row-major order (a ragged list is refused)."""
    if not isinstance(data, list):
        raise bad(f"{where} must be a list")
    shape: list[int] = []
    level: list[Any] = data
    while isinstance(level, list):
        shape.append(len(level))
        if not level:
            break
        level = level[0]
    flat: list[Any] = data
    for depth in range(1, len(shape)):
        nxt: list[Any] = []
        for item in flat:
            if not isinstance(item, list) or len(item) != shape[depth]:
                raise bad(f"{where} is ragged: every row must have the same length at depth {depth}")
            nxt.extend(item)
        flat = nxt
    if any(isinstance(v, list) for v in flat):
        raise bad(f"{where} is ragged: lists and values mixed at the same depth")
    return tuple(shape), flat


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
    problems = spec._names_problems(header, where="CSV header")
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
    return out, (f"{failed} cell(s) are not {_KIND_WORDS[kind]}" if failed else None)


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
    problem = _check_values(
        flat, _KIND_OF_V2[datatype], str(V2_TO_NUMPY[datatype]) if datatype != "BYTES" else "string", nullable=True
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
    problems = spec._names_problems(list(tensors), where="inputs")
    rows: set[int] = set()
    columns: dict[str, Any] = {}
    for name, (flat, shape, datatype) in tensors.items():
        if name not in spec.kinds:
            continue
        kind = spec.kinds[name]
        if _KIND_OF_V2[datatype] not in _ACCEPTS[kind]:
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
    datatype = _v2_datatype(arr.dtype)
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
