"""Slice discovery per column and critical slices by SQL filter."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgate.errors import ConfigError
from mlgate.gates.slices import by_filter, discover, sliceable, weighted_bh


def test_categories_bins_and_nulls() -> None:
    frame = pl.DataFrame(
        {
            "clinic": ["a", "b", "a", "c", None, "a"],
            "age": [20.0, 30.0, 40.0, 50.0, 60.0, float("nan")],
            "visits": [1, 2, 1, 2, 1, 2],
        }
    )
    found, notes = discover(frame, ["clinic", "age", "visits"], bins=2, max_categories=4)
    names = [s.name for s in found]
    assert names[:4] == ["clinic is null", "clinic = a", "clinic = b", "clinic = c"]  # most frequent first
    assert "age is null" in names
    assert "age in [20, 40)" in names and "age in [40, 60]" in names
    assert {"visits = 1", "visits = 2"} <= set(names)
    rows = {s.name: s.rows for s in found}
    assert rows["clinic = a"] == 3 and rows["age is null"] == 1 and rows["age in [40, 60]"] == 3
    assert notes == []


def test_few_distinct_floats_are_values_not_bins() -> None:
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"children": rng.integers(0, 6, 500).astype(float), "rating": rng.integers(1, 6, 500) * 1.0,
                          "income": rng.normal(50, 10, 500)})  # fmt: skip
    names = {s.name for s in discover(frame, ["children", "rating", "income"])[0]}
    assert {f"children = {k}" for k in range(6)} <= names and {f"rating = {k}" for k in range(1, 6)} <= names
    assert not any(n.startswith(("children in", "rating in")) for n in names)
    assert sum(n.startswith("income in [") for n in names) == 5, "a continuous column still gets quantile bins"


def test_index_target_and_id_columns_are_not_sliced() -> None:
    n = 300
    frame = pl.DataFrame({
        "__index_level_0__": np.arange(n), "Unnamed: 0": np.arange(n),
        "customer_id": [f"c{i % 250}" for i in range(n)], "order": np.arange(n) * 7,
        "clinic": ["a", "b", "c"] * 100, "age": np.linspace(20, 80, n), "label": [0, 1] * 150,
    })  # fmt: skip
    keep, notes = sliceable(frame, target="label")
    assert keep == ["clinic", "age"]
    assert any("__index_level_0__: a stored pandas index" in note for note in notes)
    assert any(note.startswith("customer_id: ID-like (250 distinct values") for note in notes)
    assert any(note.startswith("order: ID-like") for note in notes)


def test_weighted_screening_keeps_a_large_real_slice_among_many_small_null_ones() -> None:
    p = np.concatenate([[0.001], np.random.default_rng(0).uniform(0.05, 1, 299)])
    rows = np.concatenate([[400], np.full(299, 40)])
    weighted, weights = weighted_bh(p, rows)
    from scipy.stats import false_discovery_control

    plain = false_discovery_control(p, method="bh")
    assert plain[0] > 0.05 and weighted[0] < 0.05, "weighting by rows recovers the large slice"
    assert abs(weights.mean() - 1) < 1e-12


def test_many_categories_are_capped_with_a_note() -> None:
    frame = pl.DataFrame({"code": [f"c{i % 30}" for i in range(300)]})
    found, notes = discover(frame, ["code"], max_categories=5)
    assert len(found) == 5 and "30 distinct values" in notes[0]


def test_unknown_slice_column() -> None:
    with pytest.raises(ConfigError, match="slice column 'nope' is not in the evaluation data"):
        discover(pl.DataFrame({"a": [1]}), ["nope"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200), st.integers(2, 10))
def test_numeric_bins_partition_the_rows(values: list[float], bins: int) -> None:
    frame = pl.DataFrame({"x": values}, schema={"x": pl.Float64})
    found, _ = discover(frame, ["x"], bins=bins, max_categories=1000)
    masks = np.array([s.mask for s in found])
    # every row lands in exactly one slice
    assert (masks.sum(axis=0) == 1).all()


def test_filter_selects_rows_and_reports_bad_expressions() -> None:
    frame = pl.DataFrame({"age": [10, 70, 80], "clinic": ["a", "b", "b"]})
    sl = by_filter(frame, "age >= 65 AND clinic = 'b'")
    assert sl.rows == 2 and sl.mask.tolist() == [False, True, True]
    with pytest.raises(ConfigError, match=r"cannot evaluate the filter 'height > 3'"):
        by_filter(frame, "height > 3", where="mlgate.yaml:4 (gates[1])")
    with pytest.raises(ConfigError, match=r"is not a condition"):
        by_filter(frame, "age + 1")
