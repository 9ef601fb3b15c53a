"""``mlgate data schema infer`` from a profile JSON, through the real entry point ``main()``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mlgate.data.schema import Schema, infer_schema


@pytest.fixture
def train(tmp_path: Path) -> Path:
    rng = np.random.default_rng(12)
    n = 2_000
    path = tmp_path / "train.parquet"
    pl.DataFrame(
        {
            "id": rng.permutation(n),
            "age": rng.integers(18, 96, n),
            "plan": rng.choice(["basic", "pro", "team"], n),
            "churned": rng.integers(0, 2, n),
        }
    ).write_parquet(path)
    return path


def test_infer_from_a_profile_json_matches_the_data_and_notes_what_it_cannot_tell(data_cli, train: Path) -> None:  # type: ignore[no-untyped-def]
    assert data_cli("data", "profile", str(train), "-o", "train.profile.json").code == 0
    r = data_cli("data", "schema", "infer", "train.profile.json", "--target", "churned", "--slack", "0.1")
    assert r.code == 0, r.err
    assert "wrote mlgate.schema.yaml: 4 columns, no row bounds" in r.out
    assert "note column 'id' may hold only distinct values" in r.err and "unique is not knowable" in r.err
    from_profile = Schema.load("mlgate.schema.yaml")
    from_data = infer_schema(train, target="churned", slack=0.1)
    assert from_data.columns["id"].unique and not from_profile.columns["id"].unique
    assert {n: c for n, c in from_profile.columns.items() if n != "id"} == {
        n: c for n, c in from_data.columns.items() if n != "id"
    }
    assert from_profile.columns["churned"].categories == (0, 1)
    ok = data_cli("data", "validate", str(train))
    assert ok.code == 0 and "✅ passed" in ok.out


def test_infer_from_a_profile_json_prints_json(data_cli, train: Path) -> None:  # type: ignore[no-untyped-def]
    assert data_cli("data", "profile", str(train), "-o", "p.json").code == 0
    r = data_cli("data", "schema", "infer", "p.json", "--json", "-o", "s.yaml")
    assert r.code == 0, r.err
    assert r.json()["columns"]["plan"]["categories"] == ["basic", "pro", "team"]


def test_infer_refuses_a_json_file_that_is_not_a_profile(data_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other.json"
    other.write_text('{"format": "something/1"}')
    r = data_cli("data", "schema", "infer", str(other))
    assert r.code == 2
    assert "is a JSON file but not an mlgate profile" in r.err and not Path("mlgate.schema.yaml").exists()
