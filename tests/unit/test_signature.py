"""Signatures: inference from real samples, and the compatibility rule that decides a major bump."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgate.errors import InputError
from mlgate.signature import incompatibilities, infer_schema, infer_signature

# dtypes grouped by the kind the rule compares; any two of one group stand in for each other
KINDS = {
    "int": ["int8", "int16", "int32", "int64", "uint8", "uint32"],
    "float": ["float32", "float64"],
    "bool": ["bool"],
    "string": ["string"],
    "datetime": ["datetime64[ns]", "datetime64[us]"],
}
DTYPES = [d for group in KINDS.values() for d in group]
KIND_OF = {d: kind for kind, group in KINDS.items() for d in group}

names = st.lists(st.text("abcdefgh_", min_size=1, max_size=6), min_size=1, max_size=8, unique=True)


@st.composite
def column_signatures(draw: st.DrawFn) -> dict[str, Any]:
    cols = [{"name": n, "dtype": draw(st.sampled_from(DTYPES))} for n in draw(names)]
    return {
        "inputs": {"type": "columns", "columns": cols},
        "outputs": {"type": "tensor", "dtype": "int64", "shape": [-1]},
    }


def _with_columns(sig: dict[str, Any], cols: list[dict[str, Any]]) -> dict[str, Any]:
    return {**sig, "inputs": {"type": "columns", "columns": cols}}


@given(column_signatures())
def test_a_signature_is_compatible_with_itself(sig: dict[str, Any]) -> None:
    assert incompatibilities(sig, sig) == []


@given(column_signatures(), st.randoms(use_true_random=False))
def test_column_order_never_matters(sig: dict[str, Any], rnd: Any) -> None:
    cols = list(sig["inputs"]["columns"])
    rnd.shuffle(cols)
    assert incompatibilities(sig, _with_columns(sig, cols)) == []


@given(column_signatures(), st.data())
def test_a_dtype_change_breaks_callers_exactly_when_its_kind_changes(sig: dict[str, Any], data: st.DataObject) -> None:
    cols = [dict(c) for c in sig["inputs"]["columns"]]
    i = data.draw(st.integers(0, len(cols) - 1))
    old = cols[i]["dtype"]
    cols[i]["dtype"] = data.draw(st.sampled_from(DTYPES))
    reasons = incompatibilities(sig, _with_columns(sig, cols))
    if KIND_OF[old] == KIND_OF[cols[i]["dtype"]]:
        assert reasons == []
    else:
        assert reasons == [f"input column {cols[i]['name']!r} changed from {old} to {cols[i]['dtype']}"]


@given(column_signatures(), st.data())
def test_a_removed_or_added_column_is_named_both_ways(sig: dict[str, Any], data: st.DataObject) -> None:
    cols = sig["inputs"]["columns"]
    gone = data.draw(st.sampled_from(cols))
    fewer = _with_columns(sig, [c for c in cols if c is not gone])
    assert incompatibilities(sig, fewer) == [f"input column {gone['name']!r} was removed"]
    assert incompatibilities(fewer, sig) == [f"input column {gone['name']!r} was added"]


@given(column_signatures(), column_signatures())
def test_compatibility_is_symmetric(a: dict[str, Any], b: dict[str, Any]) -> None:
    """A caller of either works with the other, or neither way: the rule never depends on direction."""
    assert bool(incompatibilities(a, b)) == bool(incompatibilities(b, a))


def test_tensor_shapes_and_output_shapes_count() -> None:
    old = infer_signature(np.zeros((4, 3, 8), dtype="float32"), np.zeros(4, dtype="int64"))
    assert incompatibilities(old, infer_signature(np.zeros((2, 3, 8), dtype="float64"), np.zeros(2))) == []
    wider = infer_signature(np.zeros((4, 3, 9), dtype="float32"), np.zeros((4, 2)))
    assert incompatibilities(old, wider) == [
        "input shape changed from [-1, 3, 8] to [-1, 3, 9]",
        "output shape changed from [-1] to [-1, 2]",
    ]
    table = infer_signature(pd.DataFrame({"a": [1.0]}), np.zeros(1))
    assert incompatibilities(old, table) == ["inputs changed from tensor to columns"]


def test_inferred_from_pandas_with_nullable_columns(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    sample = X.head(20).copy()
    sample.iloc[3, 0] = np.nan
    sig = infer_signature(sample, y.head(20))
    cols = sig["inputs"]["columns"]
    assert [c["name"] for c in cols] == list(X.columns)
    assert cols[0] == {"name": X.columns[0], "dtype": "float64", "nullable": True}
    assert all("nullable" not in c for c in cols[1:])
    assert sig["outputs"] == {"type": "tensor", "dtype": "int64", "shape": [-1]}


def test_polars_records_and_pandas_give_the_same_columns() -> None:
    records = [{"age": 31, "city": "Lyon", "score": 0.5}, {"age": 40, "city": None, "score": 1.5}]
    from_polars = infer_schema(pl.DataFrame(records))
    assert from_polars == {
        "type": "columns",
        "columns": [
            {"name": "age", "dtype": "int64"},
            {"name": "city", "dtype": "string", "nullable": True},
            {"name": "score", "dtype": "float64"},
        ],
    }
    from_records = infer_schema(records)
    assert [c["name"] for c in from_records["columns"]] == ["age", "city", "score"]
    numeric = [{"age": r["age"], "score": r["score"]} for r in records]
    assert incompatibilities({"inputs": infer_schema(pl.DataFrame(numeric))}, {"inputs": infer_schema(numeric)}) == []


def test_a_scalar_sample_is_refused() -> None:
    with pytest.raises(InputError, match="at least one row, got the scalar"):
        infer_schema(3.0)
