"""Schema dtype names and kinds, from Polars dtypes."""

from __future__ import annotations

import polars as pl
import pytest

from mlgate.data.schema import DTYPE_KINDS, dtype_kind, dtype_name


@pytest.mark.parametrize(
    ("dtype", "name", "kind"),
    [
        (pl.Int32, "Int32", "integer"),
        (pl.UInt8, "UInt8", "integer"),
        (pl.Float32, "Float32", "float"),
        (pl.Decimal(10, 2), "Decimal", "float"),
        (pl.Utf8, "String", "string"),
        (pl.Categorical(), "Categorical", "string"),
        (pl.Datetime("ms", "UTC"), "Datetime", "datetime"),
        (pl.List(pl.Int64), "List", "list"),
        (pl.Null, "Null", "null"),
    ],
)
def test_polars_dtypes_map_to_schema_names_and_kinds(dtype: pl.DataType, name: str, kind: str) -> None:
    assert dtype_name(dtype) == name and dtype_kind(name) == kind


def test_unknown_and_missing_names_have_no_kind() -> None:
    assert dtype_kind("Integer") is None and dtype_kind(None) is None
    assert set(DTYPE_KINDS.values()) >= {"integer", "float", "string", "boolean", "date", "datetime"}
