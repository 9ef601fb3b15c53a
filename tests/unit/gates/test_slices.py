"""Slice discovery per column and critical slices by SQL filter."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgate.errors import ConfigError
from mlgate.gates.slices import INTERSECTION_WEIGHT, Slice, by_filter, discover, intersect, sliceable, weighted_bh


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


def _two_columns(n: int = 1200) -> tuple[pl.DataFrame, list[Slice]]:
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({
        "region": rng.choice(["north", "south", "islands"], n, p=[0.5, 0.4, 0.1]),
        "plan": rng.choice(["basic", "pro"], n, p=[0.7, 0.3]),
        "income": rng.normal(50, 10, n),
    })  # fmt: skip
    return frame, discover(frame, ["region", "plan", "income"])[0]


def test_intersections_are_named_cells_of_two_columns_within_the_budget() -> None:
    frame, single = _two_columns()
    assert intersect(single, budget=0, min_rows=30) == []
    cells = intersect(single, budget=100, min_rows=30)
    by_name = {s.name: s for s in cells}
    cell = by_name["region = islands & plan = pro"]
    expected = (frame.get_column("region") == "islands") & (frame.get_column("plan") == "pro")
    assert cell.column == "region & plan" and np.array_equal(cell.mask, expected.to_numpy())
    assert cell.weight == INTERSECTION_WEIGHT < 1 and all(s.weight == 1.0 for s in single)
    assert all(s.rows >= 30 for s in cells)
    # value × value cells take the budget before cells with a quantile bin, the largest first
    first = intersect(single, budget=3, min_rows=30)
    assert [s.column for s in first] == ["region & plan"] * 3
    assert first[0].rows >= first[1].rows >= first[2].rows
    assert len(intersect(single, budget=7, min_rows=30)) == 7
    assert all(s.rows >= 100 for s in intersect(single, budget=100, min_rows=100))


def test_intersections_skip_near_copies_of_a_single_slice() -> None:
    frame = pl.DataFrame({"a": ["x"] * 95 + ["y"] * 105, "b": ["u"] * 90 + ["v"] * 110})
    names = {s.name for s in intersect(discover(frame, ["a", "b"])[0], budget=10, min_rows=1)}
    assert "a = x & b = u" not in names, "90 of a = x's 95 rows: a near copy of it"
    assert names == {"a = x & b = v"}, "a = y & b = v is all of a = y's rows"


def test_intersections_weigh_less_in_the_screening() -> None:
    p, rows = np.array([0.01, 0.01]), np.array([100, 100])
    _, weights = weighted_bh(p, rows, np.array([1.0, INTERSECTION_WEIGHT]))
    assert weights.mean() == pytest.approx(1.0) and weights[0] == pytest.approx(2 * weights[1])


def test_a_label_fault_in_one_cell_is_found_by_its_intersection_only() -> None:
    """A real candidate trained with every label flipped where region = north and plan = pro (zoo churn data)."""
    from benchmarks import zoo_cases as zoo
    from threadpoolctl import threadpool_limits

    from mlgate.gates.evaluate import Evaluation, _slices
    from mlgate.gates.metrics import get_metric
    from mlgate.gates.spec import GateSpec
    from mlgate.gates.types import Pred

    data = zoo.load("churn-2k")
    train = zoo.sample(data, 5)
    cell = ((train["region"] == "north") & (train["plan"] == "pro")).to_numpy()
    train = train.assign(**{zoo.TARGET: np.where(cell, 1 - train[zoo.TARGET], train[zoo.TARGET])})
    X, y = data.eval[data.features], data.eval[zoo.TARGET].to_numpy()
    with threadpool_limits(1):
        proba = [zoo.fit(data, 5, train).predict_proba(X), zoo.champion(data).predict_proba(X)]
    cand, champ = (Pred(label=p.argmax(1).astype(np.int64), proba=p) for p in proba)
    ev = Evaluation(pl.from_pandas(data.eval), X, y, "binary", ["0", "1"], cand, champ, None, zoo.TARGET)
    metric = get_metric("accuracy", "binary")
    checks = {}
    for budget in (0, 20):
        spec = GateSpec("slices", "s", metric="accuracy", vs="production", slices="auto", max_drop=0.05,
                        min_rows=50, intersections=budget)  # fmt: skip
        checks[budget] = _slices(spec, metric, ev, [], [])
    assert checks[0].status == "pass", "no single-column slice finds the fault"
    assert checks[20].status == "fail" and checks[20].slice == "region = north & plan = pro"
    assert checks[20].details["intersections"] == 20
