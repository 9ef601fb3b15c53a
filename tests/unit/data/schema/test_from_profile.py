"""Schema inference from a profile: the data's schema where the sketches are exact, caveats where they are not."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgate.data.profile import Profile, merge_all, profile
from mlgate.data.schema import Range, Schema, infer_schema, load_profile, schema_from_profile
from mlgate.data.validate import validate
from mlgate.errors import InputError


def mixed(n: int = 5_000, seed: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(5e4, 1e4, n)
    income[rng.choice(n, 40, replace=False)] = np.nan
    return pl.DataFrame(
        {
            "age": rng.integers(18, 96, n),
            "income": income,
            "score": pl.Series(rng.random(n)).set(pl.Series(rng.random(n) < 0.02), None),
            "plan": rng.choice(["basic", "pro", "team"], n),
            "city": rng.choice([f"city {i}" for i in range(300)], n),
            "code": [f"c{i}" for i in range(n // 10)] * 10,  # 500 distinct, each 10 times: the sketch is exact
            "label": rng.integers(0, 3, n),
            "when": pl.datetime_range(pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 2), "1s", eager=True)[:n],
            "flag": rng.random(n) < 0.5,
        }
    )


def without_margins(schema: Schema) -> Schema:
    """The schema with every range left out: beyond ``KLL_K`` values a profile's range margins are approximate."""
    return replace(schema, columns={n: replace(c, range=None, slack=0.0) for n, c in schema.columns.items()})


def test_profile_gives_the_data_schema_with_slack_and_target() -> None:
    df = mixed()
    inferred = schema_from_profile(profile(df), slack=0.1, target="label")
    assert inferred.caveats == {}
    from_data = infer_schema(df, slack=0.1, target="label")
    assert without_margins(inferred.schema) == without_margins(from_data)
    cols = inferred.schema.columns
    assert cols["label"].categories == (0, 1, 2) and cols["plan"].categories == ("basic", "pro", "team")
    assert cols["age"].range == from_data.columns["age"].range  # ties at 18 and 95: the tails agree exactly
    assert isinstance(cols["age"].range.min, int)  # type: ignore[union-attr]
    for name in ("income", "score"):
        approx, exact = cols[name].range, from_data.columns[name].range
        assert approx is not None and exact is not None and approx.max == pytest.approx(exact.max, rel=0.1)
    assert cols["income"].max_null_fraction == pytest.approx(0.014)  # upper bound of 40 NaN in 5,000, × 1.1
    assert cols["when"].dtype == "Datetime" and cols["city"].categories is None  # 300 > max_categories
    assert validate(df, inferred.schema).ok


def test_breast_cancer_target_classes_from_the_quantile_sketch(breast_cancer) -> None:  # type: ignore[no-untyped-def]
    X, y = breast_cancer
    frame = X.assign(target=y)
    prof = profile(frame)
    assert prof.columns["target"].quantile_sketch().is_estimation_mode()  # type: ignore[union-attr]
    inferred = schema_from_profile(prof, target="target")
    assert inferred.caveats == {}
    assert without_margins(inferred.schema) == without_margins(infer_schema(frame, target="target"))
    assert validate(frame, inferred.schema).ok
    assert inferred.schema.columns["target"].categories == (0, 1)


def test_infer_schema_takes_a_profile_object_or_its_json_file() -> None:
    df = mixed(n=1_000)
    prof = profile(df)
    expected = schema_from_profile(prof, max_categories=20).schema
    assert without_margins(expected) == without_margins(infer_schema(df, max_categories=20))
    assert infer_schema(prof, max_categories=20) == expected
    path = prof.save("ref.profile.json")
    assert infer_schema(path, max_categories=20) == expected
    assert infer_schema(str(path), max_categories=20) == expected


def test_merged_partition_profiles_give_the_whole_data_schema() -> None:
    df = mixed(n=3_000)
    parts = [profile(df.slice(i, 1_000)) for i in range(0, 3_000, 1_000)]
    merged = infer_schema(merge_all(parts), target="label")
    assert without_margins(merged) == without_margins(infer_schema(df, target="label"))
    assert validate(df, merged).ok


frames = st.integers(min_value=1, max_value=260).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "i": st.lists(st.one_of(st.none(), st.integers(-(2**40), 2**40)), min_size=n, max_size=n),
            "small": st.lists(st.integers(-3, 3), min_size=n, max_size=n),
            "f": st.lists(
                st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=False, width=64)), min_size=n, max_size=n
            ),
            "s": st.lists(st.one_of(st.none(), st.text("ab|@ é", max_size=3)), min_size=n, max_size=n),
            "b": st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n),
        }
    )
)
FRAME_SCHEMA = {"i": pl.Int64, "small": pl.Int64, "f": pl.Float64, "s": pl.String, "b": pl.Boolean}


@settings(max_examples=60, deadline=None)
@given(
    data=frames,
    slack=st.sampled_from([0.0, 0.25]),
    max_categories=st.integers(1, 8),
    target=st.sampled_from([None, "small", "i", "s"]),
)
def test_where_the_profile_is_exact_its_schema_is_the_data_schema(
    data: dict[str, list[object]], slack: float, max_categories: int, target: str | None
) -> None:
    df = pl.DataFrame(data, schema=FRAME_SCHEMA)
    from_data = infer_schema(df, slack=slack, max_categories=max_categories, target=target)
    inferred = schema_from_profile(profile(df), slack=slack, max_categories=max_categories, target=target)
    exact = df.height <= 200  # KLL_K: the sketches hold every value, so the range margins agree too
    for name, col in inferred.schema.columns.items():
        if name not in inferred.caveats:
            wanted = from_data.columns[name]
            assert col == wanted if exact else replace(col, range=None) == replace(wanted, range=None), name
    if not inferred.caveats and exact:
        assert inferred.schema == from_data
    assert validate(df, inferred.schema).ok  # never a rule the data breaks, caveat or not


def test_infinities_leave_the_range_out_with_a_caveat() -> None:
    df = pl.DataFrame({"x": [1.0, 2.0, float("inf"), 3.0]})
    inferred = schema_from_profile(profile(df))
    assert inferred.schema.columns["x"].range is None
    assert "±inf" in inferred.caveats["x"]
    assert infer_schema(df).columns["x"].range == Range(1.0, float("inf"))  # the data knows the sign
    assert validate(df, inferred.schema).ok


def test_unique_is_not_guessed_from_a_sketch() -> None:
    n = 3_000
    df = pl.DataFrame(
        {
            "id": np.random.default_rng(1).permutation(n),  # all distinct, more than the KLL sketch retains
            "key": [f"k{i}" for i in range(n)],  # all distinct, more than the frequent-items sketch holds
            "twice": [f"t{i}" for i in range(n // 2)] * 2,  # 1,500 distinct, each twice: the HLL rules it out
            "bucket": np.arange(n) % 10,  # more rows than integers between min and max: repeats proven
        }
    )
    from_data = infer_schema(df)
    assert from_data.columns["id"].unique and from_data.columns["key"].unique
    inferred = schema_from_profile(profile(df))
    cols = inferred.schema.columns
    assert not any(c.unique for c in cols.values())
    assert set(inferred.caveats) == {"id", "key"}
    assert "unique is not knowable from a sketch" in inferred.caveats["key"]
    assert validate(df, inferred.schema).ok


def test_small_columns_are_unique_exactly_from_their_sketches() -> None:
    df = pl.DataFrame({"id": list(range(150)), "key": [f"k{i}" for i in range(150)]})
    inferred = schema_from_profile(profile(df))
    assert inferred.caveats == {}
    assert inferred.schema.columns["id"].unique and inferred.schema.columns["key"].unique


def test_a_rare_target_class_the_sketch_dropped_gets_a_caveat() -> None:
    labels = np.zeros(20_000, dtype=np.int64)
    labels[::2] = 1
    labels[7] = 5  # one row of class 5, and no 2, 3 or 4: the sketch cannot show the classes are 0, 1, 5
    df = pl.DataFrame({"y": labels})
    assert infer_schema(df, target="y").columns["y"].categories == (0, 1, 5)
    inferred = schema_from_profile(profile(df), target="y")
    assert inferred.schema.columns["y"].categories is None
    assert "target classes are not knowable" in inferred.caveats["y"]
    assert validate(df, inferred.schema).ok


def test_categories_beyond_the_frequent_items_capacity_get_a_caveat() -> None:
    df = pl.DataFrame({"c": [f"v{i}" for i in range(1_000)] * 2})
    assert schema_from_profile(profile(df), max_categories=50).caveats == {}  # 1,000 > 50: no categories either way
    inferred = schema_from_profile(profile(df), max_categories=2_000)
    assert inferred.schema.columns["c"].categories is None
    assert "more than 768 distinct values" in inferred.caveats["c"]
    assert len(infer_schema(df, max_categories=2_000).columns["c"].categories or ()) == 1_000


def test_integer_bounds_beyond_float_precision_round_outwards() -> None:
    values = [2**60 + 1, 2**60 + 3, -(2**60) - 5]
    df = pl.DataFrame({"big": values})
    inferred = schema_from_profile(profile(df))
    assert "beyond 2**53" in inferred.caveats["big"] and "may hold only distinct" not in inferred.caveats["big"]
    rng = inferred.schema.columns["big"].range
    assert rng is not None and isinstance(rng.min, int) and isinstance(rng.max, int)
    assert rng.min <= min(values) and rng.max >= max(values)
    assert rng.min >= -(2**63) and rng.max <= 2**63 - 1  # widened, but within Int64
    assert validate(df, schema_from_profile(profile(df)).schema).ok


def test_bad_profiles_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"target column 'nope' is not in the profile"):
        schema_from_profile(profile(pl.DataFrame({"a": [1, 2]})), target="nope")
    empty = profile(pl.DataFrame({"a": []}, schema={"a": pl.Int64}), allow_empty=True)
    with pytest.raises(InputError, match=r"covers no rows"):
        infer_schema(empty)
    with pytest.raises(InputError, match=r"slack must be zero or more, got -1"):
        schema_from_profile(profile(pl.DataFrame({"a": [1]})), slack=-1)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something/1"}))
    with pytest.raises(InputError, match=r"other\.json is a JSON file but not an mlgate profile"):
        infer_schema(other)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(InputError, match=r"broken\.json is not valid JSON"):
        load_profile(broken)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": "mlgate.profile/0", "rows": 1, "columns": []}))
    with pytest.raises(InputError, match=r"incompatible version \(format mlgate\.profile/0"):
        infer_schema(old)


def test_profile_dtype_texts_map_to_schema_names() -> None:
    from mlgate.data.schema.from_profile import profile_dtype_name

    assert profile_dtype_name("Datetime(time_unit='us', time_zone=None)") == "Datetime"
    assert profile_dtype_name("Decimal(precision=10, scale=2)") == "Decimal"
    assert profile_dtype_name("Utf8") == "String"
    assert profile_dtype_name("List(Int64)") == "List"


def test_other_dtypes_keep_their_names_and_null_columns_get_none() -> None:
    df = pl.DataFrame(
        {
            "cat": pl.Series(["b", "a", "b"], dtype=pl.Categorical),
            "day": [None, None, None],
            "lst": [[1], [2, 3], None],
            "dur": pl.Series([1, 2, 3]).cast(pl.Duration("us")),
        }
    )
    assert schema_from_profile(profile(df)).schema == infer_schema(df)
    assert Profile.from_json(profile(df).to_json()).columns["lst"].dtype == "List(Int64)"
