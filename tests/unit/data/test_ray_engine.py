"""The Ray engine gives the local engine's profile: exact fields equal, sketches within their bounds."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mlgate.data.profile import Profile, profile
from mlgate.data.ray_engine import _ranges, profile_ray
from mlgate.errors import InputError, MissingDependency, UsageError

EXACT = ("dtype", "kind", "count", "nulls", "nan", "inf", "min", "max", "str_len_min", "str_len_max", "str_len_sum")


def _frame(rows: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(10.0, 3.0, rows)
    x[rng.random(rows) < 0.02] = np.nan
    x[:3] = [np.inf, -np.inf, -0.0]
    return pl.DataFrame(
        {
            "x": x,
            "n": rng.integers(-500, 5000, rows),
            "maybe": pl.Series(np.where(rng.random(rows) < 0.1, np.nan, rng.exponential(2.0, rows))).fill_nan(None),
            "city": rng.choice(["Lisbon", "Porto", "Faro", "Braga", ""], rows, p=[0.4, 0.3, 0.15, 0.1, 0.05]),
            "flag": rng.random(rows) < 0.3,
            "day": pl.date_range(pl.date(2020, 1, 1), pl.date(2030, 1, 1), eager=True).sample(
                rows, with_replacement=True, seed=seed
            ),
        }
    ).with_columns(pl.when(pl.col("city") == "Faro").then(None).otherwise(pl.col("city")).alias("city"))


def _assert_same(local: Profile, ray_profile: Profile, values: pl.DataFrame) -> None:
    assert ray_profile.rows == local.rows
    assert ray_profile.source == local.source
    assert list(ray_profile.columns) == list(local.columns)
    for name, a in local.columns.items():
        b = ray_profile.columns[name]
        assert [getattr(b, f) for f in EXACT] == [getattr(a, f) for f in EXACT], name
        for f in ("mean", "m2"):
            expected = getattr(a, f)
            assert (getattr(b, f) is None) == (expected is None), (name, f)
            if expected is not None:
                assert getattr(b, f) == pytest.approx(expected, rel=1e-9, abs=1e-9), (name, f)
        if a.kll is not None:
            _assert_quantiles(b, values[name])
        if a.frequent is not None:
            _assert_frequent(a, b, values[name])
        if a.hll is not None:  # DataSketches' HLL ignores the empty string
            present = values[name].drop_nulls()
            truth = (present.filter(present != "") if present.dtype == pl.String else present).n_unique()
            assert b.distinct() == pytest.approx(truth, rel=0.03), name


def _assert_frequent(a: object, b: object, series: pl.Series) -> None:
    """Few distinct values: the sketches are exact and equal; many: every true count within the bounds."""
    import datasketches as ds

    truth = dict(series.drop_nulls().cast(pl.String).value_counts().iter_rows())
    if len(truth) <= 100:
        assert b.frequent_items() == a.frequent_items() == truth, series.name  # type: ignore[attr-defined]
        return
    sketch = ds.frequent_strings_sketch.deserialize(b.frequent)  # type: ignore[attr-defined]
    rows = sketch.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_NEGATIVES)
    assert rows, series.name
    for item, _est, low, high in rows:
        assert low <= truth[item] <= high, (series.name, item)


def _assert_quantiles(col: object, series: pl.Series) -> None:
    """Every quantile the merged sketch gives has a true rank within the sketch's normalized rank error."""
    sketch = col.quantile_sketch()  # type: ignore[attr-defined]
    if series.dtype.is_temporal():  # profiled as epoch microseconds
        series = series.cast(pl.Datetime("us")).dt.epoch("us")
    finite = series.cast(pl.Float64).to_numpy()
    finite = np.sort(finite[np.isfinite(finite)])
    assert sketch.n == len(finite)
    eps = sketch.normalized_rank_error(False)
    qs = np.linspace(0.01, 0.99, 25)
    for q, v in zip(qs, sketch.get_quantiles(qs.tolist()), strict=True):
        low = np.searchsorted(finite, v, side="left") / len(finite)
        high = np.searchsorted(finite, v, side="right") / len(finite)
        assert low - eps <= q <= high + eps, (series.name, q, v)


def test_folder_of_parquet_files_matches_local(ray_local: object, tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    frames = [_frame(15_000, seed) for seed in range(4)]
    for i, frame in enumerate(frames):
        frame.write_parquet(folder / f"part-{i}.parquet")
    values = pl.concat(frames)
    _assert_same(profile(folder), profile(folder, engine="ray"), values)
    subset = profile(folder, engine="ray", columns=["city", "x"])
    assert list(subset.columns) == ["city", "x"]
    assert subset.columns["x"].mean == pytest.approx(profile(folder).columns["x"].mean, rel=1e-12)


def test_single_csv_is_split_into_row_ranges(ray_local: object) -> None:
    values = _frame(40_000, 7).with_columns(pl.col("day").cast(pl.String))
    path = Path("one.csv")  # relative to this test's folder, which the workers do not share
    values.write_csv(path)
    local = profile(path)
    for parts in (1, 3):
        _assert_same(local, profile_ray(path, partitions=parts, batch_rows=9_000), pl.read_csv(path))


def test_in_memory_frame_and_a_file_with_other_inferred_types(ray_local: object, tmp_path: Path) -> None:
    values = _frame(12_000, 3)
    _assert_same(profile(values), profile_ray(values, partitions=4), values)
    # one CSV file has only integers and an all-empty column: every file is read with the dataset's types
    folder = tmp_path / "csv"
    folder.mkdir()
    pl.DataFrame({"v": [0.5, 1.5, 2.5], "e": ["a", None, "b"]}).write_csv(folder / "a.csv")
    pl.DataFrame({"v": [1, 2, 3], "e": [None, None, None]}, schema={"v": pl.Int64, "e": pl.Null}).write_csv(
        folder / "b.csv"
    )
    local, remote = profile(folder), profile(folder, engine="ray")
    sketches = ("kll", "frequent", "hll")
    for name, a in local.columns.items():
        b = remote.columns[name]
        assert {k: v for k, v in b.to_dict().items() if k not in sketches} == {
            k: v for k, v in a.to_dict().items() if k not in sketches
        }
        assert (b.quantiles([0.0, 0.5, 1.0]), b.frequent_items(), b.distinct()) == (
            a.quantiles([0.0, 0.5, 1.0]),
            a.frequent_items(),
            a.distinct(),
        )  # six values: the sketches are exact
    assert [remote.columns[c].dtype for c in ("v", "e")] == ["Float64", "String"]
    assert remote.columns["v"].mean == pytest.approx(local.columns["v"].mean, rel=1e-12)


def test_errors_reach_the_caller(ray_local: object, tmp_path: Path) -> None:
    empty = pl.DataFrame({"a": pl.Series([], dtype=pl.Float64)})
    with pytest.raises(InputError, match=r"dataset \(the given data\) is empty"):
        profile(empty, engine="ray")
    assert profile_ray(empty, allow_empty=True).rows == 0
    with pytest.raises(InputError, match="column 'nope' is not in the data"):
        profile(empty, engine="ray", columns=["nope"])
    with pytest.raises(UsageError, match="partitions must be at least 1"):
        profile_ray(empty, partitions=0)
    folder = tmp_path / "bad"
    folder.mkdir()
    pl.DataFrame({"v": [1, 2]}).write_parquet(folder / "a.parquet")
    pl.DataFrame({"v": ["x", "y"]}).write_parquet(folder / "b.parquet")
    with pytest.raises(InputError, match=r"data file \S*b\.parquet: cannot read the data: column .v. is String here"):
        profile(folder, engine="ray")


def test_worker_errors_and_empty_files(ray_local: object, tmp_path: Path) -> None:
    folder = tmp_path / "latin"
    folder.mkdir()
    (folder / "a.csv").write_text("name,v\nLisbon,1\n", encoding="utf-8")
    (folder / "b.csv").write_bytes("name,v\nCoimbra,2\nSão Tomé,3\n".encode("latin-1"))
    # raised by Polars in a Ray Data worker, and handed back as the InputError it became there
    with pytest.raises(InputError, match=r"data file \S*b\.csv: data is not valid UTF-8"):
        profile(folder, engine="ray")
    empty = tmp_path / "empty.parquet"
    pl.DataFrame({"a": pl.Series([], dtype=pl.Int64), "s": pl.Series([], dtype=pl.String)}).write_parquet(empty)
    none = profile_ray(empty, allow_empty=True)
    assert none.rows == 0 and {n: c.dtype for n, c in none.columns.items()} == {"a": "Int64", "s": "String"}
    with pytest.raises(InputError, match=r"dataset \S*empty\.parquet is empty"):
        profile(empty, engine="ray")


def test_ray_data_settings_are_restored(ray_local: object) -> None:
    import logging

    import ray.data

    logger = logging.getLogger("ray.data")
    logger.setLevel(logging.INFO)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = True
    frame = pl.DataFrame({"x": [1.0, 2.0, 3.0]})
    assert profile_ray(frame).columns["x"].mean == 2.0
    assert (logger.level, context.enable_progress_bars) == (logging.INFO, True)


def test_single_ipc_file_in_row_ranges(ray_local: object) -> None:
    values = _frame(20_000, 11)
    values.write_ipc("one.arrow")
    _assert_same(profile("one.arrow"), profile_ray("one.arrow", partitions=3, batch_rows=4_000), values)


def test_ranges_cover_every_row_once() -> None:
    assert _ranges(0, 4) == [(0, 0)]
    assert _ranges(3, 8) == [(0, 1), (1, 1), (2, 1)]
    assert _ranges(10, 3) == [(0, 4), (4, 3), (7, 3)]


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(MissingDependency, match="profiling with --engine ray needs the Python package 'ray'"):
        profile(pl.DataFrame({"a": [1.0]}), engine="ray")


def test_cli_profiles_on_ray(ray_local, tmp_path, capsys, monkeypatch):
    """``mlgate data profile --engine ray`` gives the rows and columns of the local engine."""
    import json

    from mlgate.cli import main

    frame = pl.DataFrame({"x": list(range(1000)), "s": ["a", "b"] * 500})
    frame.write_parquet(tmp_path / "d.parquet")
    assert main(["data", "profile", str(tmp_path / "d.parquet"), "--engine", "ray", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == 1000 and [c["name"] for c in out["columns"]] == ["x", "s"]
