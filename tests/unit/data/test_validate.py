"""Validation: every violation at once, exact counts and example rows, on real and synthetic data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgate.data.profile import Profile, profile
from mlgate.data.schema import ColumnSchema, Range, Schema, infer_schema
from mlgate.data.validate import Example, profile_and_validate, validate
from mlgate.errors import InputError, NotFoundError

SCHEMA = """\
format: mlgate.schema/1
rows: {min: 100, max: null}
columns:
  age:     {dtype: Int64, nullable: false, range: {min: 18, max: 95}, slack: 0.1}
  income:  {dtype: Float64, max_null_fraction: 0.02, range: {min: 0.0, max: 2.5e5}}
  plan:    {dtype: String, categories: [basic, pro, team], max_unseen_fraction: 0.0}
  email:   {dtype: String, pattern: '^[^@]+@[^@]+$'}
  id:      {dtype: Int64, unique: true}
  country: {dtype: String}
"""


def clean(n: int = 1000, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "age": rng.integers(18, 96, n),
            "income": rng.uniform(0, 2.5e5, n),
            "plan": rng.choice(["basic", "pro", "team"], n),
            "email": [f"user{i}@example.org" for i in range(n)],
        }
    )


def put(df: pl.DataFrame, column: str, rows: list[int], value: object) -> pl.DataFrame:
    where = pl.int_range(pl.len()).is_in(rows)
    return df.with_columns(pl.when(where).then(pl.lit(value)).otherwise(pl.col(column)).alias(column))


@pytest.fixture
def schema() -> Schema:
    Path("mlgate.schema.yaml").write_text(SCHEMA)
    return Schema.load("mlgate.schema.yaml")


def found(report) -> dict[tuple[str | None, str], tuple[int | None, list[tuple[int, object]]]]:  # type: ignore[no-untyped-def]
    return {(v.column, v.rule): (v.rows, [(e.row, e.value) for e in v.examples]) for v in report.violations}


def test_every_violation_is_reported_at_once(schema: Schema) -> None:
    df = clean()
    df = put(df, "age", [3, 50, 999], 150)  # above 95 + 0.1 × 77 = 102.7
    df = put(df, "age", [10], 5)  # below 18 − 7.7 = 10.3
    df = put(df, "age", [20], 100)  # inside the slack: fine
    df = put(df, "age", [7], None)
    df = put(df, "income", list(range(100, 125)), None)  # 2.5 % missing > 2 %
    df = put(df, "income", [5], -1.0)
    df = put(df, "income", [6], 3e5)
    df = put(df, "plan", [11], "gold")
    df = put(df, "plan", [12], "enterprise")
    df = put(df, "email", [30], "no-at-sign")
    df = put(df, "email", [31], "a@b@c")
    df = put(df, "id", [40, 41, 42], 0).with_columns(debug=pl.lit(1))
    report = validate(df, schema)
    assert not report.ok and (report.rows, report.columns) == (1000, 6)
    assert found(report) == {
        ("age", "nullable"): (1, [(7, None)]),
        ("age", "range_min"): (1, [(10, 5)]),
        ("age", "range_max"): (3, [(3, 150), (50, 150), (999, 150)]),
        ("income", "max_null_fraction"): (25, [(100, None), (101, None), (102, None), (103, None), (104, None)]),
        ("income", "range_min"): (1, [(5, -1.0)]),
        ("income", "range_max"): (1, [(6, 3e5)]),
        ("plan", "max_unseen_fraction"): (2, [(11, "gold"), (12, "enterprise")]),
        ("email", "pattern"): (2, [(30, "no-at-sign"), (31, "a@b@c")]),
        ("id", "unique"): (3, [(40, 0), (41, 0), (42, 0)]),
        ("country", "missing_column"): (None, []),
        ("debug", "extra_column"): (None, []),
    }
    by_rule = {(v.column, v.rule): v.message for v in report.violations}
    assert by_rule[("income", "max_null_fraction")] == "25 missing (2.5%), above max_null_fraction 2%"
    assert by_rule[("age", "range_max")] == "3 values above 102.7 (range widened by slack 0.1)"
    passed = {(c.column, c.rule) for c in report.checks if c.ok}
    assert passed == {(None, "rows_min")} | {(c, "dtype") for c in ("age", "income", "plan", "email", "id")}
    assert report.checks[0].column is None  # dataset-level checks come first


def test_a_clean_frame_passes(schema: Schema) -> None:
    report = validate(clean().with_columns(country=pl.lit("NZ")), schema)
    assert report.ok and report.violations == []
    assert len(report.checks) == 16 and all(c.ok for c in report.checks)
    assert "✅ passed" in report.to_markdown()


def test_breast_cancer_changes_are_found(breast_cancer) -> None:  # type: ignore[no-untyped-def]
    X, _ = breast_cancer
    schema = infer_schema(X)
    bad = X.copy()
    bad.loc[10, "mean radius"] = 100.0
    bad.loc[[0, 1, 2], "mean texture"] = np.nan
    bad.loc[568, "worst area"] = -1.0
    bad = bad.drop(columns=["worst symmetry"]).head(500)
    report = validate(bad, schema)
    assert found(report) == {
        ("mean radius", "range_max"): (1, [(10, 100.0)]),
        ("mean texture", "nullable"): (3, [(0, None), (1, None), (2, None)]),
        ("worst symmetry", "missing_column"): (None, []),
    }
    assert report.rows == 500  # row 568 was cut off by head(500), so worst area passes


def test_mixed_types_in_a_csv_column(tmp_path: Path) -> None:
    ages = [str(20 + i) for i in range(30)]
    ages[4], ages[17], ages[9] = "thirty", "n/a", "200"
    path = tmp_path / "people.csv"
    path.write_text("id,age\n" + "".join(f"{i},{a}\n" for i, a in enumerate(ages)))
    schema = Schema({"id": ColumnSchema("id", "Int64"), "age": ColumnSchema("age", "Int64", range=Range(18, 95))})
    report = validate(path, schema)
    assert found(report) == {
        ("age", "dtype"): (2, [(4, "thirty"), (17, "n/a")]),
        ("age", "range_max"): (1, [(9, "200")]),
    }
    assert report.violations[0].message == "is String, expected Int64: 2 values not parseable as Int64"
    assert report.row_note is not None and "header line excluded" in report.row_note
    assert "header line excluded" in report.to_dict()["row_numbers"]


def test_a_mixed_value_beyond_the_csv_type_guess_is_a_dtype_violation(tmp_path: Path) -> None:
    values = [str(i) for i in range(12_000)]
    values[11_000] = "x11"
    path = tmp_path / "late.csv"
    path.write_text("a,b\n" + "".join(f"{v},{i % 7}\n" for i, v in enumerate(values)))
    schema = infer_schema(pl.DataFrame({"a": range(12_000), "b": [i % 7 for i in range(12_000)]}))
    report = validate(path, schema)
    assert found(report) == {("a", "dtype"): (1, [(11_000, "x11")])}


def test_float_data_against_an_integer_schema() -> None:
    df = pl.DataFrame({"n": [1.0, 2.5, None, float("nan"), 4.0, float("inf")]})
    report = validate(df, Schema({"n": ColumnSchema("n", "Int64")}))
    assert found(report) == {("n", "dtype"): (2, [(1, 2.5), (5, float("inf"))])}
    widening = validate(pl.DataFrame({"x": [1, 2]}), Schema({"x": ColumnSchema("x", "Float64", range=Range(0, 1.5))}))
    assert found(widening) == {("x", "range_max"): (1, [(1, 2)])}  # integers meet a float schema


def test_numbers_stored_as_text_break_the_dtype_even_when_every_value_parses() -> None:
    schema = Schema({"n": ColumnSchema("n", "Int64", range=Range(0, 1))})
    report = validate(pl.DataFrame({"n": ["1", "2", None]}), schema)
    assert found(report) == {("n", "dtype"): (0, []), ("n", "range_max"): (1, [(1, "2")])}
    assert report.violations[0].message == "is String, expected Int64 (every value parses)"


def test_incompatible_dtype_counts_every_value_and_skips_value_rules() -> None:
    df = pl.DataFrame({"d": ["2024-01-01", None, "2024-02-30", "x"], "flag": [True, False, None, True]})
    schema = Schema(
        {
            "d": ColumnSchema("d", "Date"),
            "flag": ColumnSchema("flag", "Int64", range=Range(0, 0)),
        }
    )
    report = validate(df, schema)
    assert found(report) == {
        ("d", "dtype"): (2, [(2, "2024-02-30"), (3, "x")]),
        ("flag", "dtype"): (3, [(0, True), (1, False), (3, True)]),
    }
    assert report.violations[1].message == "is Boolean, expected Int64"


def test_all_null_column() -> None:
    df = pl.DataFrame({"a": [1, 2, 3], "b": [None, None, None]})
    schema = Schema({"a": ColumnSchema("a"), "b": ColumnSchema("b", "Int64", nullable=False, range=Range(0, 1))})
    assert found(validate(df, schema)) == {("b", "nullable"): (3, [(0, None), (1, None), (2, None)])}
    loose = Schema({"a": ColumnSchema("a"), "b": ColumnSchema("b", "Float64", max_null_fraction=0.5)})
    assert found(validate(df, loose))[("b", "max_null_fraction")][0] == 3


def test_empty_dataset_fails_only_the_row_bound(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("id,age\n")
    schema = Schema(
        {"id": ColumnSchema("id", unique=True), "age": ColumnSchema("age", nullable=False)}, rows_min=1, rows_max=5
    )
    report = validate(path, schema)
    assert [(v.column, v.rule, v.message) for v in report.violations] == [
        (None, "rows_min", "0 rows, fewer than rows.min 1")
    ]
    assert report.rows == 0 and sum(c.ok for c in report.checks) == 3  # unique, nullable, rows_max
    big = validate(pl.DataFrame({"id": range(6), "age": range(6)}), schema)
    assert [(v.rule, v.rows) for v in big.violations] == [("rows_max", None)]


def test_categories_on_categorical_data_and_unseen_fraction() -> None:
    values = ["a"] * 95 + ["b"] * 3 + ["z"] * 2
    df = pl.DataFrame({"c": values}, schema={"c": pl.Categorical})
    tolerant = Schema({"c": ColumnSchema("c", "Categorical", categories=("a", "b"), max_unseen_fraction=0.05)})
    assert validate(df, tolerant).ok
    strict = Schema({"c": ColumnSchema("c", "String", categories=("a", "b"), max_unseen_fraction=0.01)})
    assert found(validate(df, strict)) == {("c", "max_unseen_fraction"): (2, [(98, "z"), (99, "z")])}
    exact = Schema({"c": ColumnSchema("c", "String", categories=("a",), pattern="^[ab]$")})
    assert found(validate(df, exact)) == {
        ("c", "categories"): (5, [(95, "b"), (96, "b"), (97, "b"), (98, "z"), (99, "z")]),
        ("c", "pattern"): (2, [(98, "z"), (99, "z")]),
    }


def test_extra_columns_can_be_allowed() -> None:
    df = pl.DataFrame({"a": [1], "b": [2]})
    assert found(validate(df, Schema({"a": ColumnSchema("a")}))) == {("b", "extra_column"): (None, [])}
    assert validate(df, Schema({"a": ColumnSchema("a")}, allow_extra_columns=True)).ok


def test_row_numbers_run_across_files(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    pl.DataFrame({"v": [1, 2, 3]}).write_parquet(folder / "part-0.parquet")
    pl.DataFrame({"v": [4, 99, 6]}).write_parquet(folder / "part-1.parquet")
    report = validate(folder, Schema({"v": ColumnSchema("v", "Int64", range=Range(0, 10))}))
    assert found(report) == {("v", "range_max"): (1, [(4, 99)])}
    assert report.row_note == "0-based across the files in name order"


def test_report_as_json_and_markdown(schema: Schema) -> None:
    df = put(clean(), "income", [2], float("inf"))
    report = validate(df.with_columns(country=pl.lit("NZ")), schema)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["ok"] is False and data["failed"] == 1 and data["checks"] == 16
    assert data["violations"] == [
        {
            "column": "income",
            "rule": "range_max",
            "rows": 1,
            "message": "1 value above 250000",
            "examples": [{"row": 2, "value": "inf"}],
        }
    ]
    md = report.to_markdown()
    assert md.index("`age`") < md.index("`income`") < md.index("`id`")  # in schema order
    assert md.startswith("### Data validation: ❌ 1 violation\n")
    assert "| ❌ | `income` | range_max | 1 | 2: inf |" in md
    assert (
        "| ✅ | `income` | dtype, max_null_fraction, range_min |" in md
        and "| ✅ | `age` | dtype, nullable, range_min, range_max |" in md
    )


def test_bad_input(tmp_path: Path, schema: Schema) -> None:
    with pytest.raises(NotFoundError, match=r"data file .*nope\.parquet does not exist"):
        validate(tmp_path / "nope.parquet", schema)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("plan\ncafé\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin\.csv: data is not valid UTF-8"):
        validate(latin, schema)
    with pytest.raises(NotFoundError, match=r"schema file missing\.yaml does not exist"):
        validate(pl.DataFrame({"a": [1]}), "missing.yaml")


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-50, 50)), min_size=0, max_size=60),
    lo=st.integers(-60, 0),
    hi=st.integers(0, 60),
)
def test_counts_and_examples_match_a_plain_python_reference(values: list[int | None], lo: int, hi: int) -> None:
    df = pl.DataFrame({"v": values}, schema={"v": pl.Int64})
    report = validate(df, Schema({"v": ColumnSchema("v", "Int64", nullable=False, range=Range(lo, hi), unique=True)}))
    expected: dict[str, list[int]] = {
        "nullable": [i for i, v in enumerate(values) if v is None],
        "range_min": [i for i, v in enumerate(values) if v is not None and v < lo],
        "range_max": [i for i, v in enumerate(values) if v is not None and v > hi],
        "unique": [i for i, v in enumerate(values) if v is not None and v in values[:i]],
    }
    got = {v.rule: v for v in report.violations}
    assert set(got) == {rule for rule, rows in expected.items() if rows}
    for rule, v in got.items():
        assert v.rows == len(expected[rule])
        assert v.examples == tuple(Example(i, values[i]) for i in expected[rule][:5])


def test_examples_found_batch_by_batch_keep_their_row_numbers(
    schema: Schema, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlgate.data.validate as validate_module

    monkeypatch.setattr(validate_module, "_EXAMPLE_BATCH_ROWS", 64)  # 1,000 rows: 16 batches
    df = put(clean(), "age", [70, 130, 900, 901, 902, 903], 150)  # spread over batches 1, 2 and 14
    df = put(df, "id", [600, 800], 0)  # repeats of row 0, found by one pass over the whole column
    df = put(df, "plan", list(range(64, 640, 9)), "gold")  # 64 of them: the first five are in the second batch
    df.write_parquet(tmp_path / "d.parquet", row_group_size=100)
    df.write_csv(tmp_path / "d.csv")
    plans = [(n, "gold") for n in (64, 73, 82, 91, 100)]
    for data in (df, tmp_path / "d.parquet", tmp_path / "d.csv"):
        report = found(validate(data, schema))
        assert report[("age", "range_max")] == (6, [(70, 150), (130, 150), (900, 150), (901, 150), (902, 150)])
        assert report[("id", "unique")] == (2, [(600, 0), (800, 0)])
        assert report[("plan", "max_unseen_fraction")] == (64, plans), data


def same_profile(a: Profile, b: Profile) -> bool:
    """Equal statistics and sketch contents (sketch bytes depend on the order values arrive in)."""
    if (a.rows, list(a.columns), a.source) != (b.rows, list(b.columns), b.source):
        return False
    for name, x in a.columns.items():
        y = b.columns[name]
        exact = (
            "dtype",
            "kind",
            "count",
            "nulls",
            "nan",
            "inf",
            "min",
            "max",
            "mean",
            "m2",
            "str_len_sum",
            "histogram",
        )
        if any(getattr(x, f) != getattr(y, f) for f in exact):
            return False
        if x.frequent_items() != y.frequent_items() or x.distinct() != y.distinct() or x.kll != y.kll:
            return False
    return True


def broken_schema_text() -> str:
    return SCHEMA.replace("  id:      {dtype: Int64, unique: true}\n", "")


def test_profile_and_validate_reads_once_and_equals_profile_then_validate(tmp_path: Path) -> None:
    df = clean(3_000).with_columns(
        pl.when(pl.col("id") % 97 == 0).then(-5).otherwise(pl.col("age")).alias("age"),
        pl.when(pl.col("id") % 50 == 0).then(pl.lit("gold")).otherwise(pl.col("plan")).alias("plan"),
        pl.when(pl.col("id") % 40 == 0).then(None).otherwise(pl.col("income")).alias("income"),
    )
    path = tmp_path / "cur.parquet"
    df.write_parquet(path, row_group_size=700)
    schema = Schema.from_dict(__import__("yaml").safe_load(broken_schema_text()))
    prof, report = profile_and_validate(path, schema, batch_rows=1_000)
    assert report == validate(path, schema)
    assert same_profile(prof, profile(path, batch_rows=1_000))
    failed = {(v.column, v.rule): v for v in report.violations}
    assert failed[("age", "range_min")].rows == 31 and failed[("age", "range_min")].examples[0] == Example(0, -5)
    assert failed[("plan", "max_unseen_fraction")].rows == 60 and ("income", "max_null_fraction") in failed


@pytest.mark.parametrize("kind", ["csv", "unique"])
def test_profile_and_validate_falls_back_to_two_reads_where_counts_are_not_sums(tmp_path: Path, kind: str) -> None:
    df = clean(500)
    path = tmp_path / ("d.csv" if kind == "csv" else "d.parquet")
    df.write_csv(path) if kind == "csv" else df.write_parquet(path)
    schema = infer_schema(df)
    assert schema.columns["id"].unique  # a count over the whole column
    prof, report = profile_and_validate(path, schema)
    assert report == validate(path, schema) and report.ok
    assert same_profile(prof, profile(path))


fused_frames = st.integers(min_value=1, max_value=60).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "i": st.lists(st.one_of(st.none(), st.integers(-50, 50)), min_size=n, max_size=n),
            "f": st.lists(st.one_of(st.none(), st.floats(-1e3, 1e3), st.just(float("nan"))), min_size=n, max_size=n),
            "s": st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "dd"])), min_size=n, max_size=n),
        }
    )
)


@settings(max_examples=40, deadline=None)
@given(reference=fused_frames, current=fused_frames, batch_rows=st.integers(1, 25))
def test_fused_validation_equals_separate_validation(
    reference: dict[str, list[object]], current: dict[str, list[object]], batch_rows: int
) -> None:
    kinds = {"i": pl.Int64, "f": pl.Float64, "s": pl.String}
    ref, cur = pl.DataFrame(reference, schema=kinds), pl.DataFrame(current, schema=kinds)
    schema = infer_schema(ref, max_categories=3)
    schema = Schema({n: c for n, c in schema.columns.items() if not c.unique}, rows_min=schema.rows_min)
    prof, report = profile_and_validate(cur, schema, batch_rows=batch_rows)
    assert report.to_dict() == validate(cur, schema).to_dict()  # NaN examples: compared as their JSON form
    assert same_profile(prof, profile(cur, batch_rows=batch_rows))
