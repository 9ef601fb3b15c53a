"""Data schemas: what a dataset must look like, inferred from data and edited by people as YAML.

``mlgate.schema.yaml`` holds one line per column::

    format: mlgate.schema/1
    rows: {min: 100, max: null}
    columns:
      age: {dtype: Int64, nullable: false, range: {min: 18, max: 95}, slack: 0.1}
      plan: {dtype: String, categories: [basic, pro, team]}

Errors in the file name the file, the line and the key path (``columns.age.range.min``).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlgate.errors import ConfigError, InputError, NotFoundError

FORMAT = "mlgate.schema/1"
SCHEMA_NAME = "mlgate.schema.yaml"
# An inferred schema asks for at least half the rows it saw: a truncated export fails, a smaller
# (but not tiny) batch passes. Nothing caps the rows from above.
ROWS_MIN_FRACTION = 0.5
# Below this many rows, "every value is distinct" is too likely by chance to become a rule.
UNIQUE_MIN_ROWS = 20

TOP_KEYS = ("format", "target", "rows", "allow_extra_columns", "columns")
COLUMN_KEYS = (
    "dtype",
    "nullable",
    "max_null_fraction",
    "range",
    "slack",
    "categories",
    "max_unseen_fraction",
    "unique",
    "pattern",
    "description",
)

# Schema dtypes are Polars type names; validation compares their kinds, so Int32 data meets an
# Int64 schema, and integer data meets a float schema.
DTYPE_KINDS = {
    **dict.fromkeys(("Int8", "Int16", "Int32", "Int64", "Int128", "UInt8", "UInt16", "UInt32", "UInt64"), "integer"),
    **dict.fromkeys(("Float16", "Float32", "Float64", "Decimal"), "float"),
    **dict.fromkeys(("String", "Categorical", "Enum"), "string"),
    "Boolean": "boolean",
    "Date": "date",
    "Datetime": "datetime",
    "Duration": "duration",
    "Time": "time",
    "Binary": "binary",
    "List": "list",
    "Array": "list",
    "Struct": "struct",
    "Object": "object",
    "Null": "null",
}
_DTYPE_BY_LOWER = {name.lower(): name for name in DTYPE_KINDS} | {"utf8": "String", "str": "String", "bool": "Boolean"}
NUMERIC_KINDS = ("integer", "float")


def dtype_name(dtype: Any) -> str:
    """The schema name of a Polars dtype: ``Int64``, ``String``, ``Datetime`` (units and zones dropped)."""
    name = dtype.base_type().__name__
    return "String" if name == "Utf8" else name


def dtype_kind(name: str | None) -> str | None:
    """``integer``, ``float``, ``string``, ``boolean``, ``date`` … for a schema dtype name."""
    return DTYPE_KINDS.get(name) if name else None


@dataclass(frozen=True)
class Range:
    """Inclusive bounds; ``None`` leaves a side open."""

    min: int | float | None = None
    max: int | float | None = None

    def bounds(self, slack: float = 0.0) -> tuple[float | None, float | None]:
        """The bounds widened by ``slack`` × (max − min) on each side (only when both are set)."""
        lo, hi = self.min, self.max
        if slack and lo is not None and hi is not None:
            pad = slack * (hi - lo)
            return lo - pad, hi + pad
        return lo, hi


@dataclass(frozen=True)
class ColumnSchema:
    """The rules one column must meet; ``None``/``False`` rules are not checked."""

    name: str
    dtype: str | None = None
    nullable: bool = True
    max_null_fraction: float | None = None
    range: Range | None = None
    slack: float = 0.0
    categories: tuple[Any, ...] | None = None
    max_unseen_fraction: float | None = None
    unique: bool = False
    pattern: str | None = None
    description: str | None = None

    @property
    def kind(self) -> str | None:
        """The kind the data must have: the dtype's, or numeric when only a range is given."""
        if self.dtype:
            return dtype_kind(self.dtype)
        return "float" if self.range is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The rules that are set, in the file's order."""
        out: dict[str, Any] = {}
        if self.dtype:
            out["dtype"] = self.dtype
        if not self.nullable:
            out["nullable"] = False
        if self.max_null_fraction is not None:
            out["max_null_fraction"] = self.max_null_fraction
        if self.range is not None:
            out["range"] = {"min": self.range.min, "max": self.range.max}
        if self.slack:
            out["slack"] = self.slack
        if self.categories is not None:
            out["categories"] = list(self.categories)
        if self.max_unseen_fraction is not None:
            out["max_unseen_fraction"] = self.max_unseen_fraction
        if self.unique:
            out["unique"] = True
        if self.pattern is not None:
            out["pattern"] = self.pattern
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Schema:
    """A dataset's schema: row bounds and per-column rules. ``source`` is the file it came from."""

    columns: dict[str, ColumnSchema] = field(default_factory=dict)
    rows_min: int | None = None
    rows_max: int | None = None
    target: str | None = None
    allow_extra_columns: bool = False
    source: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The schema as plain data, as the YAML file holds it."""
        out: dict[str, Any] = {"format": FORMAT}
        if self.target is not None:
            out["target"] = self.target
        out["rows"] = {"min": self.rows_min, "max": self.rows_max}
        if self.allow_extra_columns:
            out["allow_extra_columns"] = True
        out["columns"] = {name: col.to_dict() for name, col in self.columns.items()}
        return out

    def to_yaml(self) -> str:
        """YAML for people: a block per section and one flow mapping per column."""
        import yaml

        def flow(value: Any) -> str:
            return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1 << 30).strip()

        def key(name: str) -> str:
            # safe_dump quotes what YAML would otherwise read as something else (yes, 1, null …)
            return yaml.safe_dump(name, width=1 << 30).strip().removesuffix("...").strip()

        data = self.to_dict()
        lines = [
            "# mlgate data schema. Edit freely: every column rule is optional.",
            "# rules: dtype, nullable, max_null_fraction, range {min, max}, slack (widens the range by that",
            "# fraction of max - min), categories, max_unseen_fraction, unique, pattern (a regex searched in",
            "# the text), description. NaN counts as missing.",
            f"format: {FORMAT}",
        ]
        if "target" in data:
            lines.append(f"target: {key(data['target'])}")
        lines.append(f"rows: {flow(data['rows'])}")
        if self.allow_extra_columns:
            lines.append("allow_extra_columns: true")
        lines.append("columns:" if self.columns else "columns: {}")
        for name, rules in data["columns"].items():
            lines.append(f"  {key(name)}: {flow(rules)}")
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path) -> Path:
        """Write the schema as YAML to ``path``."""
        p = Path(path)
        p.write_text(self.to_yaml(), encoding="utf-8")
        return p

    @classmethod
    def load(cls, path: str | Path) -> Schema:
        """Read ``mlgate.schema.yaml``; errors name the file, the line and the key path."""
        from mlgate.config import _yaml_with_lines

        p = Path(path)
        if not p.exists():
            raise NotFoundError(
                f"schema file {p} does not exist",
                hint=f"create one with: mlgate data schema infer DATA -o {p}",
            )
        if p.is_dir():
            raise ConfigError(f"{p} is a folder, not a schema file")
        data, lines = _yaml_with_lines(p)
        if not data:
            raise ConfigError(f"{p}: the schema file is empty", hint=f"it should start with 'format: {FORMAT}'")
        return cls.from_dict(data, source=str(p), lines=lines)

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        *,
        source: str | None = None,
        lines: dict[tuple[str | int, ...], int] | None = None,
    ) -> Schema:
        """Check and convert plain data (as loaded from YAML) into a Schema."""
        return _Reader(source or SCHEMA_NAME, lines or {}).schema(data)


class _Reader:
    """Turns plain data into a Schema, raising ConfigError at the first mistake with its line."""

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

    def schema(self, data: Any) -> Schema:
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
        return Schema(columns, rows_min, rows_max, target, allow_extra, self.source)

    def column(self, name: str, rules: Any) -> ColumnSchema:
        path: tuple[str | int, ...] = ("columns", name)
        if rules is None:
            return ColumnSchema(name)
        rules = self.keys(rules, path, COLUMN_KEYS)
        dtype = rules.get("dtype")
        if dtype is not None:
            canonical = _DTYPE_BY_LOWER.get(str(dtype).lower()) if isinstance(dtype, str) else None
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


def infer_schema(data: Any, *, slack: float = 0.0, max_categories: int = 50, target: str | None = None) -> Schema:
    """A schema that ``data`` passes, from one Polars pass over it (plus one for category values).

    Per column: the dtype; ``nullable: false`` when nothing is missing, else ``max_null_fraction``
    (the fraction seen × (1 + slack), rounded up); numeric columns get their ``range`` (and ``slack``);
    text columns with at most ``max_categories`` distinct values, not all different, get ``categories``; integer or text
    columns whose values are all distinct get ``unique: true`` once there are at least 20 of them.
    An integer or text ``target`` with few values gets its classes as categories. ``rows.min`` is half
    the rows seen. A column with no values at all gets no dtype.
    """
    from mlgate.data.io import scan

    if slack < 0:
        raise InputError(f"slack must be zero or more, got {slack}")
    label = str(data) if isinstance(data, str | Path) else f"the {type(data).__name__}"
    lf = scan(data)
    try:
        return _infer(lf, label, slack, max_categories, target)
    except InputError as exc:
        if exc.message.startswith(label):
            raise
        hint = exc.hint
        if "could not parse" in exc.message:
            hint = "a value after the first 10,000 rows does not fit the type guessed from them: fix that value"
        raise InputError(f"{label}: {exc.message}", hint=hint) from exc


def _infer(lf: Any, label: str, slack: float, max_categories: int, target: str | None) -> Schema:
    import polars as pl

    from mlgate.data.io import collect

    dtypes = _columns_of(lf)
    if not dtypes:
        raise InputError(f"{label} has no columns; there is nothing to infer a schema from")
    if target is not None and target not in dtypes:
        raise InputError(
            f"{label}: target column {target!r} is not in the data",
            hint=f"columns are: {', '.join(list(dtypes)[:20])}{' …' if len(dtypes) > 20 else ''}",
        )
    names = list(dtypes)
    kinds = {name: dtype_kind(dtype_name(dt)) for name, dt in dtypes.items()}
    exprs: list[Any] = [pl.len().alias("__len")]
    for i, name in enumerate(names):
        c = pl.col(name)
        kind = kinds[name]
        if kind == "float":
            c = c.fill_nan(None)  # NaN counts as missing
        exprs.append(c.null_count().alias(f"n{i}"))
        if kind in NUMERIC_KINDS:
            exprs += [c.min().alias(f"lo{i}"), c.max().alias(f"hi{i}")]
        if kind in ("integer", "string"):
            # an exact n_unique does not stream (it holds every value); screen with HyperLogLog first
            exprs.append(c.drop_nulls().approx_n_unique().alias(f"u{i}"))
    stats = collect(lf.select(exprs)).row(0, named=True)
    rows = int(stats["__len"])
    if rows == 0:
        raise InputError(f"{label} has no rows; there is nothing to infer a schema from")
    exact = [
        i
        for i, name in enumerate(names)
        if stats.get(f"u{i}") is not None
        and (stats[f"u{i}"] <= 2 * max_categories + 10 or stats[f"u{i}"] >= 0.9 * (rows - stats[f"n{i}"]))
    ]
    if exact:
        counts = collect(lf.select([pl.col(names[i]).drop_nulls().n_unique().alias(f"u{i}") for i in exact]))
        stats.update(counts.row(0, named=True))

    want_values = [
        name
        for i, name in enumerate(names)
        if stats.get(f"u{i}")
        and stats[f"u{i}"] <= max_categories
        and (kinds[name] == "string" or name == target)
        and not _all_distinct(stats[f"u{i}"], rows - stats[f"n{i}"])
    ]
    values: dict[str, list[Any]] = {}
    if want_values:
        frame = collect(lf.select([pl.col(n).drop_nulls().unique().sort().implode() for n in want_values]))
        values = {n: [_plain(v) for v in frame[n][0]] for n in want_values}

    columns: dict[str, ColumnSchema] = {}
    for i, name in enumerate(names):
        missing = int(stats[f"n{i}"])
        kind = kinds[name]
        present = rows - missing
        col = ColumnSchema(name, dtype=None if present == 0 else dtype_name(dtypes[name]))
        if missing == 0:
            col = replace(col, nullable=False)
        else:
            col = replace(col, max_null_fraction=_null_limit(missing, rows, slack))
        if kind in NUMERIC_KINDS and present:
            lo, hi = _plain(stats[f"lo{i}"]), _plain(stats[f"hi{i}"])
            col = replace(col, range=Range(lo, hi), slack=float(slack) if slack and hi != lo else 0.0)
        if name in values:
            col = replace(col, categories=tuple(values[name]))
        elif stats.get(f"u{i}") is not None and present >= UNIQUE_MIN_ROWS and _all_distinct(stats[f"u{i}"], present):
            col = replace(col, unique=True)
        columns[name] = col
    rows_min = max(1, math.floor(rows * ROWS_MIN_FRACTION))
    return Schema(columns, rows_min=rows_min, rows_max=None, target=target)


def _null_limit(missing: int, rows: int, slack: float) -> float:
    """The fraction seen × (1 + slack), rounded up to 4 decimals; exact, so the data itself passes."""
    from fractions import Fraction

    scaled = Fraction(missing * 10_000, rows) * (1 + Fraction(repr(slack)))
    return min(1.0, math.ceil(scaled) / 10_000)


def _all_distinct(n_unique: int, present: int) -> bool:
    return present > 0 and n_unique == present


def _plain(value: Any) -> Any:
    """A Polars scalar as a plain YAML-friendly Python value."""
    import decimal

    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _columns_of(lf: Any) -> dict[str, Any]:
    """Column names and dtypes of a LazyFrame, with read errors turned into InputError."""
    from mlgate.data.io import collect

    return dict(collect(lf.limit(0), streaming=False).schema)
