"""Data quality on unchanged data: the tests allow for the training sample's own chance (its extremes, its rare
categories) and hold all of a window's tests to one family, so ordinary traffic raises no issue, while a broken
upstream feature still does."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.stats import betabinom

from mlgate.data.profile import profile
from mlgate.monitor.quality import ALPHA, QualityReference, beta_binomial_sf


def issues(ref: QualityReference, frame: pl.DataFrame) -> list:
    counts, examples = ref.count(frame)
    return ref.issues(frame.height, profile(frame, allow_empty=True), counts, examples)


def test_the_beta_binomial_tail_matches_scipy() -> None:
    for count, rows, a, b in [(3, 1000, 2, 19_999), (1, 1000, 1, 20_001), (200, 1000, 101, 900), (10, 10, 5, 5)]:
        assert beta_binomial_sf(count, rows, a, b) == pytest.approx(betabinom.sf(count - 1, rows, a, b), rel=1e-6)
    assert beta_binomial_sf(0, 10, 1, 1) == 1.0 and beta_binomial_sf(11, 10, 1, 1) == 0.0


def test_unchanged_windows_of_many_columns_raise_no_issue() -> None:
    rng = np.random.default_rng(11)
    names = [f"f{i}" for i in range(20)]
    ref = QualityReference.from_profile(
        profile(pl.DataFrame(dict(zip(names, rng.normal(size=(20, 20_000)), strict=True))))
    )
    flagged = 0
    outside = 0
    for _ in range(60):
        window = pl.DataFrame(dict(zip(names, rng.normal(size=(20, 1000)), strict=True)))
        counts, _ = ref.count(window)
        outside += sum(c["below"] + c["above"] for c in counts.values())
        flagged += bool(issues(ref, window))
    # values fall outside the training range in ordinary windows (about 0.1 per column and window) ...
    assert outside > 30
    # ... and none of 60 windows of 20 columns is an issue (the binomial test at 2 / (n + 1) per column
    # and 0.001 per test flagged windows with 3 of 1,000 values outside: a few in every hundred)
    assert flagged == 0


def test_a_few_values_past_the_training_range_are_chance_and_many_are_an_issue() -> None:
    rng = np.random.default_rng(12)
    train = pl.DataFrame({"x": rng.normal(size=20_000)})
    ref = QualityReference.from_profile(profile(train))
    high = ref.columns["x"].high
    assert high is not None
    live = rng.normal(size=1000).clip(-3.0, 3.0)
    live[:3] = high + 0.1  # three new maxima: likely enough when the training maximum sat low
    assert issues(ref, pl.DataFrame({"x": live})) == []
    live[:40] = high * 3  # an upstream unit change on 4 % of the rows
    (issue,) = issues(ref, pl.DataFrame({"x": live}))
    assert (issue.check, issue.count) == ("out_of_range", 40) and issue.p_value < ALPHA / 3


def test_rare_training_categories_make_unseen_ones_expected() -> None:
    rng = np.random.default_rng(13)
    # 5,000 rows: three common plans and 150 plans seen once each (a long tail)
    common = rng.choice(["free", "pro", "team"], size=4850).tolist()
    ref = QualityReference.from_profile(profile(pl.DataFrame({"plan": common + [f"p{i}" for i in range(150)]})))
    assert ref.columns["plan"].categories is not None and ref.columns["plan"].singletons == 150
    tail = ["free", "pro", "team"] * 330 + [f"new{i}" for i in range(10)]  # 1 % new: the tail's own rate
    assert issues(ref, pl.DataFrame({"plan": tail})) == []
    broken = ["free", "pro"] * 400 + ["FREE"] * 200  # an upstream change of case on a fifth of the rows
    (issue,) = issues(ref, pl.DataFrame({"plan": broken}))
    assert issue.check == "unseen" and issue.count == 200 and issue.examples == ["FREE"]


def test_a_clean_category_set_still_flags_a_handful_of_unseen_values() -> None:
    ref = QualityReference.from_profile(profile(pl.DataFrame({"plan": ["free", "pro", "team"] * 3000})))
    assert ref.columns["plan"].singletons == 0
    window = pl.DataFrame({"plan": ["free", "pro", "team"] * 330 + ["enterprise"] * 10})
    (issue,) = issues(ref, window)
    assert issue.check == "unseen" and issue.count == 10
