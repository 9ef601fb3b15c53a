"""Schema inference: the rules a dataset passes, from one streaming pass over it (or from its profile).

Given a :class:`~mlgate.data.profile.Profile` (or its JSON file) instead of data, the same rules come
from the profile without reading the data: :mod:`mlgate.data.schema.from_profile` says which rules a
profile decides exactly and which it leaves out.

The rules allow for what a clean new sample of the same data can show by chance;
:mod:`mlgate.data.schema.rules` states each one and why.

The pass reads the data once, in row batches of bounded size (:func:`mlgate.data.io.batches`). Per
batch, one Polars ``select`` counts rows and missing values, takes every numeric column's ``TAIL``
lowest and highest values, and lists the distinct values of the integer and text columns (with their
counts where they can become categories). Those distinct values are kept only
while they can still become a rule: a column drops out as soon as it has repeated a value and either
gets no categories (an integer column that is not the target) or has more distinct values than
``max_categories``. So memory stays flat in the number of rows for the usual columns; only a column
that is all distinct so far (an id) holds its values, as an exact uniqueness check must. Polars'
``n_unique`` and ``approx_n_unique`` were not used because its streaming engine holds the whole column
for them (measured: 1.2 GB at 10,000,000 rows × 20 columns, where this pass stays near 0.3 GB).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from mlgate.data.schema.dtypes import NUMERIC_KINDS, dtype_kind, dtype_name
from mlgate.data.schema.model import ColumnSchema, Schema
from mlgate.data.schema.rules import ALPHA, TAIL, UNIQUE_MIN_ROWS, category_rule, null_rule, range_rule
from mlgate.errors import InputError, UsageError

BATCH_ROWS = 250_000


def infer_schema(
    data: Any,
    *,
    slack: float = 0.0,
    max_categories: int = 50,
    target: str | None = None,
    batch_rows: int = BATCH_ROWS,
    alpha: float = ALPHA,
) -> Schema:
    """A schema that ``data`` passes, from one streaming pass over it in batches of ``batch_rows`` rows.

    ``data`` may also be a :class:`~mlgate.data.profile.Profile` or a profile JSON file: then nothing is
    read, and the rules come from the profile (:func:`~mlgate.data.schema.schema_from_profile`).

    Per column: the dtype; ``nullable: false`` when nothing is missing in the whole data, else
    ``max_null_fraction`` (the upper bound of the fraction seen at level ``alpha``, × (1 + slack));
    numeric columns get their widened ``range`` (and ``slack``, which widens it further at validation);
    text columns with at most ``max_categories`` distinct values, not all different, get ``categories``
    (open by ``max_unseen_fraction`` when some were rare); integer or text columns whose values are all
    distinct get ``unique: true`` once there are at least 20 of them. An integer or text ``target`` with
    few values gets its classes as categories. No row bounds. A column with no values at all gets no
    dtype. The schema's ``alpha`` makes validation test fractions at the validated data's size.
    :mod:`mlgate.data.schema.rules` gives the reasons.
    """
    from mlgate.data.io import scan, sliceable
    from mlgate.data.profile_model import Profile
    from mlgate.data.schema.from_profile import load_profile, schema_from_profile

    if slack < 0:
        raise InputError(f"slack must be zero or more, got {slack}")
    if batch_rows < 1:
        raise UsageError(f"batch_rows must be at least 1, not {batch_rows}")
    if not 0 < alpha < 1:
        raise UsageError(f"alpha must be between 0 and 1, not {alpha}")
    if isinstance(data, str | Path) and Path(data).suffix.lower() == ".json" and Path(data).is_file():
        data = load_profile(data)
    if isinstance(data, Profile):
        return schema_from_profile(data, slack=slack, max_categories=max_categories, target=target, alpha=alpha).schema
    label = str(data) if isinstance(data, str | Path) else f"the {type(data).__name__}"
    lf = scan(data)
    try:
        return _infer(lf, sliceable(data), label, slack, max_categories, target, batch_rows, alpha)
    except InputError as exc:
        if exc.message.startswith(label):
            raise
        hint = exc.hint
        if "could not parse" in exc.message:
            hint = "a value after the first 10,000 rows does not fit the type guessed from them: fix that value"
        raise InputError(f"{label}: {exc.message}", hint=hint) from exc


class _Distinct:
    """The distinct non-null values of one column seen so far, held while they can still become a rule."""

    def __init__(self, wants_values: bool, max_categories: int) -> None:
        self.wants_values = wants_values  # categories are possible (a text column, or the target)
        self.max_categories = max_categories
        self.parts: list[Any] = []  # Series of distinct values, one per batch since the last compaction
        self.held = 0  # values in parts, repeats across parts included
        self.compacted = 0  # values held right after the last compaction
        self.present = 0
        self.repeats = False
        self.dropped = False
        # each value's count while the values can still become categories (None: they cannot)
        self.counts: dict[Any, int] | None = {} if wants_values else None

    def add(self, values: Any, present: int, counts: Any = None) -> None:
        """A batch's distinct values (with their ``counts`` for categories), and its count of non-null rows."""
        if self.dropped:
            return
        if self.counts is not None and counts is not None:
            for value, count in zip(values.to_list(), counts.to_list(), strict=True):
                self.counts[value] = self.counts.get(value, 0) + count
            if len(self.counts) > self.max_categories:
                self.counts = None
        self.present += present
        self.repeats |= len(values) < present
        if self.repeats and not self.wants_values:  # an integer column that repeats: neither rule applies
            self._drop()
            return
        self.parts.append(values)
        self.held += len(values)
        # compacting once the values held double keeps the work linear even for an all-distinct column
        if self.held > 2 * max(self.compacted, self.max_categories):
            self._compact()
            if self.repeats and self.held > self.max_categories:  # too many values to be categories
                self._drop()

    def finish(self) -> tuple[int | None, Any]:
        """(exact distinct count, the distinct values), or (None, None) once the column dropped out."""
        if self.dropped:
            return None, None
        self._compact()
        return self.held, self.parts[0] if self.parts else None

    def _compact(self) -> None:
        import polars as pl

        if len(self.parts) > 1:
            self.parts = [pl.concat(self.parts).unique()]
        self.held = self.compacted = len(self.parts[0]) if self.parts else 0
        self.repeats |= self.held < self.present

    def _drop(self) -> None:
        self.dropped, self.parts, self.held, self.counts = True, [], 0, None


def _infer(
    lf: Any,
    slices: bool,
    label: str,
    slack: float,
    max_categories: int,
    target: str | None,
    batch_rows: int,
    alpha: float,
) -> Schema:
    import polars as pl

    from mlgate.data.io import batches, columns_of, read_errors

    dtypes = columns_of(lf)
    if not dtypes:
        raise InputError(f"{label} has no columns; there is nothing to infer a schema from")
    if target is not None and target not in dtypes:
        raise InputError(
            f"{label}: target column {target!r} is not in the data",
            hint=f"columns are: {', '.join(list(dtypes)[:20])}{' …' if len(dtypes) > 20 else ''}",
        )
    names = list(dtypes)
    kinds = {name: dtype_kind(dtype_name(dt)) for name, dt in dtypes.items()}
    stat_exprs: list[Any] = [pl.len().alias("__len")]
    for i, name in enumerate(names):
        c = pl.col(name)
        if kinds[name] == "float":
            c = c.fill_nan(None)  # NaN counts as missing
        stat_exprs.append(c.null_count().alias(f"n{i}"))
        if kinds[name] in NUMERIC_KINDS:
            nonnull = c.drop_nulls()
            stat_exprs += [
                nonnull.bottom_k(TAIL).sort().implode().alias(f"lo{i}"),
                nonnull.top_k(TAIL).sort(descending=True).implode().alias(f"hi{i}"),
            ]
    stat_names = [e.meta.output_name() for e in stat_exprs]
    distinct = {
        i: _Distinct(kinds[name] == "string" or name == target, max_categories)
        for i, name in enumerate(names)
        if kinds[name] in ("integer", "string")
    }

    rows = 0
    missing = [0] * len(names)
    low: list[list[Any]] = [[] for _ in names]  # the TAIL lowest values, lowest first
    high: list[list[Any]] = [[] for _ in names]  # the TAIL highest values, highest first

    def values_expr(i: int) -> Any:
        present = pl.col(names[i]).drop_nulls()
        if distinct[i].counts is not None:
            return present.value_counts(name="__count").implode().alias(f"u{i}")
        return present.unique().implode().alias(f"u{i}")

    with read_errors():
        for batch in batches(lf, batch_rows, slices=slices):
            open_ = [i for i, d in distinct.items() if not d.dropped]
            out = batch.select(stat_exprs + [values_expr(i) for i in open_])
            stats = out.select(stat_names).row(0, named=True)
            n = int(stats["__len"])
            rows += n
            for i in range(len(names)):
                missing[i] += int(stats[f"n{i}"])
                if f"lo{i}" in stats:
                    low[i] = sorted(low[i] + list(stats[f"lo{i}"]))[:TAIL]
                    high[i] = sorted(high[i] + list(stats[f"hi{i}"]), reverse=True)[:TAIL]
            for i in open_:
                found = out[f"u{i}"][0]
                if isinstance(found.dtype, pl.Struct):
                    fields = found.struct.unnest()
                    distinct[i].add(fields.to_series(0), n - int(stats[f"n{i}"]), fields["__count"])
                else:
                    distinct[i].add(found, n - int(stats[f"n{i}"]))
    if rows == 0:
        raise InputError(f"{label} has no rows; there is nothing to infer a schema from")

    columns: dict[str, ColumnSchema] = {}
    data_has_nulls = any(missing)
    for i, name in enumerate(names):
        kind = kinds[name]
        present = rows - missing[i]
        col = ColumnSchema(name, dtype=None if present == 0 else dtype_name(dtypes[name]))
        limit = null_rule(missing[i], rows, data_has_nulls=data_has_nulls, slack=slack, alpha=alpha)
        col = replace(col, nullable=False) if limit is None else replace(col, max_null_fraction=limit)
        if kind in NUMERIC_KINDS and present:
            lowest, highest = [_plain(v) for v in low[i]], [_plain(v) for v in high[i]]
            bounds = range_rule(lowest[0], highest[0], lowest, highest, integer=kind == "integer")
            if bounds is not None:
                col = replace(
                    col, range=bounds, slack=float(slack) if slack and None not in (bounds.min, bounds.max) else 0.0
                )
        finished: tuple[int | None, Any] = distinct[i].finish() if i in distinct else (None, None)
        count, values = finished
        all_distinct = bool(present) and count == present
        if count and count <= max_categories and distinct[i].wants_values and not all_distinct:
            counts = distinct[i].counts or {}
            col = replace(
                col,
                categories=tuple(_plain(v) for v in values.sort()),
                max_unseen_fraction=category_rule(counts, present, alpha=alpha),
            )
        elif count is not None and present >= UNIQUE_MIN_ROWS and all_distinct:
            col = replace(col, unique=True)
        columns[name] = col
    return Schema(columns, rows_min=None, rows_max=None, target=target, alpha=alpha)


def _plain(value: Any) -> Any:
    """A Polars scalar as a plain YAML-friendly Python value."""
    import decimal

    if isinstance(value, decimal.Decimal):
        return float(value)
    return value
