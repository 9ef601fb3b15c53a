"""Reading a schema from plain data (as loaded from its YAML file), one key at a time.

The first mistake raises ConfigError naming the file, the line and the key path
(``mlgate.schema.yaml:4: columns.age.range.min must be a number, got 'eighteen'``), with a hint where
there is an obvious fix: the closest known key, quoting a value YAML read as a boolean …
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import replace
from typing import Any

from mlgate.data.schema.columns import COLUMN_KEYS, FORMAT, TOP_KEYS, ColumnSchema, Range
from mlgate.data.schema.dtypes import DTYPE_BY_LOWER, DTYPE_KINDS, NUMERIC_KINDS, dtype_kind
from mlgate.errors import ConfigError


def read_schema_fields(data: Any, *, source: str, lines: dict[tuple[str | int, ...], int]) -> dict[str, Any]:
    """Check ``data`` and turn it into ``Schema``'s keyword arguments; ``lines`` maps key paths to their
    line in ``source``. ``Schema.from_dict`` builds the Schema, so this module needs only the column types.
    """
    return _Reader(source, lines).schema(data)


class _Reader:
    """Turns plain data into a Schema's fields, raising ConfigError at the first mistake with its line."""

    def __init__(self, source: str, lines: dict[tuple[str | int, ...], int]) -> None:
        self.source = source
        self.lines = lines

    def fail(self, path: tuple[str | int, ...], message: str, hint: str | None = None) -> ConfigError:
        line = None
        for n in range(len(path), -1, -1):  # the nearest enclosing key that has a line
            line = self.lines.get(path[:n])
            if line:
                break
        where = f"{self.source}:{line}" if line else self.source
        return ConfigError(f"{where}: {_dotted(path)}{' ' if path else ''}{message}", hint=hint)

    def raw_key(self, parent: tuple[str | int, ...], key: Any) -> str:
        """How a key that YAML turned into a non-string (``yes`` → True) was written in the file."""
        import yaml

        for path in self.lines:
            if len(path) == len(parent) + 1 and path[:-1] == parent:
                written = path[-1]
                if isinstance(written, str) and yaml.safe_load(written) == key and written != key:
                    return written
        return str(key)

    def keys(self, value: Any, path: tuple[str | int, ...], known: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a mapping, got {_show(value)}")
        for k in value:
            if k not in known:
                close = difflib.get_close_matches(str(k), known, n=1)
                guess = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.fail(
                    (*path, str(k)), f"is not a known key{guess}", hint=f"known keys here: {', '.join(known)}"
                )
        return value

    def schema(self, data: Any) -> dict[str, Any]:
        data = self.keys(data, (), TOP_KEYS)
        fmt = data.get("format")
        if fmt is None:
            raise self.fail(("format",), "is missing", hint=f"the file should start with 'format: {FORMAT}'")
        if fmt != FORMAT:
            if isinstance(fmt, str) and fmt.startswith("mlgate.schema/"):
                raise self.fail(
                    ("format",),
                    f"{fmt!r} is not supported: this mlgate reads {FORMAT}",
                    hint="upgrade mlgate, or re-create the file with: mlgate data schema infer",
                )
            raise self.fail(("format",), f"must be {FORMAT!r}, got {_show(fmt)}: is this an mlgate schema file?")
        rows_min = rows_max = None
        if data.get("rows") is not None:
            rows = self.keys(data["rows"], ("rows",), ("min", "max"))
            rows_min = self.count(rows.get("min"), ("rows", "min"))
            rows_max = self.count(rows.get("max"), ("rows", "max"))
            if rows_min is not None and rows_max is not None and rows_min > rows_max:
                raise self.fail(("rows", "max"), f"({rows_max}) is below rows.min ({rows_min})")
        target = data.get("target")
        if target is not None and not isinstance(target, str):
            raise self.fail(("target",), f"must be a column name, got {_show(target)}", hint="quote it")
        allow_extra = self.flag(data.get("allow_extra_columns", False), ("allow_extra_columns",))
        alpha = self.fraction(data.get("alpha"), ("alpha",))
        if alpha is not None and not 0 < alpha < 1:
            raise self.fail(("alpha",), f"must be a significance level between 0 and 1, got {alpha}", hint="e.g. 0.001")
        if "columns" not in data:
            raise self.fail(("columns",), "is missing: list the columns, one per line")
        raw_columns = data["columns"] if data["columns"] is not None else {}
        if not isinstance(raw_columns, dict):
            raise self.fail(("columns",), f"must be a mapping of column name to rules, got {_show(raw_columns)}")
        columns: dict[str, ColumnSchema] = {}
        for name, rules in raw_columns.items():
            if not isinstance(name, str):
                raise self.fail(
                    ("columns", self.raw_key(("columns",), name)),
                    f"is read by YAML as {_show(name)}, not as a column name",
                    hint="quote the column name, e.g. 'yes': or '1':",
                )
            columns[name] = self.column(name, rules)
        if target is not None and target not in columns:
            raise self.fail(("target",), f"{target!r} is not one of the columns")
        return {
            "columns": columns,
            "rows_min": rows_min,
            "rows_max": rows_max,
            "target": target,
            "allow_extra_columns": allow_extra,
            "source": self.source,
            "alpha": alpha,
        }

    def column(self, name: str, rules: Any) -> ColumnSchema:
        path: tuple[str | int, ...] = ("columns", name)
        if rules is None:
            return ColumnSchema(name)
        rules = self.keys(rules, path, COLUMN_KEYS)
        dtype = rules.get("dtype")
        if dtype is not None:
            canonical = DTYPE_BY_LOWER.get(str(dtype).lower()) if isinstance(dtype, str) else None
            if canonical is None:
                raise self.fail(
                    (*path, "dtype"),
                    f"{_show(dtype)} is not a known dtype",
                    hint=f"use a Polars type name: {', '.join(DTYPE_KINDS)}",
                )
            dtype = canonical
        kind = dtype_kind(dtype)
        col = ColumnSchema(
            name,
            dtype=dtype,
            nullable=self.flag(rules.get("nullable", True), (*path, "nullable")),
            max_null_fraction=self.fraction(rules.get("max_null_fraction"), (*path, "max_null_fraction")),
            slack=self.number(rules.get("slack"), (*path, "slack"), minimum=0.0) or 0.0,
            max_unseen_fraction=self.fraction(rules.get("max_unseen_fraction"), (*path, "max_unseen_fraction")),
            unique=self.flag(rules.get("unique", False), (*path, "unique")),
            description=None if rules.get("description") is None else str(rules["description"]),
        )
        if rules.get("range") is not None:
            if kind is not None and kind not in NUMERIC_KINDS:
                raise self.fail((*path, "range"), f"applies to numbers, but dtype is {dtype}")
            rng = self.keys(rules["range"], (*path, "range"), ("min", "max"))
            lo = self.number(rng.get("min"), (*path, "range", "min"))
            hi = self.number(rng.get("max"), (*path, "range", "max"))
            if lo is not None and hi is not None and lo > hi:
                raise self.fail((*path, "range", "max"), f"({hi}) is below range.min ({lo})")
            col = replace(col, range=Range(lo, hi))
        if col.slack and (col.range is None or col.range.min is None or col.range.max is None):
            raise self.fail((*path, "slack"), "needs a range with both min and max (it widens by slack × (max − min))")
        if rules.get("categories") is not None:
            col = replace(col, categories=self.categories(rules["categories"], (*path, "categories"), kind))
        elif col.max_unseen_fraction is not None:
            raise self.fail((*path, "max_unseen_fraction"), "needs categories (the values that count as seen)")
        if rules.get("pattern") is not None:
            if kind is not None and kind != "string":
                raise self.fail((*path, "pattern"), f"applies to text, but dtype is {dtype}")
            col = replace(col, pattern=self.pattern(rules["pattern"], (*path, "pattern")))
        return col

    def flag(self, value: Any, path: tuple[str | int, ...]) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"must be true or false, got {_show(value)}")
        return value

    def number(self, value: Any, path: tuple[str | int, ...], *, minimum: float | None = None) -> int | float | None:
        if value is None:
            return None
        number = _as_number(value)
        if number is None:
            raise self.fail(path, f"must be a number, got {_show(value)}")
        if minimum is not None and number < minimum:
            raise self.fail(path, f"must be at least {minimum}, got {number}")
        return number

    def count(self, value: Any, path: tuple[str | int, ...]) -> int | None:
        number = self.number(value, path, minimum=0)
        if number is not None and number != int(number):
            raise self.fail(path, f"must be a whole number of rows, got {number}")
        return None if number is None else int(number)

    def fraction(self, value: Any, path: tuple[str | int, ...]) -> float | None:
        number = self.number(value, path, minimum=0.0)
        if number is not None and number > 1:
            raise self.fail(path, f"must be a fraction between 0 and 1, got {number}", hint="write 2% as 0.02")
        return None if number is None else float(number)

    def categories(self, value: Any, path: tuple[str | int, ...], kind: str | None) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise self.fail(path, f"must be a list of values, got {_show(value)}")
        out: list[Any] = []
        for i, item in enumerate(value):
            if isinstance(item, bool) and kind != "boolean":
                raise self.fail(
                    (*path, i),
                    f"is read by YAML as the boolean {str(item).lower()}",
                    hint="quote it, e.g. 'yes' or 'no'",
                )
            if kind == "string":
                if not isinstance(item, str | int | float):
                    raise self.fail((*path, i), f"must be a text value, got {_show(item)}")
                # an unquoted code such as 01 or 7 arrives as a number; the column holds text
                item = item if isinstance(item, str) else str(item)
            elif kind in NUMERIC_KINDS:
                number = _as_number(item)
                if number is None:
                    raise self.fail((*path, i), f"must be a number (dtype is {kind}), got {_show(item)}")
                item = number
            elif not isinstance(item, str | int | float | bool):
                raise self.fail((*path, i), f"must be a single value, got {_show(item)}")
            out.append(item)
        return tuple(out)

    def pattern(self, value: Any, path: tuple[str | int, ...]) -> str:
        import polars as pl

        if not isinstance(value, str):
            raise self.fail(path, f"must be a regular expression in quotes, got {_show(value)}")
        try:
            pl.Series([""]).str.contains(value)
        except pl.exceptions.PolarsError as exc:
            reason = str(exc).strip().splitlines()
            detail = next((ln.strip() for ln in reason if ln.strip().startswith("error:")), reason[0])
            raise self.fail(path, f"{value!r} is not a valid regular expression: {detail}") from None
        return value


_NUMBER_TEXT = re.compile(r"^\s*[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _as_number(value: Any) -> int | float | None:
    """A YAML value as a number; ``2.5e5`` counts, since PyYAML reads it as text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, str) and _NUMBER_TEXT.match(value):
        number = float(value.replace("_", ""))
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    return None


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return repr(value)
