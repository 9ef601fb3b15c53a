"""Schema dtypes: Polars type names, and the kinds that validation compares.

A schema names Polars types (``Int64``, ``String``, ``Datetime``); validation compares their kinds, so
Int32 data meets an Int64 schema and integer data meets a float schema.
"""

from __future__ import annotations

from typing import Any

DTYPE_KINDS = {
    **dict.fromkeys(("Int8", "Int16", "Int32", "Int64", "Int128", "UInt8", "UInt16", "UInt32", "UInt64"), "integer"),
    **dict.fromkeys(("Float16", "Float32", "Float64", "Decimal"), "float"),
    **dict.fromkeys(("String", "Categorical", "Enum"), "string"),
    "Boolean": "boolean",
    "Date": "date",
    "Datetime": "datetime",
    "Duration": "duration",
    "Time": "time",
    "Binary": "binary",
    "List": "list",
    "Array": "list",
    "Struct": "struct",
    "Object": "object",
    "Null": "null",
}
# how a schema file may spell a dtype (any case, and the usual aliases) → its canonical name
DTYPE_BY_LOWER = {name.lower(): name for name in DTYPE_KINDS} | {"utf8": "String", "str": "String", "bool": "Boolean"}
NUMERIC_KINDS = ("integer", "float")


def dtype_name(dtype: Any) -> str:
    """The schema name of a Polars dtype: ``Int64``, ``String``, ``Datetime`` (units and zones dropped)."""
    name = dtype.base_type().__name__
    return "String" if name == "Utf8" else name


def dtype_kind(name: str | None) -> str | None:
    """``integer``, ``float``, ``string``, ``boolean``, ``date`` … for a schema dtype name."""
    return DTYPE_KINDS.get(name) if name else None
