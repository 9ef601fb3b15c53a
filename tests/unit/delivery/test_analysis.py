"""The analysis: always-valid confidence sequences decide; no data or too little data never passes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from mlgate.config.sections import AnalysisConfig
from mlgate.delivery.analysis import FAIL, PASS, WAIT, Arm, analyse, half_width
from tests.unit.delivery.conftest import traffic

SPEC = AnalysisConfig()


def test_no_data_waits_and_names_the_side() -> None:
    rng = np.random.default_rng(0)
    result = analyse(Arm.empty(), traffic(rng, 1000), SPEC)
    assert result.decision == WAIT and result.reason == "no data: the canary served no request in the window"
    assert analyse(traffic(rng, 10), Arm.empty(), SPEC).reason.startswith("no data: the stable version")


def test_too_little_data_never_passes() -> None:
    rng = np.random.default_rng(1)
    result = analyse(traffic(rng, 50), traffic(rng, 5000), SPEC)
    assert result.decision == WAIT
    assert result.reason == "too little data: 50 canary and 5000 stable requests, 200 each are needed"


def test_a_healthy_canary_passes_with_enough_data() -> None:
    rng = np.random.default_rng(2)
    result = analyse(traffic(rng, 2000), traffic(rng, 20_000), SPEC)
    assert result.decision == PASS, result.reason
    assert {m.name for m in result.metrics} == {"error_rate", "latency", "prediction_shift"}
    assert all(m.decision == PASS for m in result.metrics)


@pytest.mark.parametrize(
    ("fault", "metric", "words"),
    [
        ({"errors": 0.05}, "error_rate", "error rate"),
        ({"slow": 2.0}, "latency", "latency"),
        ({"shift": 0.5}, "prediction_shift", "mean prediction"),
        ({"shift": -0.5}, "prediction_shift", "mean prediction"),
    ],
)
def test_each_fault_fails_its_metric(fault: dict[str, float], metric: str, words: str) -> None:
    rng = np.random.default_rng(3)
    result = analyse(traffic(rng, 2000, **fault), traffic(rng, 20_000), SPEC)
    assert result.decision == FAIL and words in result.reason
    assert next(m for m in result.metrics if m.name == metric).decision == FAIL


def test_a_difference_at_the_tolerance_stays_inconclusive() -> None:
    """A canary 25% slower sits on the latency limit: neither pass nor fail, so it can only time out."""
    rng = np.random.default_rng(4)
    result = analyse(traffic(rng, 3000, slow=1.25), traffic(rng, 30_000), SPEC)
    assert result.decision == WAIT and result.reason.startswith("inconclusive: latency")


def test_a_canary_predicting_one_class_for_every_row_fails_the_prediction_shift() -> None:
    """No spread in the canary's predictions must not make its sequence endless (it was ±4000 deviations)."""
    rng = np.random.default_rng(6)
    stable = Arm(np.zeros(2000, dtype=bool), np.full(2000, 20.0), (rng.random(10_000) < 0.63).astype(float))
    canary = Arm(np.zeros(2000, dtype=bool), np.full(2000, 20.0), np.ones(10_000))
    result = analyse(canary, stable, SPEC)
    shift = next(m for m in result.metrics if m.name == "prediction_shift")
    assert result.decision == FAIL and shift.decision == FAIL and shift.lower > SPEC.max_prediction_shift


def test_nan_predictions_are_left_to_the_error_rate() -> None:
    rng = np.random.default_rng(5)
    canary = traffic(rng, 2000)
    canary.predictions[:200] = np.nan
    canary.errors[:200] = True  # the log reader counts a NaN prediction as a failed request
    assert analyse(canary, traffic(rng, 20_000), SPEC).decision == FAIL


def test_the_sequence_is_wider_than_a_fixed_sample_interval_and_shrinks() -> None:
    var = 1.0 / 1000
    rho = 1000.0
    assert half_width(var, rho, 0.01) > 2.576 * math.sqrt(var)  # the price of checking at any time
    assert half_width(var / 10, rho, 0.01) < half_width(var, rho, 0.01)
    assert half_width(0.0, rho, 0.01) == 0.0


def test_checking_after_every_request_batch_keeps_false_aborts_rare() -> None:
    """200 healthy canaries, each checked 100 times as data accrues: the always-valid bound is 1.5%."""
    rng = np.random.default_rng(6)
    aborted = 0
    for _ in range(200):
        canary, stable = traffic(rng, 3000), traffic(rng, 30_000)
        for k in range(30, 3001, 30):
            cut = Arm(canary.errors[:k], canary.latency_ms[:k], canary.predictions[:k])
            base = Arm(stable.errors[: 10 * k], stable.latency_ms[: 10 * k], stable.predictions[: 10 * k])
            if analyse(cut, base, SPEC).decision == FAIL:
                aborted += 1
                break
    assert aborted <= 4, f"{aborted} of 200 healthy canaries were failed"


def test_read_log_counts_requests_errors_and_skips_hours_outside_the_window(tmp_path: Any) -> None:
    """One error flag and latency per request (NaN or 5xx is an error), rows for predictions, no shadow rows;
    an hour folder outside the window is never opened (here it is not even Parquet)."""
    from datetime import UTC, datetime, timedelta

    import polars as pl

    from mlgate.delivery.analysis import read_log

    t = datetime(2026, 5, 1, 10, 30, tzinfo=UTC)
    hour = tmp_path / "model=bc" / "version=2" / "hour=2026-05-01T10"
    hour.mkdir(parents=True)
    pl.DataFrame(
        {
            "time": [t, t, t + timedelta(seconds=1), t + timedelta(seconds=2), t + timedelta(seconds=3)],
            "request_id": ["a", "a", "b", "c", "d"],
            "row": [0, 1, 0, 0, 0],
            "route": ["canary", "canary", "canary", "canary", "shadow"],
            "status": [200, 200, 500, 200, 200],
            "latency_ms": [5.0, 5.0, 7.0, 9.0, 1.0],
            "prediction": [0.1, 0.2, None, float("nan"), 0.3],
        },
        schema_overrides={"time": pl.Datetime("us", "UTC"), "status": pl.Int16},
    ).write_parquet(hour / "part-1.parquet")
    stale = tmp_path / "model=bc" / "version=2" / "hour=2026-04-30T10"
    stale.mkdir(parents=True)
    (stale / "part-0.parquet").write_bytes(b"not parquet: opening this would fail")
    arms = read_log(tmp_path, "bc", (2, 1), t - timedelta(minutes=5), t + timedelta(minutes=5))
    canary = arms[2]
    assert canary.requests == 3 and arms[1].requests == 0
    by_latency = dict(zip(canary.latency_ms.tolist(), canary.errors.tolist(), strict=True))
    assert by_latency == {5.0: False, 7.0: True, 9.0: True}  # b failed (500), c answered NaN
    assert sorted(np.nan_to_num(canary.predictions, nan=-1).tolist()) == [-1.0, 0.1, 0.2]
