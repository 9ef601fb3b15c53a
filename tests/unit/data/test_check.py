"""``check``: validation and drift from one read of the current data, one report, one verdict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mlgate.data.check import check
from mlgate.data.drift import DriftConfig
from mlgate.data.profile import profile
from mlgate.data.schema import infer_schema
from mlgate.data.validate import validate


def batch(n: int, seed: int, *, shift: float = 0.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "amount": rng.lognormal(3 + shift, 1.0, n),
            "age": rng.integers(18, 90, n),
            "city": rng.choice(["paris", "lyon", "nice"], n),
        }
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, df in (
        ("ref", batch(3_000, 1)),
        ("same", batch(2_000, 2)),
        ("moved", batch(2_000, 3, shift=1.0)),
        ("broken", batch(2_000, 4).with_columns(pl.when(pl.col("age") == 30).then(-1).otherwise("age").alias("age"))),
    ):
        paths[name] = tmp_path / f"{name}.parquet"
        df.write_parquet(paths[name])
    paths["schema"] = infer_schema(paths["ref"]).save(tmp_path / "schema.yaml")
    return paths


def test_clean_data_passes_both_halves(files: dict[str, Path]) -> None:
    report = check(files["ref"], files["same"], files["schema"])
    assert report.ok and report.validation.ok and not report.drift.dataset_drift
    assert report.validation == validate(files["same"], files["schema"]), "the same validation as on its own"
    assert report.drift.engine == "sketch" and report.drift.rows_cur == 2_000
    assert report.summary().startswith("passed: schema passed; no dataset drift")
    doc = report.to_dict()
    assert doc["ok"] is True and doc["validation"]["ok"] is True and doc["drift"]["dataset_drift"] is False


def test_a_violation_or_drift_fails_the_check(files: dict[str, Path]) -> None:
    broken = check(files["ref"], files["broken"], files["schema"])
    assert not broken.ok and not broken.drift.dataset_drift
    assert {(v.column, v.rule) for v in broken.validation.violations} == {("age", "range_min")}
    assert broken.summary().startswith("failed: 1 schema violation;")
    moved = check(profile(files["ref"]), files["moved"], files["schema"], config=DriftConfig(share=0.3))
    assert not moved.ok and moved.validation.ok and "amount" in moved.drift.drifted_columns
    md = moved.to_markdown()
    assert md.startswith("## Data check: ❌ failed") and "### Data validation" in md and "## Data drift" in md


def test_a_missing_column_fails_validation_and_drift(files: dict[str, Path], tmp_path: Path) -> None:
    cur = tmp_path / "less.parquet"
    batch(2_000, 5).drop("city").write_parquet(cur)
    report = check(files["ref"], cur, files["schema"])
    assert not report.ok
    assert ("city", "missing_column") in {(v.column, v.rule) for v in report.validation.violations}
    assert report.drift.missing_columns == ["city"]
