"""Signatures: what a model takes and returns, inferred from a sample input.

A signature is a plain dict, stored as JSON with every version::

    {"inputs": {"type": "columns", "columns": [{"name": "age", "dtype": "float64"}, …]},
     "outputs": {"type": "tensor", "dtype": "int64", "shape": [-1]}}

or ``{"type": "tensor", "dtype": "float32", "shape": [-1, 3, 32, 32]}`` for array inputs. The first
dimension is always ``-1`` (any batch size). A column of a sample that holds a missing value gets
``"nullable": true``: the model was asked to predict on it, so the server accepts null there.
"""

from __future__ import annotations

from typing import Any

from mlgate.errors import InputError

# dtype kinds that can stand in for each other without breaking a caller
_KIND = {
    "b": "bool",
    "i": "int",
    "u": "int",
    "f": "float",
    "c": "complex",
    "M": "datetime",
    "m": "timedelta",
    "O": "object",
    "U": "string",
    "S": "bytes",
}


def _dtype_name(dtype: Any) -> str:
    name = str(dtype)
    return {"object": "object", "str": "string", "string": "string"}.get(name, name)


def _kind(dtype_name: str) -> str:
    if dtype_name in ("string", "object", "str"):
        return "string" if dtype_name != "object" else "object"
    if dtype_name in ("category",):
        return "category"
    import numpy as np

    try:
        return _KIND.get(np.dtype(dtype_name).kind, dtype_name)
    except TypeError:
        return dtype_name


def infer_schema(data: Any) -> dict[str, Any]:
    """The input or output part of a signature for pandas, Polars, NumPy, lists of records or scalars."""
    import numpy as np

    mod = type(data).__module__
    if mod.startswith("pandas"):
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            missing = data.isna().any()
            return {
                "type": "columns",
                "columns": [
                    {"name": str(c), "dtype": _dtype_name(t)} | ({"nullable": True} if missing[c] else {})
                    for c, t in data.dtypes.items()
                ],
            }
        if isinstance(data, pd.Series):
            return {"type": "tensor", "dtype": _dtype_name(data.dtype), "shape": [-1]}
    if mod.startswith("polars"):
        nulls = data.null_count().row(0)
        return {
            "type": "columns",
            "columns": [
                {"name": c, "dtype": _polars_dtype(t)} | ({"nullable": True} if n else {})
                for c, t, n in zip(data.columns, data.dtypes, nulls, strict=True)
            ],
        }
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        import pandas as pd

        return infer_schema(pd.DataFrame.from_records(data))
    if mod.startswith("torch"):
        return {
            "type": "tensor",
            "dtype": str(data.dtype).replace("torch.", ""),
            "shape": [-1, *data.shape[1:]],
        }
    if isinstance(data, dict) and data and all(hasattr(v, "shape") for v in data.values()):
        return {"type": "tensors", "tensors": {k: infer_schema(v) for k, v in data.items()}}
    arr = np.asarray(data)
    if arr.ndim == 0:
        raise InputError(f"a sample input must hold at least one row, got the scalar {arr!r}")
    return {"type": "tensor", "dtype": _dtype_name(arr.dtype), "shape": [-1, *arr.shape[1:]]}


def _polars_dtype(dtype: Any) -> str:
    name = str(dtype)
    mapping = {
        "Float64": "float64",
        "Float32": "float32",
        "Int64": "int64",
        "Int32": "int32",
        "Int16": "int16",
        "Int8": "int8",
        "UInt64": "uint64",
        "UInt32": "uint32",
        "UInt16": "uint16",
        "UInt8": "uint8",
        "Boolean": "bool",
        "String": "string",
        "Utf8": "string",
        "Categorical": "category",
    }
    return mapping.get(name, name.lower())


def infer_signature(sample_input: Any, sample_output: Any) -> dict[str, Any]:
    """A whole signature from a sample input and the model's output on it."""
    return {"inputs": infer_schema(sample_input), "outputs": infer_schema(sample_output)}


def incompatibilities(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Why a caller of ``old`` would break on ``new`` (empty when compatible).

    Inputs decide: a removed, added or renamed column, a change of dtype kind (int → string), or a
    tensor whose shape or dtype kind differs. Outputs changing shape count too.
    """
    reasons: list[str] = []
    oi, ni = old.get("inputs", {}), new.get("inputs", {})
    if oi.get("type") != ni.get("type"):
        return [f"inputs changed from {oi.get('type')} to {ni.get('type')}"]
    if oi.get("type") == "columns":
        ocols = {c["name"]: c["dtype"] for c in oi["columns"]}
        ncols = {c["name"]: c["dtype"] for c in ni["columns"]}
        reasons += [f"input column {c!r} was removed" for c in ocols if c not in ncols]
        reasons += [f"input column {c!r} was added" for c in ncols if c not in ocols]
        for c in ocols.keys() & ncols.keys():
            if _kind(ocols[c]) != _kind(ncols[c]):
                reasons.append(f"input column {c!r} changed from {ocols[c]} to {ncols[c]}")
    elif oi.get("type") == "tensor":
        if oi.get("shape") != ni.get("shape"):
            reasons.append(f"input shape changed from {oi.get('shape')} to {ni.get('shape')}")
        if _kind(oi.get("dtype", "")) != _kind(ni.get("dtype", "")):
            reasons.append(f"input dtype changed from {oi.get('dtype')} to {ni.get('dtype')}")
    elif oi != ni:
        reasons.append("named input tensors changed")
    oo, no = old.get("outputs", {}), new.get("outputs", {})
    if oo.get("type") == no.get("type") == "tensor" and oo.get("shape") != no.get("shape"):
        reasons.append(f"output shape changed from {oo.get('shape')} to {no.get('shape')}")
    return reasons
