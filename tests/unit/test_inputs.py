"""Inputs: whatever the caller passes becomes what the model was built for, columns matched by name."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from mlgate.errors import InputError
from mlgate.inputs import prepare
from mlgate.signature import infer_signature

SIG = {
    "inputs": {
        "type": "columns",
        "columns": [
            {"name": "a", "dtype": "float64"},
            {"name": "b", "dtype": "int64"},
            {"name": "c", "dtype": "float64"},
        ],
    }
}
ROWS = [{"c": 0.5, "a": 1.0, "b": 2, "extra": "x"}, {"c": 1.5, "a": 3.0, "b": 4, "extra": "y"}]
EXPECTED = np.array([[1.0, 2, 0.5], [3.0, 4, 1.5]])


@pytest.mark.parametrize(
    "data",
    [
        pd.DataFrame(ROWS),
        pl.DataFrame(ROWS),
        pa.Table.from_pylist(ROWS),
        ROWS,
        {key: [r[key] for r in ROWS] for key in ROWS[0]},
    ],
    ids=["pandas", "polars", "pyarrow", "records", "dict-of-columns"],
)
def test_columns_are_matched_by_name_in_signature_order(data: Any) -> None:
    frame = prepare(data, SIG, "pandas")
    assert list(frame.columns) == ["a", "b", "c"]  # the caller's order and extra columns are gone
    np.testing.assert_array_equal(frame.to_numpy(dtype=float), EXPECTED)
    arr = prepare(data, SIG, "numpy")
    assert isinstance(arr, np.ndarray)
    assert arr.flags.writeable
    np.testing.assert_array_equal(arr.astype(float), EXPECTED)


def test_a_real_model_scores_a_shuffled_frame_as_the_original(
    sk_model: Any, breast_cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, _ = breast_cancer
    sig = infer_signature(X.head(10), np.zeros(10, dtype="int64"))
    shuffled = X[list(reversed(X.columns))]
    assert list(shuffled.columns) != list(X.columns)
    np.testing.assert_array_equal(sk_model.predict(prepare(shuffled, sig, "pandas")), sk_model.predict(X))


def test_plain_arrays_take_the_signature_names() -> None:
    frame = prepare(EXPECTED, SIG, "pandas")
    assert list(frame.columns) == ["a", "b", "c"]
    one_row = prepare(np.array([1.0, 2.0, 0.5]), SIG, "pandas")
    assert one_row.shape == (1, 3)


def test_missing_columns_are_each_named_with_the_columns_the_model_takes() -> None:
    with pytest.raises(InputError, match=r"missing 2 column\(s\) the model needs: 'b', 'c'") as info:
        prepare(pd.DataFrame({"a": [1.0]}), SIG, "pandas")
    assert info.value.hint == "the model takes the columns 'a', 'b', 'c'"


def test_an_array_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(
        InputError, match=r"expected a table with the 3 columns 'a', 'b', 'c', got an array of shape \(2, 2\)"
    ):
        prepare(np.zeros((2, 2)), SIG, "numpy")


def test_a_long_list_of_names_is_shortened() -> None:
    sig = {"inputs": {"type": "columns", "columns": [{"name": f"f{i}", "dtype": "float64"} for i in range(12)]}}
    with pytest.raises(InputError, match=r"'f7' and 4 more"):
        prepare(pd.DataFrame({"x": [1.0]}), sig, "pandas")


TENSOR = {"inputs": {"type": "tensor", "dtype": "float32", "shape": [-1, 2, 3]}}


def test_a_tensor_gets_its_dtype_and_a_missing_batch_dimension() -> None:
    arr = prepare(np.ones((2, 3), dtype="int64"), TENSOR, "numpy")
    assert arr.shape == (1, 2, 3)
    assert arr.dtype == np.float32
    assert prepare(np.ones((5, 2, 3)), TENSOR, "numpy").shape == (5, 2, 3)


def test_a_tensor_of_the_wrong_shape_or_dtype_is_refused() -> None:
    with pytest.raises(InputError, match=r"expected an array of shape \[-1, 2, 3\] \(-1: any size\), got \[4, 3, 2\]"):
        prepare(np.ones((4, 3, 2)), TENSOR, "numpy")
    with pytest.raises(InputError, match="cannot convert input of dtype <U1 to float32"):
        prepare(np.array([[["a", "b", "c"], ["d", "e", "f"]]]), TENSOR, "numpy")


def test_without_a_known_input_type_the_data_passes_unchanged() -> None:
    data = object()
    assert prepare(data, {"inputs": {"type": "tensors"}}, "numpy") is data
