"""Latency and size budgets: figures are always reported, only the bounds given decide."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlgate
from mlgate.errors import ConfigError
from mlgate.gates.budgets import MB, figures, latency, size, verdicts


class CountingModel:
    """Counts the rows it is asked about, to show which calls the measurement makes."""

    def __init__(self, est: Any) -> None:
        self.est = est
        self.calls: list[int] = []

    def predict(self, X: Any) -> Any:
        self.calls.append(len(X))
        return self.est.predict(X)


class Broken:
    def predict(self, X: Any) -> Any:
        raise RuntimeError("GPU not available")


def test_latency_without_bounds_reports_the_figures(registry: Any, breast_cancer: Any, sk_model: Any) -> None:
    X, _ = breast_cancer
    mv = mlgate.log_model(sk_model, "bc", sample_input=X.head(5), registry=registry)
    model = mlgate.load_model(mv.ref, registry=registry)
    checks = latency(model, X, repeats=20, batch_repeats=3, batch_size=100, warmup=1)
    assert [(c.name, c.kind, c.status) for c in checks] == [
        ("latency (one row)", "latency", "pass"),
        ("latency (batch of 100)", "latency", "pass"),
    ]
    one, batch = checks
    assert one.details["repeats"] == 20 and batch.details["repeats"] == 3
    assert batch.details["batch_size"] == 100
    for c in checks:
        d = c.details
        assert 0 < d["p50_ms"] <= d["p99_ms"] <= d["max_ms"]
        assert c.value == d["p50_ms"] and c.bound is None
        assert c.message.startswith("measured: p50 ") and c.message.endswith("; no budget set")
    assert batch.details["p50_ms_per_row"] == pytest.approx(batch.details["p50_ms"] / 100)


def test_latency_times_the_calls_it_says_it_times(breast_cancer: Any, sk_model: Any) -> None:
    X, _ = breast_cancer
    model = CountingModel(sk_model)
    latency(model, X.head(30), repeats=7, batch_repeats=2, batch_size=64, warmup=3)
    # one-row calls (3 warm-up + 7 timed), then batches of 64 rows built by cycling through the 30 rows
    assert model.calls == [1] * 10 + [64] * 5


def test_each_bound_gives_its_own_check() -> None:
    measured = {"p50_ms": 1.5, "p99_ms": 4.0, "mean_ms": 1.7, "max_ms": 4.2, "repeats": 100}
    checks = verdicts("one row", measured, {"p50": 2.0, "p99": 3.0})
    assert [(c.name, c.status, c.value, c.bound, c.metric) for c in checks] == [
        ("p50 latency (one row) <= 2 ms", "pass", 1.5, 2.0, "p50_ms"),
        ("p99 latency (one row) <= 3 ms", "fail", 4.0, 3.0, "p99_ms"),
    ]
    assert checks[1].message == "p99 4 ms exceeds 3 ms; measured: p50 1.5 ms, p99 4 ms (one row, 100 calls)"
    assert checks[0].message.startswith("p50 1.5 ms <= 2 ms; measured:")
    assert [c.name for c in verdicts("one row", measured, {"p50": None, "p99": 5.0})] == [
        "p99 latency (one row) <= 5 ms"
    ]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(1e-6, 10.0), min_size=1, max_size=200), st.floats(0.01, 10_000.0))
def test_a_bound_passes_exactly_when_the_figure_is_within_it(seconds: list[float], bound: float) -> None:
    measured = figures(seconds)
    assert measured["p50_ms"] <= measured["p99_ms"] <= measured["max_ms"]
    assert measured["repeats"] == len(seconds)
    (check,) = verdicts("one row", measured, {"p99": bound})
    assert (check.status == "pass") == (measured["p99_ms"] <= bound)


def test_a_model_that_raises_gives_error_checks_with_the_bound_names(breast_cancer: Any) -> None:
    X, _ = breast_cancer
    checks = latency(Broken(), X, p99_ms=20, batch_p50_ms=100, batch_size=10, repeats=2, batch_repeats=1)
    assert [(c.name, c.status) for c in checks] == [
        ("p99 latency (one row) <= 20 ms", "error"),
        ("p50 latency (batch of 10) <= 100 ms", "error"),
    ]
    assert checks[0].message == "the model raised RuntimeError while latency was measured: GPU not available"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p50_ms": -1}, r"'p50_ms' must be a positive number of milliseconds, got -1"),
        ({"p99_ms": "fast"}, r"'p99_ms' must be a positive number of milliseconds, got 'fast'"),
        ({"batch_p99_ms": 0}, r"'batch_p99_ms' must be a positive number"),
        ({"batch_size": 0}, r"'batch_size' must be an integer >= 1, got 0"),
        ({"repeats": 2.5}, r"'repeats' must be an integer >= 1, got 2\.5"),
        ({"warmup": -1}, r"'warmup' must be an integer >= 0, got -1"),
    ],
)
def test_bad_latency_options_raise_naming_the_key(breast_cancer: Any, sk_model: Any, kwargs: Any, match: str) -> None:
    X, _ = breast_cancer
    with pytest.raises(ConfigError, match=match):
        latency(sk_model, X, **kwargs)


def test_size_holds_the_stored_bytes_to_the_budget(registry: Any, breast_cancer: Any, sk_model: Any) -> None:
    X, _ = breast_cancer
    mv = mlgate.log_model(sk_model, "bc", sample_input=X.head(5), registry=registry)
    mb = mv.size_bytes / MB
    ok = size(mv, max_mb=50)
    assert (ok.name, ok.kind, ok.status, ok.bound) == ("size <= 50 MB", "size", "pass", 50.0)
    assert ok.value == pytest.approx(mb)
    assert ok.details["bytes"] == mv.size_bytes
    assert ok.message == f"{mv.ref} is {mb:.3g} MB, within 50 MB"
    tight = mb / 2
    over = size(mlgate.load_model(mv.ref, registry=registry), max_mb=tight)
    assert over.status == "fail"
    assert over.message == f"{mv.ref} is {mb:.3g} MB, over the budget of {tight:g} MB"


@pytest.mark.parametrize("bad", [0, -5, "50MB", float("inf"), True, np.nan])
def test_a_bad_size_budget_raises(bad: Any) -> None:
    with pytest.raises(ConfigError, match=r"'max_mb' must be a positive number of megabytes"):
        size(object(), max_mb=bad)
