"""Schema inference: the rules inferred per column, bad input, and the same schema whatever the batch size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgate.data.schema import ColumnSchema, Range, Schema, infer_schema
from mlgate.data.validate import validate
from mlgate.errors import InputError, NotFoundError, UsageError


def synthetic(n: int = 200, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(5e4, 1e4, n)
    income[rng.choice(n, 7, replace=False)] = np.nan  # NaN counts as missing
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "age": rng.integers(18, 96, n),
            "income": income,
            "plan": rng.choice(["basic", "pro", "team"], n),
            "email": [f"user{i}@example.org" for i in range(n)],
            "label": rng.integers(0, 2, n),
        }
    )


def test_infer_synthetic_frame() -> None:
    df = synthetic()
    schema = infer_schema(df, slack=0.1, target="label")
    cols = schema.columns
    ages = np.sort(df["age"].to_numpy())
    # the data has missing values (income), so no column is declared never-missing: its bound is statistical
    assert cols["id"].unique and cols["id"].max_null_fraction == pytest.approx(0.0374)  # (1 − 0.001^(1/200)) × 1.1
    assert cols["id"].range == Range(0, 199 + 10 * 9) and cols["id"].slack == 0.1  # 10 × the top-10 spread
    top, bottom = ages[-1] - ages[-10], ages[9] - ages[0]
    assert cols["age"].range == Range(max(0, int(ages[0] - 10 * bottom)), int(ages[-1] + 10 * top))
    assert not cols["age"].unique
    income = df["income"].to_numpy()
    assert cols["income"].nullable and cols["income"].max_null_fraction == pytest.approx(0.1046)  # upper bound × 1.1
    assert cols["income"].range.min < np.nanmin(income) and cols["income"].range.max > np.nanmax(income)  # type: ignore[union-attr]
    assert cols["plan"].categories == ("basic", "pro", "team") and not cols["plan"].unique
    assert cols["plan"].max_unseen_fraction is None  # each plan seen often: a closed set
    assert cols["email"].unique and cols["email"].categories is None
    assert cols["label"].categories == (0, 1)  # a classification target keeps its classes
    assert (schema.rows_min, schema.rows_max, schema.target, schema.alpha) == (None, None, "label", 0.001)
    assert validate(df, schema).ok


def test_a_column_without_missing_values_in_data_without_any_is_never_missing() -> None:
    df = synthetic().drop("income")
    assert all(not col.nullable for col in infer_schema(df).columns.values())


def test_breast_cancer_schema_round_trips_through_yaml(breast_cancer) -> None:  # type: ignore[no-untyped-def]
    X, y = breast_cancer
    frame = X.assign(target=y)
    schema = infer_schema(frame, target="target")
    assert len(schema.columns) == 31 and schema.rows_min is None
    radius = schema.columns["mean radius"]
    assert (radius.dtype, radius.nullable) == ("Float64", False)
    top = np.sort(X["mean radius"].to_numpy())[::-1][:10]
    assert radius.range == Range(0.0, 76.6)  # no sign change; 28.11 + 10 × (28.11 − 23.27), rounded up
    assert radius.range.max >= top[0] + 10 * (top[0] - top[9])  # type: ignore[union-attr]
    assert schema.columns["target"].categories == (0, 1)
    path = schema.save("mlgate.schema.yaml")
    loaded = Schema.load(path)
    assert loaded == schema and loaded.source == "mlgate.schema.yaml" and loaded.alpha == 0.001
    assert validate(frame, loaded).ok


def test_rare_categories_leave_the_set_open_by_a_bounded_unseen_share() -> None:
    common = ["a"] * 60 + ["b"] * 60
    closed = infer_schema(pl.DataFrame({"c": common + ["c"] * 5}))
    assert closed.columns["c"].categories == ("a", "b", "c") and closed.columns["c"].max_unseen_fraction is None
    rare = infer_schema(pl.DataFrame({"c": [*common, "c", "d", "e"]})).columns["c"]
    assert rare.categories == ("a", "b", "c", "d", "e")
    assert rare.max_unseen_fraction == pytest.approx(0.102, abs=1e-4)  # upper bound of 3 singletons in 123
    new = pl.DataFrame({"c": common[:45] + ["f"] * 6})
    assert validate(new, Schema({"c": rare})).ok is False  # no alpha: plainly above the share fails
    assert validate(new, Schema({"c": rare}, alpha=0.001)).ok  # 6 in 51 is no evidence against 10.2 %


def test_a_constant_column_gets_no_range_and_a_floor_or_cap_keeps_its_bound() -> None:
    df = pl.DataFrame({"zero": [0] * 40, "pixel": [0] * 30 + [16] * 10, "x": list(range(40))})
    cols = infer_schema(df).columns
    assert cols["zero"].range is None
    assert cols["pixel"].range == Range(0, 16)  # ten values tie at each extreme: no margin
    assert cols["x"].range == Range(0, 39 + 90)


@pytest.mark.parametrize(("rows", "unique"), [(19, False), (20, True)])
def test_unique_needs_twenty_rows(rows: int, unique: bool) -> None:
    schema = infer_schema(pl.DataFrame({"k": list(range(rows)), "s": [f"v{i}" for i in range(rows)]}))
    assert schema.columns["k"].unique is unique and schema.columns["s"].unique is unique


def test_categories_stop_at_max_categories() -> None:
    df = pl.DataFrame({"c": ["a", "b", "c", "a"] * 10})
    assert infer_schema(df, max_categories=3).columns["c"].categories == ("a", "b", "c")
    assert infer_schema(df, max_categories=2).columns["c"].categories is None


def test_all_null_column_gets_no_dtype(tmp_path: Path) -> None:
    csv = tmp_path / "n.csv"
    csv.write_text("a,b\n1,\n2,\n")
    for data in (csv, pl.DataFrame({"a": [1, 2], "b": [None, None]})):
        col = infer_schema(data).columns["b"]
        assert col == ColumnSchema("b", dtype=None, nullable=True, max_null_fraction=1.0)
        assert validate(data, infer_schema(data)).ok


@pytest.mark.parametrize(
    ("content", "suffix", "error", "match"),
    [
        (None, ".csv", NotFoundError, r"data file .*missing\.csv does not exist"),
        (b"x", ".xlsx", UsageError, r"cannot tell the format of .*\.xlsx"),
        (b"", ".csv", InputError, r"data file .* is empty"),
        (b"a,b\n", ".csv", InputError, r"d\.csv has no rows"),
        ("name,city\nJosé,Zürich\n".encode("latin-1"), ".csv", InputError, r"d\.csv: data is not valid UTF-8"),
        (b"PAR1 this is not parquet", ".parquet", InputError, r"d\.parquet: cannot read the data"),
    ],
)
def test_infer_bad_input(tmp_path: Path, content: bytes | None, suffix: str, error: type, match: str) -> None:
    path = tmp_path / ("missing" + suffix if content is None else "d" + suffix)
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error, match=match):
        infer_schema(path)


def test_infer_rejects_unknown_target_and_empty_frames() -> None:
    with pytest.raises(InputError, match=r"target column 'y' is not in the data"):
        infer_schema(pl.DataFrame({"a": [1]}), target="y")
    with pytest.raises(InputError, match=r"has no rows"):
        infer_schema(pl.DataFrame({"a": []}, schema={"a": pl.Int64}))
    with pytest.raises(InputError, match=r"has no columns"):
        infer_schema(pl.DataFrame())


def test_late_mixed_csv_value_is_explained(tmp_path: Path) -> None:
    lines = ["a"] + [str(i) for i in range(10_500)]
    lines[10_300] = "oops"
    (tmp_path / "late.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"could not parse `oops`[\s\S]*first 10,000 rows"):
        infer_schema(tmp_path / "late.csv")


frames = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "i": st.lists(st.one_of(st.none(), st.integers(-(2**40), 2**40)), min_size=n, max_size=n),
            "f": st.lists(
                st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=False, width=64)), min_size=n, max_size=n
            ),
            "s": st.lists(st.one_of(st.none(), st.text("ab|@ ", max_size=3)), min_size=n, max_size=n),
            "b": st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n),
        }
    )
)


@settings(max_examples=60, deadline=None)
@given(data=frames, slack=st.sampled_from([0.0, 0.1, 0.5]))
def test_data_passes_the_schema_inferred_from_it(data: dict[str, list[object]], slack: float) -> None:
    df = pl.DataFrame(data, schema={"i": pl.Int64, "f": pl.Float64, "s": pl.String, "b": pl.Boolean})
    schema = infer_schema(df, slack=slack, max_categories=5)
    reloaded = Schema.from_dict(yaml.safe_load(schema.to_yaml()))
    assert reloaded == schema
    report = validate(df, reloaded)
    assert report.ok, report.violations


@settings(max_examples=40, deadline=None)
@given(data=frames, batch_rows=st.integers(min_value=1, max_value=9), max_categories=st.integers(1, 6))
def test_the_schema_does_not_depend_on_the_batch_size(
    data: dict[str, list[object]], batch_rows: int, max_categories: int
) -> None:
    df = pl.DataFrame(data, schema={"i": pl.Int64, "f": pl.Float64, "s": pl.String, "b": pl.Boolean})
    whole = infer_schema(df, max_categories=max_categories, target="i", batch_rows=10_000)
    assert infer_schema(df, max_categories=max_categories, target="i", batch_rows=batch_rows) == whole


def test_values_repeated_only_across_batches_are_not_unique() -> None:
    df = pl.DataFrame({"k": list(range(30)) * 2, "s": [f"v{i}" for i in range(30)] * 2, "id": range(60)})
    schema = infer_schema(df, max_categories=10, batch_rows=30)  # each batch alone is all distinct
    assert not schema.columns["k"].unique and not schema.columns["s"].unique
    assert schema.columns["s"].categories is None  # 30 values, more than max_categories
    assert schema.columns["id"].unique


def test_parquet_and_csv_files_stream_to_the_frames_schema(tmp_path: Path) -> None:
    df = synthetic(n=2_000).with_columns(pl.col("income").fill_nan(None))  # CSV cannot hold NaN as a float
    expected = infer_schema(df, slack=0.1, target="label")
    df.write_parquet(tmp_path / "d.parquet", row_group_size=300)
    df.write_csv(tmp_path / "d.csv")
    for name in ("d.parquet", "d.csv"):
        assert infer_schema(tmp_path / name, slack=0.1, target="label", batch_rows=256) == expected, name


def test_batch_rows_must_be_positive() -> None:
    with pytest.raises(UsageError, match="batch_rows must be at least 1, not 0"):
        infer_schema(pl.DataFrame({"a": [1]}), batch_rows=0)


def test_distinct_values_are_let_go_once_they_cannot_become_a_rule() -> None:
    from mlgate.data.schema.infer import _Distinct

    cycling = _Distinct(wants_values=True, max_categories=3)
    for start in range(0, 40, 4):  # batches of 4 distinct values out of 10, repeating across batches only
        cycling.add(pl.Series([(start + j) % 10 for j in range(4)]), 4)
    assert cycling.dropped and cycling.parts == [] and cycling.finish() == (None, None)
    ids = _Distinct(wants_values=False, max_categories=3)
    for start in range(0, 400, 4):
        ids.add(pl.Series(range(start, start + 4)), 4)
    count, values = ids.finish()
    assert count == 400 and sorted(values.to_list()) == list(range(400))
