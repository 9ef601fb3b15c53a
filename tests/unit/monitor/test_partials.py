"""Partials of log files: the fused profiling pass gives what separate passes give, windows split a file exactly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from mlgate.data.profile import profile
from mlgate.monitor.partials import Columns, Partial, compute, read
from mlgate.monitor.quality import QualityReference
from mlgate.serve.logfiles import log_files

UTC = dt.UTC
H0 = dt.datetime(2024, 5, 1, 9, tzinfo=UTC)


@pytest.fixture
def logged(monitored: Any, log_hour: Any, tmp_path: Path) -> tuple[pl.DataFrame, Columns, QualityReference]:
    folder = tmp_path / "log"
    shifted = monitored.test.copy()
    shifted["mean radius"] = shifted["mean radius"] * 3  # values out of the training range
    log_hour(folder, monitored.served, shifted, H0, requests=40)
    names = list(monitored.train.columns)
    columns = Columns({n: n for n in names}, ["prediction"])
    (path,) = log_files(folder)
    from mlgate.models import training_profile

    train = training_profile(monitored.registry.get("bc@production"), registry=monitored.registry)
    assert train is not None
    return read(path, columns), columns, QualityReference.from_profile(train)


def test_one_pass_gives_the_profiles_and_counts_of_separate_passes(
    logged: tuple[pl.DataFrame, Columns, QualityReference],
) -> None:
    frame, columns, quality = logged
    assert "request_id" not in frame.columns and "error" not in frame.columns  # only what a partial needs
    (p,) = compute(frame, dt.timedelta(hours=1), columns, quality).values()
    scored = frame.filter(pl.col("status") == 200)
    inputs = scored.select(list(columns.inputs))
    alone = profile(inputs, allow_empty=True)
    assert p.inputs is not None and list(p.inputs.columns) == list(alone.columns)
    for name, col in alone.columns.items():
        fused = p.inputs.columns[name]
        assert (fused.name, fused.count, fused.nulls, fused.min, fused.max) == (
            name,
            col.count,
            col.nulls,
            col.min,
            col.max,
        )
        assert fused.mean == pytest.approx(col.mean)
    counts, _ = quality.count(inputs)
    assert p.quality == counts and p.quality["mean radius"]["above"] > 50
    outs = scored.select(["prediction", *[c for c in scored.columns if c.startswith("proba_")]])
    assert p.outputs is not None and set(p.outputs.columns) == set(outs.columns)
    probs = outs.select(pl.col("^proba_.*$")).to_numpy()
    assert p.confident_rows == len(probs)
    assert p.confidence_sum == pytest.approx(float(probs.max(axis=1).sum()))
    assert sum(p.score_rows or []) == len(probs)


def test_windows_shorter_than_a_file_split_it_and_merge_back(
    logged: tuple[pl.DataFrame, Columns, QualityReference],
) -> None:
    frame, columns, quality = logged
    hour = compute(frame, dt.timedelta(hours=1), columns, quality)
    quarters = compute(frame, dt.timedelta(minutes=15), columns, quality)
    assert len(hour) == 1 and len(quarters) == 4
    assert [w.start for w in sorted(quarters)] == [H0 + dt.timedelta(minutes=15 * i) for i in range(4)]
    merged = Partial()
    for w in sorted(quarters):
        merged = merged.merge(quarters[w])
    (whole,) = hour.values()
    assert (merged.requests, merged.rows, merged.errors, merged.quality) == (
        whole.requests,
        whole.rows,
        whole.errors,
        whole.quality,
    )
    assert merged.confidence_sum == pytest.approx(whole.confidence_sum)
    assert merged.inputs is not None and whole.inputs is not None
    assert merged.inputs.columns["mean radius"].mean == pytest.approx(whole.inputs.columns["mean radius"].mean)
    assert "_window" not in frame.columns


def test_an_input_named_like_an_output_is_profiled_apart() -> None:
    rng = np.random.default_rng(0)
    n = 50
    frame = pl.DataFrame(
        {
            "time": pl.Series([H0] * n).dt.cast_time_unit("us"),
            "row": pl.Series(np.zeros(n, dtype="int32")),
            "status": pl.Series(np.full(n, 200, dtype="int16")),
            "latency_ms": rng.gamma(2.0, 1.0, n),
            "input_prediction": rng.normal(size=n),  # an input called "prediction", logged under another name
            "prediction": rng.integers(0, 2, n),
        }
    )
    columns = Columns({"input_prediction": "prediction"}, ["prediction"])
    (p,) = compute(frame, dt.timedelta(hours=1), columns, None).values()
    assert p.inputs is not None and p.outputs is not None
    assert p.inputs.columns["prediction"].kind == "numeric"
    assert p.inputs.columns["prediction"].mean == pytest.approx(float(frame["input_prediction"].mean()))
    assert p.outputs.columns["prediction"].mean == pytest.approx(float(frame["prediction"].mean()))
