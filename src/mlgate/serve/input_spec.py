"""What a served version takes: its input spec, read once from the signature, and how values are checked.

:class:`InputSpec` holds the columns (name, dtype, kind, whether null is taken) or the one tensor of a
signature, and turns already-decoded JSON values (columns, records, rows, nested arrays, flat tensors)
into the model's input, or a :class:`RequestError` naming each offending field without repeating the
caller's values. :func:`probe_nulls` finds, once at load, the columns a version scores when missing.
The wire formats that decode request bodies into those values are in :mod:`mlgate.serve.protocol`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
KIND_OF_V2 = {"BOOL": "bool", "BYTES": "string"} | {
    k: ("float" if k.startswith("FP") else "int") for k in V2_TO_NUMPY if k[0] in "FIU"
}
# which wire kinds a column of each signature kind accepts (ints widen to floats, nothing narrows)
ACCEPTS = {
    "float": {"float", "int"},
    "int": {"int"},
    "bool": {"bool"},
    "string": {"string"},
    "datetime": {"string"},
}
KIND_WORDS = {"float": "numbers", "int": "integers", "bool": "booleans", "string": "strings", "datetime": "strings"}
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


def kind_of(dtype: str) -> str:
    """The wire kind of a signature dtype: float, int, bool, datetime or string."""
    if dtype in ("string", "str", "object", "category"):
        return "string"
    try:
        k = np.dtype(dtype).kind
    except TypeError:
        return "string"
    return {"b": "bool", "i": "int", "u": "int", "f": "float", "M": "datetime"}.get(k, "string")


def numpy_dtype(dtype: str) -> np.dtype[Any]:
    """The NumPy dtype a signature dtype is built with (object for text and datetimes)."""
    try:
        return np.dtype(dtype) if kind_of(dtype) not in ("string", "datetime") else np.dtype(object)
    except TypeError:
        return np.dtype(object)


def v2_datatype(dtype: np.dtype[Any]) -> str:
    """The Open Inference Protocol datatype of a NumPy dtype (BYTES for anything not numeric or bool)."""
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
                {c["name"]: kind_of(c["dtype"]) for c in cols},
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
                {"name": n, "datatype": v2_datatype(numpy_dtype(self.dtypes[n])), "shape": [-1, 1]} for n in self.names
            ]
        return [
            {
                "name": self.tensor_name,
                "datatype": v2_datatype(numpy_dtype(self.tensor_dtype)),
                "shape": list(self.tensor_shape),
            }
        ]

    def synthetic(self, nulls: Sequence[str] = ()) -> Any:
        """One made-up row of the right names and types, to warm a freshly loaded version up.

        The columns in ``nulls`` hold a missing value instead.
        """
        if self.type == "tensor":
            shape = [1, *(d if d > 0 else 1 for d in self.tensor_shape[1:])]
            return np.zeros(shape, dtype=numpy_dtype(self.tensor_dtype))
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
                dtype: str | type[object] | None = self.dtypes[n] if self.dtypes[n] in ("object", "category") else None
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
        problems = self.names_problems(list(columns))
        lengths = {len(v) if isinstance(v, list) else -1 for v in columns.values()}
        for n, values in columns.items():
            if n not in self.kinds:
                continue
            if not isinstance(values, list):
                problems.append(f"column {name_of(n)}: expected a list of values")
                continue
            problem = check_values(values, self.kinds[n], self.dtypes[n], nullable=n in self.nullable)
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
        kind = kind_of(self.tensor_dtype)
        if datatype is not None and KIND_OF_V2[datatype] not in ACCEPTS[kind]:
            raise bad(f"{where}: datatype {datatype} does not fit the model's {self.tensor_dtype} input")
        if isinstance(flat, list):
            problem = check_values(flat, kind, self.tensor_dtype)
            if problem:
                raise bad(f"{where}: {problem}")
        try:
            return np.asarray(flat, dtype=numpy_dtype(self.tensor_dtype)).reshape(shape)
        except (ValueError, TypeError, OverflowError):
            raise bad(f"{where}: values cannot be read as {self.tensor_dtype}") from None

    def names_problems(self, given: list[Any], where: str = "input") -> list[str]:
        """One line each for the missing columns and for the columns the model does not take."""
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


def check_values(values: list[Any], kind: str, dtype: str, *, nullable: bool = False) -> str | None:
    """Why JSON ``values`` cannot fill a column of ``kind`` (None when they can); never quotes a value.

    Nulls are accepted only when ``nullable``.
    """
    types = {type(v) for v in values}
    if type(None) in types:
        if not nullable:
            count = sum(v is None for v in values)
            return f"{count} null value(s); send {KIND_WORDS[kind]} (this model does not score missing values here)"
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
        return f"expected {KIND_WORDS[kind]}, got {got}"
    if kind in ("float", "int") and bool in types:
        return f"expected {KIND_WORDS[kind]}, got booleans"
    if kind == "float" and float in types and not all(math.isfinite(v) for v in values):
        return "non-finite numbers are not accepted"
    if kind == "int":
        info = np.iinfo(np.dtype(dtype)) if numpy_dtype(dtype).kind in "iu" else np.iinfo(np.int64)
        if any(not info.min <= v <= info.max for v in values):
            return f"integers out of the range of {dtype}"
    if kind == "float" and numpy_dtype(dtype) != np.float64:
        top = np.finfo(numpy_dtype(dtype)).max
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
