"""Schema inference and the schema file: round trips, inference rules, bad input, malformed files."""

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
from mlgate.errors import ConfigError, InputError, NotFoundError, UsageError


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


BASE = """\
format: mlgate.schema/1
rows: {min: 100, max: null}
columns:
  age:    {dtype: Int64, nullable: false, range: {min: 18, max: 95}, slack: 0.1}
  income: {dtype: Float64, max_null_fraction: 0.02, range: {min: 0.0, max: 2.5e5}}
  plan:   {dtype: String, categories: [basic, pro, team], max_unseen_fraction: 0.0}
  email:  {dtype: String, pattern: '^[^@]+@[^@]+$'}
  id:     {dtype: Int64, unique: true}
"""


def test_the_documented_example_loads() -> None:
    Path("mlgate.schema.yaml").write_text(BASE)
    schema = Schema.load("mlgate.schema.yaml")
    assert schema.columns["income"].range == Range(0.0, 250000.0)  # PyYAML reads 2.5e5 as text
    assert schema.columns["age"].range.bounds(0.1) == pytest.approx((10.3, 102.7))
    assert schema.columns["plan"].max_unseen_fraction == 0.0
    assert (schema.rows_min, schema.rows_max) == (100, None)
    again = Schema.from_dict(yaml.safe_load(schema.to_yaml()))
    assert again == schema


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        (
            "range: {min: 18,",
            "range: {min: eighteen,",
            r"^mlgate\.schema\.yaml:4: columns\.age\.range\.min must be a number, got 'eighteen'$",
        ),
        (
            "range: {min: 18,",
            "rnage: {min: 18,",
            r":4: columns\.age\.rnage is not a known key \(did you mean 'range'\?\)",
        ),
        ("slack: 0.1}", "slak: 0.1}", r"known keys here: dtype, nullable, max_null_fraction, range, slack"),
        ("mlgate.schema/1", "mlgate.schema/2", r":1: format 'mlgate\.schema/2' is not supported: this mlgate reads"),
        ("format: mlgate.schema/1", "format: great-expectations", r":1: format must be 'mlgate\.schema/1'"),
        ("format: mlgate.schema/1\n", "", r"mlgate\.schema\.yaml: format is missing"),
        (
            "dtype: Int64, nullable",
            "dtype: Integer, nullable",
            r":4: columns\.age\.dtype 'Integer' is not a known dtype",
        ),
        ("nullable: false", "nullable: nope", r":4: columns\.age\.nullable must be true or false, got 'nope'"),
        (
            "max_null_fraction: 0.02",
            "max_null_fraction: 2",
            r":5: columns\.income\.max_null_fraction must be a fraction",
        ),
        (
            "[basic, pro, team]",
            "[basic, yes, team]",
            r":6: columns\.plan\.categories\[1\] is read by YAML as the boolean",
        ),
        ("'^[^@]+@[^@]+$'", "'^[^@+@'", r":7: columns\.email\.pattern '\^\[\^@\+@' is not a valid regular expression"),
        ("{dtype: String, pattern", "{dtype: Int64, pattern", r":7: columns\.email\.pattern applies to text"),
        (
            "{dtype: Int64, unique: true}",
            "{dtype: String, range: {min: 1}}",
            r":8: columns\.id\.range applies to numbers",
        ),
        (
            "{min: 18, max: 95}, slack",
            "{min: 18}, slack",
            r":4: columns\.age\.slack needs a range with both min and max",
        ),
        ("{min: 18, max: 95}", "{min: 95, max: 18}", r":4: columns\.age\.range\.max \(18\) is below range\.min \(95\)"),
        ("rows: {min: 100, max: null}", "rows: {min: -1}", r":2: rows\.min must be at least 0, got -1"),
        ("rows: {min: 100, max: null}", "rows: {min: 10.5}", r":2: rows\.min must be a whole number of rows"),
        ("  id:", "  yes:", r":8: columns\.yes is read by YAML as True, not as a column name"),
        (
            "  id:     {dtype: Int64, unique: true}\n",
            "  id: [1, 2]\n",
            r":8: columns\.id must be a mapping, got a list",
        ),
        ("columns:", "colums:", r":3: colums is not a known key \(did you mean 'columns'\?\)"),
        (
            "plan:   {dtype",
            "plan:   {dtype: String\n  x: {dtype",
            r"mlgate\.schema\.yaml:7:4: invalid YAML: expected ',' or '}'",
        ),
        ("max_unseen_fraction: 0.0}", "max_unseen_fraction: 0.0}\n  other: {max_unseen_fraction: 0.1}", r":7: .*needs"),
    ],
)
def test_malformed_schema_names_line_and_key(old: str, new: str, match: str) -> None:
    assert old in BASE
    Path("mlgate.schema.yaml").write_text(BASE.replace(old, new, 1))
    with pytest.raises(ConfigError, match=match):
        Schema.load("mlgate.schema.yaml")


def test_schema_file_problems(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"schema file nope\.yaml does not exist[\s\S]*schema infer"):
        Schema.load("nope.yaml")
    Path("empty.yaml").write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match=r"empty\.yaml: the schema file is empty"):
        Schema.load("empty.yaml")
    Path("latin.yaml").write_bytes("format: mlgate.schema/1\ncolumns: {café: {}}\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin\.yaml: not UTF-8 text"):
        Schema.load("latin.yaml")
    Path("list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match=r"list\.yaml:1: the top level must be a mapping"):
        Schema.load("list.yaml")


def test_string_categories_written_as_numbers_become_text() -> None:
    data = {"format": "mlgate.schema/1", "columns": {"zip": {"dtype": "String", "categories": [1010, "02139"]}}}
    assert Schema.from_dict(data).columns["zip"].categories == ("1010", "02139")


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
