"""The input spec on its own: dtype tables, value checks that never quote a value, and the names it reports."""

from __future__ import annotations

import numpy as np
import pytest

from mlgate.serve import input_spec, protocol
from mlgate.serve.input_spec import InputSpec, check_values, kind_of, numpy_dtype, v2_datatype

SECRET = "s3cr3t-value-never-echoed"
SIGNATURE = {
    "inputs": {
        "type": "columns",
        "columns": [
            {"name": "age", "dtype": "int64"},
            {"name": "income", "dtype": "float64", "nullable": True},
            {"name": "city", "dtype": "object"},
            {"name": "when", "dtype": "datetime64[ns]"},
        ],
    }
}


def test_the_wire_module_re_exports_the_same_objects() -> None:
    for name in ("InputSpec", "RequestError", "bad", "name_of", "nested_shape", "probe_nulls", "V2_TO_NUMPY"):
        assert getattr(protocol, name) is getattr(input_spec, name)


@pytest.mark.parametrize(
    ("dtype", "kind", "numpy", "v2"),
    [
        ("int64", "int", np.dtype(np.int64), "INT64"),
        ("float32", "float", np.dtype(np.float32), "FP32"),
        ("bool", "bool", np.dtype(bool), "BOOL"),
        ("object", "string", np.dtype(object), "BYTES"),
        ("datetime64[ns]", "datetime", np.dtype(object), "BYTES"),
        ("no such dtype", "string", np.dtype(object), "BYTES"),
    ],
)
def test_dtype_tables(dtype: str, kind: str, numpy: np.dtype, v2: str) -> None:
    assert kind_of(dtype) == kind
    assert numpy_dtype(dtype) == numpy
    assert v2_datatype(numpy_dtype(dtype)) == v2


def test_the_spec_reads_kinds_and_nullable_columns_from_the_signature() -> None:
    spec = InputSpec.from_signature(SIGNATURE)
    assert spec.type == "columns"
    assert spec.names == ("age", "income", "city", "when")
    assert dict(spec.kinds) == {"age": "int", "income": "float", "city": "string", "when": "datetime"}
    assert spec.nullable == frozenset({"income"})
    assert not spec.uniform_numeric


def test_names_problems_count_and_name_missing_and_extra_columns() -> None:
    spec = InputSpec.from_signature(SIGNATURE)
    problems = spec.names_problems(["age", "income", "zip"], where="body")
    assert problems == [
        "body: missing 2 column(s) the model needs: 'city', 'when'",
        "body: 1 column(s) the model does not take: 'zip'",
    ]


@pytest.mark.parametrize(
    ("values", "kind", "dtype", "message"),
    [
        ([1, 2], "int", "int64", None),
        ([1.0, 2.0], "int", "int64", None),
        ([1.5], "int", "int64", "expected integers, got numbers"),
        ([True], "float", "float64", "expected numbers, got booleans"),
        ([SECRET], "float", "float64", "expected numbers, got strings"),
        ([None, 1.0], "float", "float64", "1 null value(s)"),
        ([2**40], "int", "int32", "integers out of the range of int32"),
    ],
)
def test_check_values_says_why_without_quoting_a_value(
    values: list[object], kind: str, dtype: str, message: str | None
) -> None:
    problem = check_values(values, kind, dtype)
    if message is None:
        assert problem is None
    else:
        assert problem is not None
        assert message in problem
        assert SECRET not in problem


def test_null_is_accepted_only_where_the_column_is_nullable() -> None:
    assert check_values([None, 1.0], "float", "float64", nullable=True) is None
    assert check_values([None, None], "string", "object", nullable=True) is None
