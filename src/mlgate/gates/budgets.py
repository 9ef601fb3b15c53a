"""Budgets: how long the model takes to predict on this machine, and how large it is.

Latency is measured with :func:`time.perf_counter` around real ``predict`` calls: ``repeats`` calls on
one row each (cycling through the rows of ``X``), then ``batch_repeats`` calls on ``batch_size`` rows,
each after ``warmup`` untimed calls. The input is shaped for the model before the clock starts; a
``LoadedModel`` still shapes it inside ``predict`` (matching columns by name), as it does when serving.
Figures are milliseconds per call; percentiles interpolate linearly. Only the bounds given decide pass
or fail, and the figures are reported either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mlgate.errors import ConfigError
from mlgate.gates.calls import Predictor, as_frame
from mlgate.gates.types import Check

MB = 1_000_000  # sizes are in decimal megabytes, as file browsers and cloud consoles show them


def _bound(value: Any, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not 0 < value < float("inf"):
        raise ConfigError(f"{key!r} must be a positive number of milliseconds, got {value!r}", hint=f"{key}: 20")
    return float(value)


def _count(value: Any, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{key!r} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _time_calls(fn: Callable[[Any], Any], inputs: list[Any], warmup: int) -> list[float]:
    """Seconds per call, the first ``warmup`` calls untimed."""
    times = []
    for i, item in enumerate(inputs):
        start = time.perf_counter()
        fn(item)
        elapsed = time.perf_counter() - start
        if i >= warmup:
            times.append(elapsed)
    return times


def figures(seconds: list[float]) -> dict[str, float]:
    """p50, p99, mean and max in milliseconds, and how many calls they summarise."""
    ms = np.asarray(seconds, dtype=float) * 1000.0
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
        "max_ms": float(ms.max()),
        "repeats": len(ms),
    }


def verdicts(scope: str, measured: dict[str, Any], bounds: dict[str, float | None]) -> list[Check]:
    """One check per bound given (``{"p50": 5.0, "p99": None}``), or one report-only check when none is."""
    summary = f"p50 {measured['p50_ms']:.3g} ms, p99 {measured['p99_ms']:.3g} ms ({scope}, {measured['repeats']} calls)"
    given = {stat: bound for stat, bound in bounds.items() if bound is not None}
    if not given:
        return [
            Check(
                name=f"latency ({scope})",
                kind="latency",
                status="pass",
                message=f"measured: {summary}; no budget set",
                metric="p50_ms",
                value=measured["p50_ms"],
                details=dict(measured),
            )
        ]
    checks = []
    for stat, bound in given.items():
        value = measured[f"{stat}_ms"]
        ok = value <= bound
        verdict = f"{stat} {value:.3g} ms <= {bound:g} ms" if ok else f"{stat} {value:.3g} ms exceeds {bound:g} ms"
        checks.append(
            Check(
                name=f"{stat} latency ({scope}) <= {bound:g} ms",
                kind="latency",
                status="pass" if ok else "fail",
                message=f"{verdict}; measured: {summary}",
                metric=f"{stat}_ms",
                value=value,
                bound=bound,
                details=dict(measured),
            )
        )
    return checks


def _errors(scope: str, bounds: dict[str, float | None], message: str) -> list[Check]:
    given = {stat: bound for stat, bound in bounds.items() if bound is not None}
    names = [f"{stat} latency ({scope}) <= {bound:g} ms" for stat, bound in given.items()] or [f"latency ({scope})"]
    return [Check(name=name, kind="latency", status="error", message=message) for name in names]


def latency(
    model: Any,
    X: Any,
    *,
    p50_ms: float | None = None,
    p99_ms: float | None = None,
    batch_p50_ms: float | None = None,
    batch_p99_ms: float | None = None,
    batch_size: int = 1000,
    repeats: int = 100,
    batch_repeats: int = 10,
    warmup: int = 5,
) -> list[Check]:
    """One-row and batch latency of ``model`` on rows of ``X``, held to the bounds given (milliseconds)."""
    one_row = {"p50": _bound(p50_ms, "p50_ms"), "p99": _bound(p99_ms, "p99_ms")}
    batched = {"p50": _bound(batch_p50_ms, "batch_p50_ms"), "p99": _bound(batch_p99_ms, "batch_p99_ms")}
    batch_size = _count(batch_size, "batch_size", 1)
    repeats = _count(repeats, "repeats", 1)
    batch_repeats = _count(batch_repeats, "batch_repeats", 1)
    warmup = _count(warmup, "warmup", 0)
    single_scope, batch_scope = "one row", f"batch of {batch_size}"

    def failed(message: str) -> list[Check]:
        return _errors(single_scope, one_row, message) + _errors(batch_scope, batched, message)

    frame, named = as_frame(X)
    if len(frame) == 0:
        return failed("no rows to measure latency on")
    try:
        predictor = Predictor(model, arrays=not named)
        n = len(frame)
        singles = [predictor.shape(frame.iloc[[i % n]]) for i in range(warmup + repeats)]
        batch = predictor.shape(frame.iloc[np.arange(batch_size) % n])
        single_times = _time_calls(predictor.model.predict, singles, warmup)
        batch_times = _time_calls(predictor.model.predict, [batch] * (warmup + batch_repeats), warmup)
    except Exception as exc:  # the model's fault, reported on the checks rather than raised
        return failed(f"the model raised {type(exc).__name__} while latency was measured: {exc}")
    single = figures(single_times)
    batch_figures = {**figures(batch_times), "batch_size": batch_size}
    batch_figures["p50_ms_per_row"] = batch_figures["p50_ms"] / batch_size
    return verdicts(single_scope, single, one_row) + verdicts(batch_scope, batch_figures, batched)


def size(model_version: Any, *, max_mb: float) -> Check:
    """Whether the version's stored files (``size_bytes``) fit in ``max_mb`` decimal megabytes."""
    bound = max_mb
    if isinstance(bound, bool) or not isinstance(bound, int | float | np.number) or not 0 < bound < float("inf"):
        raise ConfigError(f"'max_mb' must be a positive number of megabytes, got {max_mb!r}", hint="max_mb: 50")
    mv = getattr(model_version, "metadata", model_version)  # a LoadedModel works too
    mb = mv.size_bytes / MB
    ok = mb <= bound
    return Check(
        name=f"size <= {bound:g} MB",
        kind="size",
        status="pass" if ok else "fail",
        message=f"{mv.ref} is {mb:.3g} MB" + (f", within {bound:g} MB" if ok else f", over the budget of {bound:g} MB"),
        value=mb,
        bound=float(bound),
        details={
            "bytes": int(mv.size_bytes),
            "files": len(getattr(mv, "manifest", {}) or {}),
            "unit": "MB = 10^6 bytes",
        },
    )
