"""A numeric input stuck at one value (a broken upstream feature) is a quality issue; a column that is often
one value in training is not flagged for a window that happens to hold only that value."""

from __future__ import annotations

import numpy as np
import polars as pl

from mlgate.data.profile import profile
from mlgate.monitor.quality import QualityReference


def issues(ref: QualityReference, frame: pl.DataFrame) -> list:
    counts, examples = ref.count(frame)
    return ref.issues(frame.height, profile(frame, allow_empty=True), counts, examples)


def test_a_varied_column_stuck_at_one_value_inside_its_range_is_an_issue() -> None:
    rng = np.random.default_rng(7)
    train = pl.DataFrame({"income": rng.normal(50.0, 10.0, 5000), "age": rng.normal(40.0, 5.0, 5000)})
    ref = QualityReference.from_profile(profile(train))
    share = ref.columns["income"].max_value_share
    assert share is not None and share < 0.05
    live = pl.DataFrame({"income": rng.normal(50.0, 10.0, 200), "age": rng.normal(40.0, 5.0, 200)})
    assert issues(ref, live) == []
    stuck = live.with_columns(pl.lit(50.0).alias("income"))  # the training median: in range, no null
    (issue,) = issues(ref, stuck)
    assert (issue.column, issue.check, issue.count) == ("income", "constant", 200)
    assert issue.p_value < 1e-100
    assert issue.describe().startswith("income: all 200 values are 50.0")


def test_a_column_mostly_one_value_in_training_needs_many_more_rows_to_be_flagged() -> None:
    rng = np.random.default_rng(8)
    flag = (rng.random(5000) < 0.05).astype(float)  # 95 % zeros
    ref = QualityReference.from_profile(profile(pl.DataFrame({"flag": flag})))
    share = ref.columns["flag"].max_value_share
    assert share is not None and 0.93 < share <= 1.0
    assert issues(ref, pl.DataFrame({"flag": np.zeros(40)})) == []  # 0.95^40 is common enough
    (issue,) = issues(ref, pl.DataFrame({"flag": np.zeros(2000)}))
    assert issue.check == "constant"


def test_a_column_constant_in_training_is_never_flagged() -> None:
    ref = QualityReference.from_profile(profile(pl.DataFrame({"version": np.full(500, 3.0)})))
    assert ref.columns["version"].max_value_share is None
    assert issues(ref, pl.DataFrame({"version": np.full(500, 3.0)})) == []
