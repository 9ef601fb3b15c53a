"""Profiles: exact statistics against NumPy/Polars, merges equal to the whole, sketches, files and errors."""

from __future__ import annotations

import itertools
import json
import math
from datetime import date, datetime, timedelta
from pathlib import Path

import datasketches as ds
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgate.data.profile import (
    FORMAT,
    KLL_K,
    ColumnProfile,
    Profile,
    hll_registers,
    kll_from_sorted,
    merge_all,
    profile,
)
from mlgate.errors import InputError, UsageError

EPS = ds.kll_doubles_sketch.get_normalized_rank_error(KLL_K, False)
EXACT_FIELDS = ("count", "nulls", "nan", "inf", "min", "max", "str_len_min", "str_len_max", "str_len_sum")
SCHEMA = {"x": pl.Float64, "n": pl.Int64, "s": pl.String, "b": pl.Boolean}


def assert_same_profile(merged: Profile, whole: Profile, *, rank_tol: float = 0.0) -> None:
    """Exact fields equal, moments within 1e-9, sketches agree (KLL ranks within rank_tol, HLL within 3%)."""
    assert merged.rows == whole.rows
    assert list(merged.columns) == list(whole.columns)
    for name, w in whole.columns.items():
        m = merged.columns[name]
        assert (m.kind, m.dtype) == (w.kind, w.dtype), name
        for key in EXACT_FIELDS:
            assert getattr(m, key) == getattr(w, key), (name, key)
        scale = max(abs(w.min), abs(w.max)) if isinstance(w.min, float) else 1.0
        for key, tol in (("mean", scale), ("m2", scale * scale * max(w.finite, 1))):
            a, b = getattr(m, key), getattr(w, key)
            assert (a is None) == (b is None), (name, key)
            if a is not None:
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12 * tol), (name, key, a, b)
        if w.kll is not None:
            sm, sw = m.quantile_sketch(), w.quantile_sketch()
            assert sm.n == sw.n == w.finite
            for value in [v for v, _ in sw]:
                assert abs(sm.get_rank(value, True) - sw.get_rank(value, True)) <= rank_tol + 1e-12, (name, value)
        if w.frequent is not None:
            assert m.frequent_items() == w.frequent_items(), name
        if w.hll is not None:
            assert math.isclose(m.distinct(), w.distinct(), rel_tol=0.03), name


values_x = st.one_of(
    st.none(), st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0]), st.floats(-1e6, 1e6, allow_nan=False)
)
rows = st.tuples(
    values_x,
    st.none() | st.integers(-1000, 1000),
    st.none() | st.text(max_size=6),
    st.none() | st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.lists(rows, min_size=1, max_size=80), cuts=st.lists(st.integers(0, 80), max_size=3))
def test_merged_partitions_equal_the_whole(data, cuts):
    df = pl.DataFrame(data, schema=SCHEMA, orient="row")
    bounds = [0, *sorted(min(c, df.height) for c in cuts), df.height]
    parts = [df.slice(a, b - a) for a, b in itertools.pairwise(bounds)]
    merged = merge_all(profile(p, allow_empty=True) for p in parts)
    # below k values per column nothing is compacted, so even the KLL sketches agree exactly
    assert_same_profile(merged, profile(df))


def test_large_partitions_and_batches_match_the_whole(tmp_path: Path):
    rng = np.random.default_rng(7)
    n = 60_000
    x = rng.lognormal(size=n)
    x[rng.random(n) < 0.02] = np.nan
    df = pl.DataFrame(
        {
            "x": x,
            "k": rng.integers(0, 50, n),
            "u": rng.permutation(n).astype(np.int64),  # all distinct: HLL registers from NumPy
            "c": np.array(["red", "green", "blue", "cyan"])[rng.integers(0, 4, n)],
        }
    ).with_columns(pl.when(pl.int_range(pl.len()) % 97 == 0).then(None).otherwise(pl.col("k")).alias("k"))
    path = tmp_path / "big.parquet"
    df.write_parquet(path)
    whole = profile(path)
    batched = profile(path, batch_rows=7_000)
    parts = merge_all(profile(df.slice(a, 15_000)) for a in range(0, n, 15_000))
    # each side's sketch is within EPS of the truth, so two sketches within 2 EPS of each other
    assert_same_profile(batched, whole, rank_tol=2 * EPS)
    assert_same_profile(parts, whole, rank_tol=2 * EPS)
    assert batched.source == whole.source == str(path) and parts.source is None
    for prof in (whole, batched, parts):
        exact = df["x"].drop_nans().drop_nulls().to_numpy()
        for q, got in zip((0.1, 0.5, 0.9), prof.columns["x"].quantiles([0.1, 0.5, 0.9]), strict=True):
            assert abs(np.searchsorted(np.sort(exact), got, side="right") / len(exact) - q) <= EPS
        assert math.isclose(prof.columns["u"].distinct(), n, rel_tol=0.03)
        assert round(prof.columns["k"].distinct()) == 50
        assert prof.columns["c"].frequent_items() == dict(df["c"].value_counts(sort=True).iter_rows())


def test_numbers_match_numpy_on_breast_cancer(breast_cancer):
    X, _ = breast_cancer
    prof = profile(X)
    assert prof.rows == len(X) and list(prof.columns) == list(X.columns)
    for name in X.columns:
        col, values = prof.columns[name], X[name].to_numpy()
        assert (col.kind, col.dtype, col.count, col.nulls, col.nan, col.inf) == ("numeric", "Float64", 569, 0, 0, 0)
        assert (col.min, col.max) == (values.min(), values.max())
        assert col.mean == pytest.approx(values.mean(), rel=1e-12)
        assert col.std == pytest.approx(values.std(ddof=1), rel=1e-9)
        assert col.distinct() == pytest.approx(len(np.unique(values)), rel=0.03)
        ranks = np.searchsorted(np.sort(values), col.quantiles([0.25, 0.5, 0.75]), side="right") / len(values)
        assert np.all(np.abs(ranks - [0.25, 0.5, 0.75]) <= EPS)
        hist = col.histogram
        assert len(hist["edges"]) == 21 and len(hist["counts"]) == 20 and hist["edges"][0] == col.min
        assert abs(sum(hist["counts"]) - 569) <= 20


@pytest.mark.parametrize(
    ("values", "bins"),
    [([0.0, 5e-324, 0.0], 1), ([-1e308, 1e308, 0.0], 20), ([1e308, 1e308], 1), ([1.0, 2.0, 3.0], 20)],
)
def test_histograms_of_extreme_ranges_have_increasing_edges(values: list[float], bins: int) -> None:
    hist = profile(pl.DataFrame({"x": values})).columns["x"].histogram
    assert hist is not None and len(hist["counts"]) == bins and len(hist["edges"]) == bins + 1
    assert all(math.isfinite(e) for e in hist["edges"]) and sum(hist["counts"]) == len(values)
    assert all(a < b for a, b in itertools.pairwise(hist["edges"])) or bins == 1


def test_text_sketches_are_the_same_bytes_every_time() -> None:
    # more distinct strings than the frequent-items sketch holds: its purges and the HLL's estimate
    # depend on the order of updates, which must not follow Polars' run-to-run value_counts order.
    # (KLL compaction is randomized by DataSketches itself, so numeric sketches may differ in bytes.)
    df = pl.DataFrame({"s": [f"v{i % 3_000}" for i in range(12_000)]})
    first = profile(df, batch_rows=2_500).columns["s"]
    for _ in range(3):
        again = profile(df, batch_rows=2_500).columns["s"]
        assert (again.frequent, again.hll) == (first.frequent, first.hll)


def test_hll_registers_are_those_of_the_datasketches_update():
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(size=50_000), [0.0, np.inf, -np.inf, np.nan, 1e300, 5e-324]])
    sketch = ds.hll_sketch(12, ds.HLL_8)
    for v in values.tolist():
        sketch.update(v)
    registers = np.frombuffer(sketch.serialize_updatable()[40 : 40 + 4096], dtype=np.uint8)
    assert np.array_equal(hll_registers(values), registers)


def test_distinct_counts_canonical_zero_and_special_values():
    df = pl.DataFrame({"x": [0.0, -0.0, math.nan, math.inf, 1.0, None, math.nan]})
    col = profile(df).columns["x"]
    assert col.distinct() == pytest.approx(4)  # 0.0 (= -0.0), NaN, inf, 1.0: as hll_sketch.update(float) counts
    assert (col.nulls, col.nan, col.inf, col.valid, col.finite) == (1, 2, 1, 4, 3)
    assert (col.min, col.max, col.mean) == (0.0, 1.0, pytest.approx(1 / 3))


@pytest.mark.parametrize("n", [201, 1_000, 12_345, 100_000])
def test_kll_from_sorted_is_a_valid_accurate_sketch(n: int):
    rng = np.random.default_rng(n)
    for values in (np.sort(rng.normal(size=n)), np.sort(rng.integers(0, 30, n).astype(np.float64))):
        sketch = kll_from_sorted(values)
        assert (sketch.n, sketch.get_min_value(), sketch.get_max_value()) == (n, values[0], values[-1])
        assert sum(w for _, w in sketch) == n
        exact = np.searchsorted(values, values[:: max(1, n // 500)], side="right") / n
        got = np.array([sketch.get_rank(v, inclusive=True) for v in values[:: max(1, n // 500)]])
        assert np.max(np.abs(got - exact)) <= 1 / KLL_K
        again = ds.kll_doubles_sketch.deserialize(sketch.serialize())
        again.merge(kll_from_sorted(values))
        again.update(values[0])
        assert again.n == 2 * n + 1


def test_json_round_trip_and_files(tmp_path: Path):
    df = pl.DataFrame(
        {
            "x": [1.5, None, 3.0, math.inf],
            "s": ["a", "bb", None, "a"],
            "b": [True, False, None, True],
            "t": [datetime(2024, 1, 1) + timedelta(hours=h) for h in range(4)],
            "d": [date(1969, 12, 31), None, date(1970, 1, 2), date(1970, 1, 1)],
        }
    )
    prof = profile(df)
    text = prof.to_json()
    assert prof.digest and prof.digest.startswith("blake3:")
    back = Profile.from_json(text)
    assert back == prof
    assert json.loads(text)["format"] == FORMAT
    path = prof.save(tmp_path / "sub" / "p.json")
    assert Profile.load(path) == prof
    t = back.columns["t"]
    epoch_us = (datetime(2024, 1, 1) - datetime(1970, 1, 1)) / timedelta(microseconds=1)
    assert (t.kind, t.min, t.max) == ("datetime", epoch_us, epoch_us + 3 * 3600e6)
    d = back.columns["d"]
    assert (d.kind, d.dtype, d.min, d.max, d.nulls) == ("datetime", "Date", -86_400e6, 86_400e6, 1)
    assert d.quantiles([0.0, 1.0]) == [-86_400e6, 86_400e6] and d.mean is None
    assert back.columns["b"].frequent_items() == {"true": 2, "false": 1}
    assert back.columns["s"].frequent_items() == {"a": 2, "bb": 1}
    assert (back.columns["s"].str_len_min, back.columns["s"].str_len_max, back.columns["s"].str_len_sum) == (1, 2, 4)


@pytest.mark.parametrize(
    ("content", "found"),
    [
        ({"format": "mlgate.profile/0", "rows": 1, "columns": []}, "mlgate.profile/0"),
        ([1, 2, 3], "none"),
        ({"format": FORMAT, "rows": 1, "columns": [{"bogus": 1}]}, FORMAT),
    ],
)
def test_incompatible_profile_file(tmp_path: Path, content, found: str):
    path = tmp_path / "old.json"
    path.write_text(json.dumps(content))
    message = rf"profile file {path} was written by an incompatible version \(format {found}.*mlgate data profile"
    with pytest.raises(InputError, match=message):
        Profile.load(path)


def test_not_json_is_refused():
    with pytest.raises(InputError, match="incompatible version"):
        Profile.from_json("not json at all")


def test_empty_dataset(tmp_path: Path):
    path = tmp_path / "empty.parquet"
    pl.DataFrame({"a": []}, schema={"a": pl.Int64}).write_parquet(path)
    with pytest.raises(InputError, match=rf"dataset {path} is empty"):
        profile(path)
    with pytest.raises(InputError, match="is empty"):
        profile(pl.DataFrame({"a": []}, schema={"a": pl.Int64}))
    assert profile(path, allow_empty=True).columns["a"].quantiles([0.5]) is None


def test_all_null_columns(tmp_path: Path):
    df = pl.DataFrame({"f": [None, None, None], "z": [None, None, None]}, schema={"f": pl.Float64, "z": pl.Null})
    prof = profile(df)
    f, z = prof.columns["f"], prof.columns["z"]
    assert (f.kind, f.nulls, f.min, f.max, f.mean, f.m2, f.std, f.histogram) == ("numeric", 3, *[None] * 6)
    assert f.quantiles([0.5]) is None and f.distinct() == 0
    assert (z.kind, z.dtype, z.nulls, z.min, z.kll, z.hll) == ("other", "Null", 3, None, None, None)
    # a part read as all-null (dtype Null) merges with a typed part
    typed = profile(pl.DataFrame({"f": [1.0], "z": [2.0]}))
    merged = prof.merge(typed)
    assert (merged.columns["z"].kind, merged.columns["z"].count, merged.columns["z"].min) == ("numeric", 4, 2.0)
    csv = tmp_path / "nulls.csv"
    csv.write_text("a,b\n1,\n2,\n")
    b = profile(csv).columns["b"]
    assert (b.kind, b.dtype, b.nulls, b.min, b.frequent_items()) == ("categorical", "String", 2, None, {})


def test_mixed_csv_column_is_profiled_as_text(tmp_path: Path):
    path = tmp_path / "mixed.csv"
    path.write_text("v\n1\n2\nx\n")
    col = profile(path).columns["v"]
    assert (col.kind, col.dtype) == ("categorical", "String")
    assert col.frequent_items() == {"1": 1, "2": 1, "x": 1}


def test_non_utf8_csv(tmp_path: Path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,v\ncafé,1\n".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        profile(path)


def test_merge_refuses_different_columns():
    a = profile(pl.DataFrame({"x": [1.0], "y": ["a"]}))
    with pytest.raises(InputError, match=r"column 'y' is categorical \(String\) in one profile and numeric"):
        a.merge(profile(pl.DataFrame({"x": [1.0], "y": [2]})))
    with pytest.raises(InputError, match="column 'y' is in only one of the profiles"):
        a.merge(profile(pl.DataFrame({"x": [2.0]})))
    with pytest.raises(UsageError, match="no profiles to merge"):
        merge_all([])


def test_int_and_float_parts_merge_as_float():
    merged = profile(pl.DataFrame({"x": [1, 2]})).merge(profile(pl.DataFrame({"x": [3.5]})))
    col = merged.columns["x"]
    expected = (pytest.approx(np.mean([1, 2, 3.5])), pytest.approx(np.var([1, 2, 3.5], ddof=1)))
    assert (col.dtype, col.count, col.mean, col.variance) == ("Float64", 3, *expected)


def test_columns_engine_and_usage_errors():
    df = pl.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [0.5, 0.25]})
    assert list(profile(df, columns=["c", "a"]).columns) == ["c", "a"]
    with pytest.raises(InputError, match="column 'nope' is not in the data"):
        profile(df, columns=["nope"])
    with pytest.raises(UsageError, match="unknown engine 'spark'"):
        profile(df, engine="spark")
    with pytest.raises(UsageError, match="batch_rows must be at least 1"):
        profile(df, batch_rows=0)


def test_column_profile_properties():
    col = ColumnProfile("a", "Float64", "numeric", count=10, nulls=2, nan=1, inf=1, mean=2.0, m2=12.0)
    assert (col.valid, col.finite, col.variance, col.std) == (7, 6, 2.4, math.sqrt(2.4))
    assert (col.quantile_sketch(), col.frequent_items(), col.distinct(), col.quantiles([0.5])) == (None,) * 4


def test_folder_of_parts_is_one_dataset(tmp_path: Path):
    folder = tmp_path / "parts"
    folder.mkdir()
    for i in range(3):
        pl.DataFrame({"x": [float(i), i + 0.5], "s": [f"p{i}", "z"]}).write_parquet(folder / f"{i}.parquet")
    prof = profile(folder)
    x, s = prof.columns["x"], prof.columns["s"]
    assert (prof.rows, prof.source, x.min, x.max, x.mean) == (6, str(folder), 0.0, 2.5, 1.25)
    assert s.frequent_items() == {"z": 3, "p0": 1, "p1": 1, "p2": 1} and s.distinct() == pytest.approx(4)
