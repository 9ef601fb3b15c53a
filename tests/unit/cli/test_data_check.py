"""``mlgate data check REFERENCE CURRENT --schema S`` through the real entry point ``main()``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mlgate.data.schema import infer_schema


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(7)
    ref = pl.DataFrame({"amount": rng.lognormal(3, 1, 3_000), "age": rng.integers(18, 90, 3_000)})
    paths = {"ref": tmp_path / "ref.parquet", "same": tmp_path / "same.parquet", "broken": tmp_path / "broken.parquet"}
    ref.write_parquet(paths["ref"])
    ref.sample(2_000, seed=1).write_parquet(paths["same"])
    ref.sample(2_000, seed=2).with_columns(age=pl.lit(-1)).write_parquet(paths["broken"])
    paths["schema"] = infer_schema(paths["ref"]).save(tmp_path / "schema.yaml")
    return paths


def test_command_line(data_cli, files: dict[str, Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ok = data_cli("data", "check", str(files["ref"]), str(files["same"]), "--schema", str(files["schema"]))
    assert ok.code == 0, ok.err
    assert "✅ passed" in ok.out and "compared with threshold" in ok.out and "check passed" in ok.out
    summary = tmp_path / "summary.md"
    bad = data_cli(
        "data", "check", str(files["ref"]), str(files["broken"]), "-s", str(files["schema"]), "--json",
        "--markdown", str(summary),
    )  # fmt: skip
    assert bad.code == 1 and bad.json()["ok"] is False and bad.json()["validation"]["failed"] == 1
    assert summary.read_text().startswith("## Data check: ❌ failed")
    missing = data_cli("data", "check", str(files["ref"]), str(files["same"]), "--schema", "nope.yaml")
    assert missing.code == 2 and "schema file nope.yaml does not exist" in missing.err
