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
    ages = df["age"].to_numpy()
    assert cols["id"] == ColumnSchema("id", "Int64", nullable=False, range=Range(0, 199), slack=0.1, unique=True)
    assert cols["age"].range == Range(int(ages.min()), int(ages.max())) and not cols["age"].unique
    income = df["income"].to_numpy()
    assert cols["income"].nullable and cols["income"].max_null_fraction == pytest.approx(0.0385)  # 7/200 × 1.1
    assert cols["income"].range == Range(float(np.nanmin(income)), float(np.nanmax(income)))
    assert cols["plan"].categories == ("basic", "pro", "team") and not cols["plan"].unique
    assert cols["email"].unique and cols["email"].categories is None
    assert cols["label"].categories == (0, 1)  # a classification target keeps its classes
    assert (schema.rows_min, schema.rows_max, schema.target) == (100, None, "label")
    assert validate(df, schema).ok


def test_breast_cancer_schema_round_trips_through_yaml(breast_cancer) -> None:  # type: ignore[no-untyped-def]
    X, y = breast_cancer
    frame = X.assign(target=y)
    schema = infer_schema(frame, target="target")
    assert len(schema.columns) == 31 and schema.rows_min == 284
    radius = schema.columns["mean radius"]
    assert (radius.dtype, radius.nullable) == ("Float64", False)
    assert radius.range == Range(float(X["mean radius"].min()), float(X["mean radius"].max()))
    assert schema.columns["target"].categories == (0, 1)
    path = schema.save("mlgate.schema.yaml")
    loaded = Schema.load(path)
    assert loaded == schema and loaded.source == "mlgate.schema.yaml"
    assert validate(frame, loaded).ok


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
