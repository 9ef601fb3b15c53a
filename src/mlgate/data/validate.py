"""Validate a dataset against a schema and report every violation at once.

One Polars pass counts the offending rows of every rule of every column; a second, filtered pass runs
only when something failed, to fetch up to five example values (with 0-based row numbers) per failed
rule. Both are vectorised expressions; no Python loop touches rows.

:func:`profile_and_validate` does the counting inside the profiling pass of
:mod:`mlgate.data.profile` (the counts are sums, batch by batch), so profiling a dataset and
validating it read the data once instead of twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.data.schema import NUMERIC_KINDS, ColumnSchema, Schema, dtype_kind, dtype_name
from mlgate.data.validation_report import (
    EXAMPLE_JSON_CHARS,
    Check,
    Example,
    ValidationReport,
    Violation,
    shown_value,
)
from mlgate.errors import InputError

# the report's types lived here before validation_report.py: their names stay importable from this module
__all__ = [
    "EXAMPLE_JSON_CHARS",
    "MAX_EXAMPLES",
    "RULES",
    "Check",
    "Example",
    "ValidationReport",
    "Violation",
    "profile_and_validate",
    "shown_value",
    "validate",
]

if TYPE_CHECKING:
    from mlgate.data.profile import Profile

MAX_EXAMPLES = 5
_EXAMPLE_BATCH_ROWS = 250_000
RULES = (
    "dtype",
    "missing_column",
    "extra_column",
    "nullable",
    "max_null_fraction",
    "range_min",
    "range_max",
    "categories",
    "max_unseen_fraction",
    "unique",
    "pattern",
    "rows_min",
    "rows_max",
)


@dataclass
class _Rule:
    """One rule of one column: its count expression, its row predicate, and how to judge the count."""

    column: str | None
    rule: str
    count: Any = None  # a Polars expression giving the number of offending rows
    where: Any = None  # a Polars predicate for the offending rows (for examples)
    shown: Any = None  # the value to show for an offending row
    judge: Any = None  # (count, total) -> message, or None when the rule holds
    total: Any = None  # the denominator of a fraction rule; the row count when None


def validate(data: Any, schema: Schema | str | Path) -> ValidationReport:
    """Check ``data`` (a path or a frame) against ``schema`` (a Schema or a schema file); never stops early."""
    from mlgate.data.io import resolve, scan

    if not isinstance(schema, Schema):
        schema = Schema.load(schema)
    src = resolve(data) if isinstance(data, str | Path) else None
    source, row_note = _describe(data, src)
    lf = scan(data)
    text_columns: set[str] = set()
    while True:
        try:
            dtypes, rules, stats = _count(lf, schema, untyped=src is not None and src.format == "csv")
            break
        except InputError as exc:
            # CSV types are guessed from the first rows; a later value of another type stops the read.
            # Read that column as text instead, so the value becomes a dtype violation with its row.
            column = _unparsed_column(exc) if src is not None and src.format == "csv" else None
            if column is None or column in text_columns:
                raise InputError(f"{source}: {exc.message}", hint=exc.hint) from exc
            text_columns.add(column)
            lf = _scan_csv(src, text_columns)
    return _report(data, lf, schema, source, row_note, dtypes, rules, stats)


def profile_and_validate(
    data: Any, schema: Schema | str | Path, *, batch_rows: int = 250_000
) -> tuple[Profile, ValidationReport]:
    """The profile of ``data`` and its validation against ``schema``, from one read of the data where possible.

    Every validation count is a sum over rows, so the counts ride along in the profiling pass
    (:func:`mlgate.data.profile.profile_with_sums`) instead of reading the data again; examples of
    failed rules are searched afterwards, only when something failed, as :func:`validate` does. Two
    cases read the data twice, exactly as ``profile`` then ``validate`` would: CSV (a column whose
    later values do not parse is read again as text, to report them) and a schema with ``unique`` on
    a column the data has (its count needs the whole column at once, not per batch). The results
    equal those of ``profile(data)`` and ``validate(data, schema)``.
    """
    from mlgate.data.io import columns_of, read_errors, resolve, scan
    from mlgate.data.profile import profile, profile_with_sums

    if not isinstance(schema, Schema):
        schema = Schema.load(schema)
    src = resolve(data) if isinstance(data, str | Path) else None
    lf = scan(data)
    with read_errors():
        dtypes = columns_of(lf)
    rules = [
        r
        for name, col in schema.columns.items()
        if name in dtypes
        for r in _column_rules(col, dtypes[name], alpha=schema.alpha)
    ]
    if (src is not None and src.format == "csv") or any(r.rule == "unique" for r in rules):
        return profile(data, batch_rows=batch_rows), validate(data, schema)
    sums = [r.count.alias(f"k{i}") for i, r in enumerate(rules)]
    sums += [r.total.alias(f"t{i}") for i, r in enumerate(rules) if r.total is not None]
    prof, stats = profile_with_sums(data, sums, batch_rows=batch_rows)
    stats["__len"] = prof.rows
    source, row_note = _describe(data, src)
    return prof, _report(data, lf, schema, source, row_note, dtypes, rules, stats)


def _report(
    data: Any,
    lf: Any,
    schema: Schema,
    source: str,
    row_note: str | None,
    dtypes: dict[str, Any],
    rules: list[_Rule],
    stats: dict[str, Any],
) -> ValidationReport:
    """The report from every rule's count: judged, examples fetched for the failed ones, sorted."""
    from mlgate.data.io import sliceable

    n = int(stats["__len"])
    violations: list[Violation] = []
    checks: list[Check] = []
    for name in schema.columns:
        if name not in dtypes:
            violations.append(Violation(name, "missing_column", "is in the schema but not in the data"))
            checks.append(Check(name, "missing_column", False))
    if not schema.allow_extra_columns:
        for name in dtypes:
            if name not in schema.columns:
                message = "is in the data but not in the schema (add it, or set allow_extra_columns: true)"
                violations.append(Violation(name, "extra_column", message))
                checks.append(Check(name, "extra_column", False))

    failed: list[tuple[int, _Rule, str]] = []
    for i, r in enumerate(rules):
        message = r.judge(int(stats[f"k{i}"] or 0), n if r.total is None else int(stats[f"t{i}"] or 0))
        checks.append(Check(r.column, r.rule, message is None))
        if message is not None:
            failed.append((i, r, message))
    examples = _examples(lf, [(i, r) for i, r, _ in failed], set(dtypes), slices=sliceable(data)) if failed else {}
    for i, r, message in failed:
        count = int(stats[f"k{i}"] or 0)
        violations.append(Violation(r.column, r.rule, message, count, examples.get(i, ())))

    if schema.rows_min is not None:
        ok = n >= schema.rows_min
        checks.append(Check(None, "rows_min", ok))
        if not ok:
            violations.append(Violation(None, "rows_min", f"{n:,} rows, fewer than rows.min {schema.rows_min:,}"))
    if schema.rows_max is not None:
        ok = n <= schema.rows_max
        checks.append(Check(None, "rows_max", ok))
        if not ok:
            violations.append(Violation(None, "rows_max", f"{n:,} rows, more than rows.max {schema.rows_max:,}"))

    rank: dict[str | None, int] = {}
    for name in [*schema.columns, *dtypes]:
        rank.setdefault(name, len(rank))

    def order(item: Check | Violation) -> tuple[bool, int, int]:
        return item.column is not None, rank.get(item.column, 0), RULES.index(item.rule)

    violations.sort(key=order)
    checks.sort(key=order)
    return ValidationReport(source, n, len(dtypes), checks, violations, schema.source, row_note)


def _count(lf: Any, schema: Schema, *, untyped: bool) -> tuple[dict[str, Any], list[_Rule], dict[str, Any]]:
    """The data's columns, the rules that apply to them, and every rule's count from one pass."""
    import polars as pl

    from mlgate.data.io import collect, columns_of

    dtypes = columns_of(lf)
    rules: list[_Rule] = []
    for name, col in schema.columns.items():
        if name in dtypes:
            rules += _column_rules(col, dtypes[name], untyped=untyped, alpha=schema.alpha)
    exprs = [pl.len().alias("__len")] + [r.count.alias(f"k{i}") for i, r in enumerate(rules)]
    exprs += [r.total.alias(f"t{i}") for i, r in enumerate(rules) if r.total is not None]
    return dtypes, rules, collect(lf.select(exprs)).row(0, named=True)


def _unparsed_column(exc: InputError) -> str | None:
    match = re.search(r"could not parse .* at column '(.+?)'", str(exc.__cause__ or ""))
    return match.group(1) if match else None


def _scan_csv(src: Any, text_columns: set[str]) -> Any:
    """The CSV files again, with ``text_columns`` read as text (the reading options of ``io.scan``)."""
    import polars as pl

    separator = "\t" if all(f.suffix.lower() == ".tsv" for f in src.files) else ","
    return pl.scan_csv(
        [str(f) for f in src.files],
        separator=separator,
        infer_schema_length=10000,
        encoding="utf8",
        schema_overrides=dict.fromkeys(text_columns, pl.String),
    )


def _column_rules(col: ColumnSchema, dtype: Any, *, untyped: bool = False, alpha: float | None = None) -> list[_Rule]:
    """The rules of one present column as Polars expressions over it (``untyped``: a CSV, text only).

    With ``alpha`` (the schema's), a fraction rule fails only when its count is significantly above the
    limit at the data's size (:func:`mlgate.data.schema.bounds.exceeds`).
    """
    import polars as pl

    from mlgate.data.schema.bounds import exceeds

    name = col.name
    c = pl.col(name)
    label = dtype_name(dtype)
    have = dtype_kind(label)
    want = col.kind
    rules: list[_Rule] = []
    missing = (c.is_null() | c.is_nan()) if have == "float" else c.is_null()
    # the value range, categories and pattern compare: NaN is missing, categoricals compare as text
    value: Any = c.fill_nan(None) if have == "float" else c
    if have == "string" and label != "String":
        value = c.cast(pl.String)
    value_ok = have != "null"  # a column without values has nothing to compare, and no type to disagree with

    if value_ok and want is not None and not _compatible(have, want):
        expected = col.dtype or "a number"
        parsed = _parse(c, have, want, col.dtype or "Float64")
        if parsed is None:
            bad = c.is_not_null()
            value_ok = False
            judge_dtype = _const(f"is {label}, expected {expected}")
        else:
            if have == "float":  # a float column meeting an integer schema: whole numbers pass
                bad = value.is_not_null() & (parsed.is_null() | (parsed != value))
                fault, fine = "not whole numbers", "every value is a whole number"
            else:
                bad = c.is_not_null() & parsed.is_null()
                fault, fine = f"not parseable as {expected}", "every value parses"
            value = parsed

            def judge_dtype(k: int, total: int, fault: str = fault, fine: str = fine) -> str | None:
                if k == 0:
                    # CSV holds text only: a column whose every value parses has the expected type
                    return None if untyped and have == "string" else f"is {label}, expected {expected} ({fine})"
                return f"is {label}, expected {expected}: {_n(k, 'value')} {fault}"

        rules.append(_Rule(name, "dtype", bad.sum(), bad, c, judge_dtype))
    elif want is not None:
        rules.append(_Rule(name, "dtype", pl.lit(0), None, None, _const(None)))

    if not col.nullable:
        rules.append(
            _Rule(
                name,
                "nullable",
                missing.sum(),
                missing,
                c,
                _if_any(lambda k: f"{_n(k, 'missing value')}, but nullable is false"),
            )
        )
    if col.max_null_fraction is not None:
        limit = col.max_null_fraction

        def judge_nulls(k: int, total: int) -> str | None:
            if exceeds(k, total, limit, alpha):
                return f"{k:,} missing ({_pct(k / total)}), above max_null_fraction {_pct(limit)}{_significant(alpha)}"
            return None

        rules.append(_Rule(name, "max_null_fraction", missing.sum(), missing, c, judge_nulls))

    if value_ok and col.range is not None:
        lo, hi = col.range.bounds(col.slack)
        widened = f" (range widened by slack {col.slack:g})" if col.slack else ""
        for rule, bound, word in (("range_min", lo, "below"), ("range_max", hi, "above")):
            if bound is None:
                continue
            out = (value < bound if word == "below" else value > bound).fill_null(False)
            where = f"{word} {_num(bound)}{widened}"
            rules.append(_Rule(name, rule, out.sum(), out, c, _if_any(lambda k, w=where: f"{_n(k, 'value')} {w}")))

    if value_ok and col.categories is not None:
        cats: list[Any] = list(col.categories)
        seen = value
        if not (have in NUMERIC_KINDS and all(isinstance(x, int | float) and not isinstance(x, bool) for x in cats)):
            seen = value.cast(pl.String)
            cats = [str(x).lower() if isinstance(x, bool) else str(x) for x in cats]
        unseen = seen.is_not_null() & ~seen.is_in(cats)
        if col.max_unseen_fraction is None:
            among = f"not among the {len(cats)} categories"
            rules.append(
                _Rule(name, "categories", unseen.sum(), unseen, c, _if_any(lambda k: f"{_n(k, 'value')} {among}"))
            )
        else:
            limit = col.max_unseen_fraction

            def judge_unseen(k: int, total: int) -> str | None:
                if exceeds(k, total, limit, alpha):
                    return (
                        f"{_n(k, 'unseen value')} ({_pct(k / total)}), above max_unseen_fraction {_pct(limit)}"
                        + _significant(alpha)
                    )
                return None

            rules.append(
                _Rule(name, "max_unseen_fraction", unseen.sum(), unseen, c, judge_unseen, seen.is_not_null().sum())
            )

    if col.unique:
        repeat = c.is_not_null() & ~c.is_first_distinct()
        # rows repeating an earlier value = non-missing rows − distinct values, without a per-row pass
        count = c.count() - c.drop_nulls().n_unique()
        rules.append(
            _Rule(name, "unique", count, repeat, c, _if_any(lambda k: f"{_n(k, 'row')} repeating an earlier value"))
        )

    if value_ok and col.pattern is not None:
        text_value = value if have == "string" else value.cast(pl.String)
        mismatch = text_value.is_not_null() & ~text_value.str.contains(col.pattern)
        msg = f"not matching {col.pattern}"
        rules.append(_Rule(name, "pattern", mismatch.sum(), mismatch, c, _if_any(lambda k: f"{_n(k, 'value')} {msg}")))
    return rules


def _significant(alpha: float | None) -> str:
    return "" if alpha is None else f" (significant at alpha {alpha:g})"


def _const(message: str | None) -> Any:
    return lambda k, total: message


def _if_any(make: Any) -> Any:
    """A judge that fails as soon as one row offends."""
    return lambda k, total: make(k) if k else None


def _n(k: int, noun: str) -> str:
    return f"{k:,} {noun}{'s' * (k != 1)}"


def _compatible(have: str | None, want: str) -> bool:
    return have == want or (have == "integer" and want == "float")


def _parse(c: Any, have: str | None, want: str, dtype: str) -> Any:
    """``c`` read as the schema's type where the data allows a per-value reading, else None."""
    import polars as pl

    if have == "string":
        if want in NUMERIC_KINDS:
            return c.cast(getattr(pl, dtype if dtype != "Decimal" else "Float64"), strict=False)
        if want == "boolean":
            return c.str.to_lowercase().replace_strict({"true": True, "false": False}, default=None)
        if want == "date":
            return c.str.to_date(strict=False)
        if want == "datetime":
            return c.str.to_datetime(strict=False)
        if want == "time":
            return c.str.to_time(strict=False)
    if have == "float" and want == "integer":
        return c.fill_nan(None).cast(pl.Int64, strict=False)
    return None


def _examples(
    lf: Any, failed: list[tuple[int, _Rule]], taken: set[str], *, slices: bool
) -> dict[int, tuple[Example, ...]]:
    """Up to five (row, value) pairs per failed rule.

    Rules that judge a row on its own are searched batch by batch (:func:`mlgate.data.io.batches`),
    stopping as soon as each has five examples, so memory stays bounded and a file that fails early is
    not read to the end. ``unique`` compares a row with every earlier one, so its examples come from
    one pass over the whole column.
    """
    import polars as pl

    from mlgate.data.io import batches, collect, read_errors

    row = "__row"
    while row in taken:
        row += "_"
    found: dict[int, list[Example]] = {i: [] for i, _ in failed}

    def take(frame: Any, rules: list[tuple[int, _Rule]]) -> None:
        exprs = []
        for i, r in rules:
            left = MAX_EXAMPLES - len(found[i])
            exprs.append(pl.col(row).filter(r.where).head(left).implode().alias(f"r{i}"))
            exprs.append(r.shown.filter(r.where).head(left).implode().alias(f"v{i}"))
        out = frame.select(exprs)
        if isinstance(out, pl.LazyFrame):
            out = collect(out, streaming=False)
        for i, _ in rules:
            rows, values = out[f"r{i}"][0].to_list(), out[f"v{i}"][0].to_list()
            found[i] += [Example(int(n), v) for n, v in zip(rows, values, strict=True)]

    whole = [(i, r) for i, r in failed if r.rule == "unique"]
    if whole:
        take(lf.with_row_index(row), whole)
    local = [(i, r) for i, r in failed if r.rule != "unique"]
    used = list(dict.fromkeys(n for _, r in local for e in (r.where, r.shown) for n in e.meta.root_names()))
    offset = 0
    with read_errors():
        for batch in batches(lf.select(used), _EXAMPLE_BATCH_ROWS, slices=slices) if local else ():
            take(batch.with_row_index(row, offset=offset), local)
            offset += batch.height
            local = [(i, r) for i, r in local if len(found[i]) < MAX_EXAMPLES]
            if not local:
                break
    return {i: tuple(examples) for i, examples in found.items()}


def _describe(data: Any, src: Any) -> tuple[str, str | None]:
    """A label for the data, and how its row numbers count."""
    if src is None:
        return f"{type(data).__name__} (in memory)", "0-based"
    if src.format == "csv":
        note = "0-based data rows, header line excluded (row 0 is line 2 of the file)"
        if len(src.files) > 1:
            note = "0-based data rows across the files in name order, header lines excluded"
        return str(data), note
    many = " across the files in name order" if len(src.files) > 1 else ""
    return str(data), f"0-based{many}"


def _pct(x: float) -> str:
    return f"{x * 100:.3g}%"


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)
