"""``mlgate data schema infer`` and ``mlgate data validate`` through the real entry point ``main()``.

The exit codes come from ``main()``'s one mapping, through the real command tree.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest


@pytest.fixture
def train(tmp_path: Path) -> Path:
    rng = np.random.default_rng(11)
    n = 300
    path = tmp_path / "train.parquet"
    pl.DataFrame(
        {
            "id": np.arange(n),
            "age": rng.integers(18, 96, n),
            "plan": rng.choice(["basic", "pro", "team"], n),
            "churned": rng.integers(0, 2, n),
        }
    ).write_parquet(path)
    return path


def test_infer_then_validate(data_cli, train: Path) -> None:  # type: ignore[no-untyped-def]
    r = data_cli("data", "schema", "infer", str(train), "--slack", "0.1", "--target", "churned")
    assert r.code == 0, r.err
    assert "wrote mlgate.schema.yaml: 4 columns, no row bounds, fractions tested at alpha 0.001" in r.out
    text = Path("mlgate.schema.yaml").read_text()
    assert "target: churned" in text and "churned: {dtype: Int64, nullable: false, range: {min: 0, max: 1}" in text
    ok = data_cli("data", "validate", str(train))
    assert ok.code == 0 and "✅ passed" in ok.out and "300 rows, 4 columns" in ok.out


def test_infer_refuses_to_overwrite(data_cli, train: Path) -> None:  # type: ignore[no-untyped-def]
    Path("mine.yaml").write_text("# hand-edited\n")
    r = data_cli("data", "schema", "infer", str(train), "-o", "mine.yaml")
    assert r.code == 2 and "mine.yaml already exists" in r.err and "--force" in r.err
    assert Path("mine.yaml").read_text() == "# hand-edited\n"
    forced = data_cli("data", "schema", "infer", str(train), "-o", "mine.yaml", "--force", "--json")
    assert forced.code == 0 and forced.json()["columns"]["plan"]["categories"] == ["basic", "pro", "team"]


def test_violations_exit_1_with_table_json_and_markdown(data_cli, train: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert data_cli("data", "schema", "infer", str(train)).code == 0
    bad = tmp_path / "bad.csv"
    frame = pl.read_parquet(train).with_columns(
        age=pl.when(pl.col("id") == 4).then(500).otherwise(pl.col("age")),
        plan=pl.when(pl.col("id").is_in([8, 9])).then(pl.lit("gold")).otherwise(pl.col("plan")),
    )
    frame.write_csv(bad)
    r = data_cli("data", "validate", str(bad))
    assert r.code == 1, r.err
    assert "2 violation(s)" in r.out and "range_max" in r.out and "4: 500" in r.out
    assert "categories" in r.out and "8: 'gold', 9: 'gold'" in r.out and "header line excluded" in r.out
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    js = data_cli("data", "validate", str(bad), "--schema", "mlgate.schema.yaml", "--json", "--markdown", str(summary))
    assert js.code == 1
    report = js.json()
    assert [(v["column"], v["rule"], v["rows"]) for v in report["violations"]] == [
        ("age", "range_max", 1),
        ("plan", "categories", 2),
    ]
    assert report["violations"][1]["examples"] == [{"row": 8, "value": "gold"}, {"row": 9, "value": "gold"}]
    md = summary.read_text()
    assert md.startswith("earlier step\n### Data validation: ❌ 2 violations")  # appended, not overwritten
    assert "| ❌ | `plan` | categories | 2 | 8: gold, 9: gold |" in md


def test_bad_input_and_schema_exit_2(data_cli, train: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    no_schema = data_cli("data", "validate", str(train))
    assert no_schema.code == 2 and "schema file mlgate.schema.yaml does not exist" in no_schema.err
    assert "mlgate data schema infer" in no_schema.err
    Path("mlgate.schema.yaml").write_text(
        "format: mlgate.schema/1\ncolumns:\n  age: {dtype: Int64, range: {min: eighteen}}\n"
    )
    broken = data_cli("data", "validate", str(train))
    assert broken.code == 2
    assert "mlgate.schema.yaml:3: columns.age.range.min must be a number, got 'eighteen'" in broken.err
    assert "Traceback" not in broken.err
    missing = data_cli("data", "validate", str(tmp_path / "nope.csv"), "--schema", "x.yaml")
    assert missing.code == 2 and "does not exist" in missing.err
    latin = tmp_path / "latin.csv"
    latin.write_bytes("age\n1\nJosé\n".encode("latin-1"))
    unreadable = data_cli("data", "schema", "infer", str(latin), "-o", "x.yaml")
    assert unreadable.code == 2 and "latin.csv: data is not valid UTF-8" in unreadable.err
    assert not Path("x.yaml").exists()


def test_json_is_strict(data_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "d.parquet"
    pl.DataFrame({"x": [1.0, float("inf"), 3.0]}).write_parquet(data)
    Path("mlgate.schema.yaml").write_text("format: mlgate.schema/1\ncolumns:\n  x: {dtype: Float64, range: {max: 5}}\n")
    r = data_cli("data", "validate", str(data), "--json")
    assert r.code == 1
    parsed = json.loads(r.out, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert parsed["violations"][0]["examples"] == [{"row": 1, "value": "inf"}]


# -- no DATA: data.train and data.eval from mlgate.yaml ----------------------------------------


def _project(train: Path, data: str) -> Path:
    """A project in the current folder whose data lives under data/; ``data`` is its mlgate.yaml data section."""
    Path("data").mkdir()
    pl.read_parquet(train).write_csv("data/train.csv")
    pl.read_parquet(train).head(100).write_csv("data/test.csv")
    Path("mlgate.yaml").write_text(f"project: churn\n{data}", encoding="utf-8")
    return Path.cwd()


def test_without_data_validates_train_and_eval_from_mlgate_yaml(data_cli, train: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _project(train, "data:\n  train: data/train.csv\n  eval: data/test.csv\n  schema: schemas/churn.yaml\n")
    Path("schemas").mkdir()
    assert data_cli("data", "schema", "infer", "data/train.csv", "-o", "schemas/churn.yaml").code == 0
    Path("sub").mkdir()
    monkeypatch.chdir("sub")  # from a subfolder too: paths are the project's
    r = data_cli("data", "validate")
    assert r.code == 0, r.err
    assert "data.train" in r.out and "data/train.csv: 300 rows" in r.out
    assert "data.eval" in r.out and "data/test.csv: 100 rows" in r.out
    js = data_cli("data", "validate", "--json")
    assert js.code == 0 and list(js.json()) == ["data.train", "data.eval"]
    assert js.json()["data.eval"]["rows"] == 100 and js.json()["data.eval"]["ok"] is True


def test_without_data_one_failing_file_fails_and_both_are_reported(data_cli, train: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _project(train, "data:\n  train: data/train.csv\n  eval: data/test.csv\n")
    assert data_cli("data", "schema", "infer", "data/train.csv").code == 0
    frame = pl.read_csv("data/test.csv").with_columns(plan=pl.lit("gold"))
    frame.write_csv("data/test.csv")
    r = data_cli("data", "validate")
    assert r.code == 1, r.err
    assert "✅ passed data/train.csv" in r.out and "failed data/test.csv" in r.out and "categories" in r.out
    summary = tmp_path / "summary.md"
    assert data_cli("data", "validate", "--markdown", str(summary)).code == 1
    assert summary.read_text().count("### Data validation") == 2


def test_without_data_and_none_configured_exit_2(data_cli, train: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    Path("mlgate.yaml").write_text("project: churn\n", encoding="utf-8")
    r = data_cli("data", "validate")
    assert r.code == 2 and "Missing argument" not in r.err
    assert "nothing to validate: no DATA argument, and neither data.train nor data.eval is set in" in r.err
    assert "mlgate data validate FILE" in r.err


def test_without_data_a_missing_file_names_its_key_and_line(data_cli, train: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _project(train, "data:\n  train: data/train.csv\n  eval: data/tset.csv\n")
    assert data_cli("data", "schema", "infer", "data/train.csv").code == 0
    r = data_cli("data", "validate")
    assert r.code == 2
    assert f"{Path.cwd() / 'mlgate.yaml'}:4: data.eval data/tset.csv does not exist" in " ".join(r.err.split())
    assert "fix the path in mlgate.yaml" in r.err


def test_usage_shows_data_as_optional(data_cli) -> None:  # type: ignore[no-untyped-def]
    r = data_cli("data", "validate", "--help")
    assert r.code == 0 and "validate [OPTIONS] [DATA]" in r.out and "{data}" not in r.out


def test_without_data_data_validate_names_the_files_as_for_ci(data_cli, train: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _project(train, "data:\n  train: data/train.csv\n  validate: [data/test.csv, data/gone.csv]\n")
    assert data_cli("data", "schema", "infer", "data/train.csv").code == 0
    r = data_cli("data", "validate")
    assert r.code == 2 and "mlgate.yaml:4: data.validate[1] data/gone.csv does not exist" in " ".join(r.err.split())
    Path("mlgate.yaml").write_text("data:\n  validate: data/test.csv\n", encoding="utf-8")
    assert list(data_cli("data", "validate", "--json").json()) == ["data.validate"]
