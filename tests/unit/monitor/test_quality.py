"""Data quality against a training profile: null spikes, unseen categories, out-of-range values."""

from __future__ import annotations

import polars as pl

from mlgate.data.profile import profile
from mlgate.monitor.quality import QualityReference


def test_null_spikes_unseen_categories_and_out_of_range_values_are_found_and_clean_data_is_not() -> None:
    train = pl.DataFrame({"plan": ["free", "pro", "team"] * 300, "age": [float(20 + i % 50) for i in range(900)]})
    ref = QualityReference.from_profile(profile(train))
    assert ref.columns["plan"].categories == {"free", "pro", "team"}
    assert (ref.columns["age"].low, ref.columns["age"].high) == (20.0, 69.0)

    def issues(frame: pl.DataFrame) -> list:
        counts, examples = ref.count(frame)
        return ref.issues(frame.height, profile(frame, allow_empty=True), counts, examples)

    clean = train.sample(300, seed=1)
    assert issues(clean) == []
    broken = pl.DataFrame(
        {
            "plan": ["free", "enterprise", None, "pro", "gold"] * 40,
            "age": [None, 25.0, 130.0, 30.0, 31.0] * 40,
        }
    )
    found = {(i.column, i.check): i for i in issues(broken)}
    assert set(found) == {("plan", "unseen"), ("plan", "nulls"), ("age", "nulls"), ("age", "out_of_range")}
    assert found["plan", "unseen"].count == 80 and found["plan", "unseen"].examples == ["enterprise", "gold"]
    assert found["age", "out_of_range"].count == 40
    assert "unseen values" in found["plan", "unseen"].describe()


def test_schema_rules_replace_the_training_reference_on_the_columns_they_name() -> None:
    from mlgate.data.schema import ColumnSchema, Range, Schema

    train = pl.DataFrame({"plan": ["free", "pro", "team"] * 300, "age": [float(20 + i % 50) for i in range(900)]})
    schema = Schema(
        columns={
            "age": ColumnSchema("age", nullable=False, range=Range(18, 65)),
            "plan": ColumnSchema("plan", categories=("free", "pro", "team", "enterprise"), max_unseen_fraction=0.1),
        }
    )
    ref = QualityReference.from_profile(profile(train)).with_schema(schema, ["age", "plan"])
    window = pl.DataFrame({"plan": ["enterprise", "gold"] + ["free"] * 98, "age": [66.0, None] + [30.0] * 98})
    counts, examples = ref.count(window)
    found = {(i.column, i.check): i for i in ref.issues(window.height, profile(window), counts, examples)}
    # one value past the schema's range and one null in a column that takes none: issues at once;
    # one unseen value in a hundred is within the schema's max_unseen_fraction, and "enterprise" is allowed
    assert set(found) == {("age", "out_of_range"), ("age", "nulls")}
    assert found["age", "out_of_range"].count == 1 and ref.columns["age"].source == "schema"
