"""``mlgate data profile`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mlgate.cli import main
from mlgate.data.profile import FORMAT, Profile


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """``run("data", "profile", …)`` → (exit code, stdout, stderr)."""
    monkeypatch.setenv("COLUMNS", "200")

    def call(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 2_000
    df = pl.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "plan": np.array(["basic", "pro", "team"])[rng.choice(3, n, p=[0.6, 0.3, 0.1])],
            "active": rng.random(n) < 0.8,
        }
    ).with_columns(pl.when(pl.int_range(pl.len()) % 10 == 0).then(None).otherwise(pl.col("age")).alias("age"))
    path = tmp_path / "users.parquet"
    df.write_parquet(path)
    return path


def test_table(run, data_file: Path):
    code, out, err = run("data", "profile", str(data_file))
    assert code == 0, err
    assert "2,000 rows × 3 columns" in out
    age = next(line for line in out.splitlines() if "age" in line)
    assert "numeric" in age and "10.0" in age  # every tenth age is null
    plan = next(line for line in out.splitlines() if "plan" in line)
    assert "categorical" in plan and "basic (" in plan  # a pipe: one plain row per column
    assert "boolean" in out and "true (" in out


def test_output_file_and_json(run, data_file: Path, tmp_path: Path):
    target = tmp_path / "out" / "users.profile.json"
    code, out, _ = run("data", "profile", str(data_file), "-o", str(target), "--json")
    assert code == 0
    printed = json.loads(out)
    assert printed["format"] == FORMAT and printed["rows"] == 2_000
    assert [c["name"] for c in printed["columns"]] == ["age", "plan", "active"]
    saved = Profile.load(target)
    assert saved.digest == printed["digest"] and saved.columns["age"].nulls == 200
    code, out, _ = run("data", "profile", str(data_file), "-o", str(target), "--column", "plan")
    assert code == 0 and f"wrote {target}" in out.replace("\n", "")
    assert list(Profile.load(target).columns) == ["plan"]


def test_csv_with_format_option(run, tmp_path: Path):
    path = tmp_path / "data.txt"
    path.write_text("a,b\n1,x\n2,y\n")
    code, out, _ = run("data", "profile", str(path), "--format", "csv", "--json")
    assert code == 0
    assert {c["name"]: c["kind"] for c in json.loads(out)["columns"]} == {"a": "numeric", "b": "categorical"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("name,v\ncafé,1\n".encode("latin-1"), "UTF-8"),
        (b"a,b\n", "is empty"),
    ],
)
def test_bad_input_exits_2(run, tmp_path: Path, content: bytes | None, message: str):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run("data", "profile", str(path))
    assert code == 2 and message in err and "Traceback" not in err
    assert out == ""


def test_unknown_column_exits_2(run, data_file: Path):
    code, _, err = run("data", "profile", str(data_file), "--column", "nope")
    assert code == 2 and "column 'nope' is not in the data" in err
