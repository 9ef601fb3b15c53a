"""Reading a schema file: the documented example, and every mistake named by its line and key path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlgate.data.schema import Range, Schema
from mlgate.errors import ConfigError

BASE = """\
format: mlgate.schema/1
rows: {min: 100, max: null}
columns:
  age:    {dtype: Int64, nullable: false, range: {min: 18, max: 95}, slack: 0.1}
  income: {dtype: Float64, max_null_fraction: 0.02, range: {min: 0.0, max: 2.5e5}}
  plan:   {dtype: String, categories: [basic, pro, team], max_unseen_fraction: 0.0}
  email:  {dtype: String, pattern: '^[^@]+@[^@]+$'}
  id:     {dtype: Int64, unique: true}
"""


def test_the_documented_example_loads() -> None:
    Path("mlgate.schema.yaml").write_text(BASE)
    schema = Schema.load("mlgate.schema.yaml")
    assert schema.columns["income"].range == Range(0.0, 250000.0)  # PyYAML reads 2.5e5 as text
    assert schema.columns["age"].range.bounds(0.1) == pytest.approx((10.3, 102.7))
    assert schema.columns["plan"].max_unseen_fraction == 0.0
    assert (schema.rows_min, schema.rows_max) == (100, None)
    again = Schema.from_dict(yaml.safe_load(schema.to_yaml()))
    assert again == schema


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        (
            "range: {min: 18,",
            "range: {min: eighteen,",
            r"^mlgate\.schema\.yaml:4: columns\.age\.range\.min must be a number, got 'eighteen'$",
        ),
        (
            "range: {min: 18,",
            "rnage: {min: 18,",
            r":4: columns\.age\.rnage is not a known key \(did you mean 'range'\?\)",
        ),
        ("slack: 0.1}", "slak: 0.1}", r"known keys here: dtype, nullable, max_null_fraction, range, slack"),
        ("mlgate.schema/1", "mlgate.schema/2", r":1: format 'mlgate\.schema/2' is not supported: this mlgate reads"),
        ("format: mlgate.schema/1", "format: great-expectations", r":1: format must be 'mlgate\.schema/1'"),
        ("format: mlgate.schema/1\n", "", r"mlgate\.schema\.yaml: format is missing"),
        (
            "dtype: Int64, nullable",
            "dtype: Integer, nullable",
            r":4: columns\.age\.dtype 'Integer' is not a known dtype",
        ),
        ("nullable: false", "nullable: nope", r":4: columns\.age\.nullable must be true or false, got 'nope'"),
        (
            "max_null_fraction: 0.02",
            "max_null_fraction: 2",
            r":5: columns\.income\.max_null_fraction must be a fraction",
        ),
        (
            "[basic, pro, team]",
            "[basic, yes, team]",
            r":6: columns\.plan\.categories\[1\] is read by YAML as the boolean",
        ),
        ("'^[^@]+@[^@]+$'", "'^[^@+@'", r":7: columns\.email\.pattern '\^\[\^@\+@' is not a valid regular expression"),
        ("{dtype: String, pattern", "{dtype: Int64, pattern", r":7: columns\.email\.pattern applies to text"),
        (
            "{dtype: Int64, unique: true}",
            "{dtype: String, range: {min: 1}}",
            r":8: columns\.id\.range applies to numbers",
        ),
        (
            "{min: 18, max: 95}, slack",
            "{min: 18}, slack",
            r":4: columns\.age\.slack needs a range with both min and max",
        ),
        ("{min: 18, max: 95}", "{min: 95, max: 18}", r":4: columns\.age\.range\.max \(18\) is below range\.min \(95\)"),
        ("rows: {min: 100, max: null}", "rows: {min: -1}", r":2: rows\.min must be at least 0, got -1"),
        ("rows: {min: 100, max: null}", "rows: {min: 10.5}", r":2: rows\.min must be a whole number of rows"),
        ("rows: {min: 100, max: null}", "rows: {min: 100}\nalpha: 0", r":3: alpha must be a significance level"),
        ("rows: {min: 100, max: null}", "rows: {min: 100}\nalpha: high", r":3: alpha must be a number"),
        ("  id:", "  yes:", r":8: columns\.yes is read by YAML as True, not as a column name"),
        (
            "  id:     {dtype: Int64, unique: true}\n",
            "  id: [1, 2]\n",
            r":8: columns\.id must be a mapping, got a list",
        ),
        ("columns:", "colums:", r":3: colums is not a known key \(did you mean 'columns'\?\)"),
        (
            "plan:   {dtype",
            "plan:   {dtype: String\n  x: {dtype",
            r"mlgate\.schema\.yaml:7:4: invalid YAML: expected ',' or '}'",
        ),
        ("max_unseen_fraction: 0.0}", "max_unseen_fraction: 0.0}\n  other: {max_unseen_fraction: 0.1}", r":7: .*needs"),
    ],
)
def test_malformed_schema_names_line_and_key(old: str, new: str, match: str) -> None:
    assert old in BASE
    Path("mlgate.schema.yaml").write_text(BASE.replace(old, new, 1))
    with pytest.raises(ConfigError, match=match):
        Schema.load("mlgate.schema.yaml")


def test_string_categories_written_as_numbers_become_text() -> None:
    data = {"format": "mlgate.schema/1", "columns": {"zip": {"dtype": "String", "categories": [1010, "02139"]}}}
    assert Schema.from_dict(data).columns["zip"].categories == ("1010", "02139")
