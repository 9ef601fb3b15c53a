"""The schema model: rules, YAML written for people and read back, and problems with the file itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.data.schema import ColumnSchema, Range, Schema
from mlgate.errors import ConfigError, NotFoundError


def test_schema_file_problems(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"schema file nope\.yaml does not exist[\s\S]*schema infer"):
        Schema.load("nope.yaml")
    Path("empty.yaml").write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match=r"empty\.yaml: the schema file is empty"):
        Schema.load("empty.yaml")
    Path("latin.yaml").write_bytes("format: mlgate.schema/1\ncolumns: {café: {}}\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin\.yaml: not UTF-8 text"):
        Schema.load("latin.yaml")
    Path("list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match=r"list\.yaml:1: the top level must be a mapping"):
        Schema.load("list.yaml")


def test_names_yaml_would_misread_survive_the_file() -> None:
    names = ["yes", "1", "null", "a: b", "#hash", "plain"]
    schema = Schema({n: ColumnSchema(n, "Int64", nullable=False) for n in names}, rows_min=1, target="yes")
    loaded = Schema.load(schema.save("odd.schema.yaml"))
    assert list(loaded.columns) == names and loaded == schema and loaded.target == "yes"


def test_rules_are_written_in_the_files_order_and_only_when_set() -> None:
    col = ColumnSchema("age", "Int64", nullable=False, range=Range(18, 95), slack=0.1, unique=True, description="years")
    assert list(col.to_dict()) == ["dtype", "nullable", "range", "slack", "unique", "description"]
    assert ColumnSchema("free").to_dict() == {}
    lines = Schema({"age": col}).to_yaml().splitlines()
    assert lines[-1] == (
        "  age: {dtype: Int64, nullable: false, range: {min: 18, max: 95}, slack: 0.1, unique: true, "
        "description: years}"
    )


def test_slack_widens_a_closed_range_only() -> None:
    assert Range(0, 10).bounds(0.1) == pytest.approx((-1.0, 11.0))
    assert Range(0, 10).bounds(0.0) == (0, 10)
    assert Range(None, 10).bounds(0.5) == (None, 10)


def test_a_column_kind_comes_from_its_dtype_or_its_range() -> None:
    assert ColumnSchema("a", "Int32").kind == "integer"
    assert ColumnSchema("a", range=Range(0, 1)).kind == "float"
    assert ColumnSchema("a").kind is None
