"""Data schemas: what a dataset must look like, inferred from data and edited by people as YAML.

``mlgate.schema.yaml`` holds one line per column::

    format: mlgate.schema/1
    rows: {min: 100, max: null}
    columns:
      age: {dtype: Int64, nullable: false, range: {min: 18, max: 95}, slack: 0.1}
      plan: {dtype: String, categories: [basic, pro, team]}

Errors in the file name the file, the line and the key path (``columns.age.range.min``).

The package holds :mod:`~mlgate.data.schema.dtypes` (dtype names and kinds),
:mod:`~mlgate.data.schema.columns` (``ColumnSchema``, ``Range`` and the file's keys),
:mod:`~mlgate.data.schema.model` (``Schema`` and the YAML file),
:mod:`~mlgate.data.schema.reader` (checking a loaded file, key by key) and
:mod:`~mlgate.data.schema.infer` (``infer_schema``) and :mod:`~mlgate.data.schema.from_profile`
(``schema_from_profile``: the same rules from a saved profile), which share
:mod:`~mlgate.data.schema.rules` (what each inferred rule allows for, and why) and
:mod:`~mlgate.data.schema.bounds` (binomial bounds and tests). Import the names from here.
"""

from __future__ import annotations

from mlgate.data.schema.dtypes import DTYPE_KINDS, NUMERIC_KINDS, dtype_kind, dtype_name
from mlgate.data.schema.from_profile import ProfileInference, load_profile, schema_from_profile
from mlgate.data.schema.infer import UNIQUE_MIN_ROWS, infer_schema
from mlgate.data.schema.model import COLUMN_KEYS, FORMAT, SCHEMA_NAME, TOP_KEYS, ColumnSchema, Range, Schema
from mlgate.data.schema.rules import ALPHA

__all__ = [
    "ALPHA",
    "COLUMN_KEYS",
    "DTYPE_KINDS",
    "FORMAT",
    "NUMERIC_KINDS",
    "SCHEMA_NAME",
    "TOP_KEYS",
    "UNIQUE_MIN_ROWS",
    "ColumnSchema",
    "ProfileInference",
    "Range",
    "Schema",
    "dtype_kind",
    "dtype_name",
    "infer_schema",
    "load_profile",
    "schema_from_profile",
]
