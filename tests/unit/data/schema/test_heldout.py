"""An inferred schema passes a clean held-out split of the same data, and still catches real faults.

Six data sets shipped with scikit-learn, three of them with text categories and one with missing
values put in completely at random, are each split 80/20 at random 20 times: the schema inferred on
the 80 % must pass the other 20 % every time (no false failure), while faults put into the held-out
rows must fail it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from mlgate.data.schema import infer_schema
from mlgate.data.validate import validate

SPLITS = 20


def _sklearn(name: str) -> pl.DataFrame:
    from sklearn import datasets

    return pl.from_pandas(getattr(datasets, f"load_{name}")(as_frame=True).frame)


def wine_with_nulls() -> pl.DataFrame:
    """Wine with class names as text and values missing completely at random: 5 % in three columns, 1 % in one."""
    df = _sklearn("wine")
    rng = np.random.default_rng(1)
    out = df.with_columns(pl.col("target").replace_strict({0: "barolo", 1: "grignolino", 2: "barbera"}))
    for column, rate in (("alcohol", 0.05), ("magnesium", 0.05), ("hue", 0.05), ("proline", 0.01)):
        gone = pl.Series(rng.random(df.height) < rate)
        out = out.with_columns(pl.when(gone).then(None).otherwise(pl.col(column)).alias(column))
    return out


def iris_with_rare_levels() -> pl.DataFrame:
    """Iris with species names and a text column of petal-length bands, whose outer bands hold one or two flowers."""
    df = _sklearn("iris")
    length = pl.col("petal length (cm)")
    return df.with_columns(
        pl.col("target").replace_strict({0: "setosa", 1: "versicolor", 2: "virginica"}),
        band=pl.format("band {}", ((length - 1) * 4).floor().cast(pl.Int64)),
    )


DATASETS: dict[str, Callable[[], pl.DataFrame]] = {
    "breast_cancer": lambda: _sklearn("breast_cancer"),
    "wine_with_nulls": wine_with_nulls,
    "diabetes": lambda: _sklearn("diabetes"),
    "iris_with_rare_levels": iris_with_rare_levels,
    "digits": lambda: _sklearn("digits"),
    "linnerud": lambda: _sklearn("linnerud").with_columns(target=pl.lit(0)),
}


def splits(df: pl.DataFrame, seed: int = 0) -> list[tuple[pl.DataFrame, pl.DataFrame]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(SPLITS):
        order = rng.permutation(df.height)
        cut = int(0.8 * df.height)
        out.append((df[order[:cut]], df[order[cut:]]))
    return out


def test_the_data_sets_hold_what_the_claim_needs() -> None:
    wine, iris = wine_with_nulls(), iris_with_rare_levels()
    assert 0 < wine["proline"].null_count() < 10 and wine["alcohol"].null_count() > 3
    bands = iris["band"].value_counts()
    assert bands["count"].min() <= 2, "a band rare enough to miss the training split"
    assert sum(_sklearn("digits")[c].n_unique() <= 3 for c in _sklearn("digits").columns) > 5, "near-constant pixels"


@pytest.mark.parametrize("name", list(DATASETS))
def test_schema_inferred_on_80_percent_passes_the_other_20(name: str) -> None:
    df = DATASETS[name]()
    failures = []
    for i, (train, held_out) in enumerate(splits(df)):
        report = validate(held_out, infer_schema(train, target="target"))
        failures += [(i, v.column, v.rule, v.message) for v in report.violations]
    assert failures == [], failures


def test_the_held_out_splits_hold_what_a_naive_schema_fails_on() -> None:
    unseen_band = beyond_max = more_nulls = 0
    for train, held_out in splits(iris_with_rare_levels()):
        unseen_band += not set(held_out["band"]).issubset(set(train["band"]))
    for train, held_out in splits(_sklearn("breast_cancer")):
        beyond_max += any(held_out[c].max() > train[c].max() for c in train.columns)  # type: ignore[operator]
    for train, held_out in splits(wine_with_nulls()):
        more_nulls += held_out["proline"].null_count() / held_out.height > train["proline"].null_count() / train.height
    assert unseen_band > 5 and beyond_max == SPLITS and more_nulls > 0


def test_rare_categories_and_nulls_get_open_statistical_rules() -> None:
    schema = infer_schema(splits(iris_with_rare_levels())[0][0], target="target")
    assert schema.columns["band"].max_unseen_fraction is not None, "rare bands: an unseen one is likely"
    assert schema.columns["target"].max_unseen_fraction is None, "50 of each species: the set is closed"
    wine = infer_schema(splits(wine_with_nulls())[0][0], target="target")
    assert wine.columns["ash"].max_null_fraction is not None, "the data has nulls, so none here is luck"
    assert wine.alpha == 0.001 and wine.rows_min is None


FAULTS: dict[str, tuple[Callable[[pl.DataFrame], pl.DataFrame], tuple[str | None, str]]] = {
    "a gross outlier": (
        lambda d: d.with_columns(
            pl.when(pl.int_range(pl.len()) == 3).then(100.0).otherwise("mean radius").alias("mean radius")
        ),
        ("mean radius", "range_max"),
    ),
    "a sign flip": (
        lambda d: d.with_columns(
            pl.when(pl.int_range(pl.len()) == 5).then(-1.0).otherwise("worst area").alias("worst area")
        ),
        ("worst area", "range_min"),
    ),
    "missing values where there were none": (
        lambda d: d.with_columns(
            pl.when(pl.int_range(pl.len()) < 3).then(None).otherwise("mean texture").alias("mean texture")
        ),
        ("mean texture", "nullable"),
    ),
    "a label outside the classes": (
        lambda d: d.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(2).otherwise("target").alias("target")),
        ("target", "categories"),
    ),
    "a dropped column": (lambda d: d.drop("worst symmetry"), ("worst symmetry", "missing_column")),
    "a unit change": (lambda d: d.with_columns(pl.col("mean area") * 1000), ("mean area", "range_max")),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_faults_in_a_held_out_split_are_caught(fault: str) -> None:
    train, held_out = splits(_sklearn("breast_cancer"))[0]
    schema = infer_schema(train, target="target")
    assert validate(held_out, schema).ok
    change, expected = FAULTS[fault]
    report = validate(change(held_out), schema)
    assert expected in {(v.column, v.rule) for v in report.violations}


def test_a_rise_in_the_missing_rate_is_caught_once_it_is_significant() -> None:
    train, held_out = splits(wine_with_nulls())[0]
    schema = infer_schema(train, target="target")
    rng = np.random.default_rng(2)
    more = held_out.with_columns(
        pl.when(pl.Series(rng.random(held_out.height) < 0.4)).then(None).otherwise("alcohol").alias("alcohol")
    )
    failed = {(v.column, v.rule): v.message for v in validate(more, schema).violations}
    assert "significant at alpha 0.001" in failed[("alcohol", "max_null_fraction")]
