"""Slices of the evaluation rows: discovered per column, or named by a filter for critical slices.

Discovery: a column with few distinct values — at most ``max_categories``, whatever its dtype, so that
ordinal codes and counts stored as floats (children 0–5, a 1–5 rating) are values — gives one slice per
value, the most frequent first; a text column with more values keeps its ``max_categories`` most
frequent. Only a genuinely continuous numeric column gives ``bins`` quantile bins ("age in [41, 53)"),
the last bin closed. Nulls form their own slice ("income is null"), because missing values are where
models often fail.

Columns that are not features are never sliced (:func:`sliceable`): the pandas index that
``to_parquet`` stores (``__index_level_0__``, ``Unnamed: 0`` from ``to_csv``), the target, and ID-like
columns (text or integers with a distinct value on (nearly) every row, or an ``id`` name with more than
``max_categories`` values).

**Screening** (:func:`weighted_bh`): each slice's one-sided p-value is divided by a weight proportional to
its rows (weights averaging 1) before Benjamini–Hochberg. The weighted procedure keeps the false
discovery rate at ``alpha`` (Genovese, Roeder & Wasserman 2006) and spends the power where a slice has
the rows to show a change, so one real slice is not drowned by hundreds of small ones.

**Intersections** (:func:`intersect`, ``intersections: N``): cells of two columns that each give at most
``PAIR_LEVELS`` slices, with at least ``min_rows`` rows, and not a near copy of either single-column slice
(at most ``NEAR_COPY`` of the smaller one's rows). The budget goes first to cells of two text columns'
values (``region = islands & plan = pro``), then of a text value and a number, then of two numbers or a
bin and a text value, and so on (``_RANK``), the largest cells first within each: chosen from the
features alone, never from the outcomes, so the choice does not bias the tests. They join the same
screening with half the weight of a single-column slice of the same rows (``INTERSECTION_WEIGHT``): the
single-column slices keep most of the power, and a fault confined to one cell, diluted in both of its
columns, can still be found by name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlgate.errors import ConfigError


@dataclass
class Slice:
    """A named subset of the evaluation rows."""

    name: str
    column: str | None  # "region & plan" for an intersection
    mask: np.ndarray  # bool, one per row
    weight: float = 1.0  # relative weight in the screening, per row (INTERSECTION_WEIGHT for an intersection)
    kind: str = "value"  # "category" (a text value), "value" (a number), "bin" (a quantile bin), "null"

    @property
    def rows(self) -> int:
        return int(self.mask.sum())


def discover(
    frame: Any, columns: Sequence[str], *, bins: int = 5, max_categories: int = 20, where: str = "mlgate.yaml"
) -> tuple[list[Slice], list[str]]:
    """Slices of each column of a Polars frame; also the notes on what was left out (too many values)."""
    import polars as pl

    out: list[Slice] = []
    notes: list[str] = []
    for col in columns:
        if col not in frame.columns:
            raise ConfigError(
                f"{where}: slice column {col!r} is not in the evaluation data",
                hint=f"columns are: {', '.join(frame.columns[:20])}",
            )
        series = frame.get_column(col)
        nulls = series.is_null().to_numpy()
        if series.dtype.is_float():
            nulls = nulls | series.is_nan().fill_null(False).to_numpy()
        if nulls.any():
            out.append(Slice(f"{col} is null", col, nulls, kind="null"))
        values = series.filter(~pl.Series(nulls))
        if values.is_empty():
            continue
        numeric = values.dtype.is_numeric() and values.dtype != pl.Boolean
        distinct = values.n_unique()
        if not numeric or distinct <= max_categories:
            counts = values.value_counts(sort=True)
            kept = counts.head(max_categories)
            if counts.height > max_categories:
                notes.append(f"{col}: {counts.height} distinct values; sliced the {max_categories} most frequent")
            arr = series.to_numpy()
            for value in kept.get_column(col).to_list():
                kind = "value" if numeric else "category"
                out.append(Slice(f"{col} = {_value(value)}", col, (arr == value) & ~nulls, kind=kind))
            continue
        arr = series.cast(pl.Float64).fill_null(np.nan).to_numpy()
        edges = np.unique(np.nanquantile(arr, np.linspace(0, 1, bins + 1)))
        for k in range(len(edges) - 1):
            lo, hi = edges[k], edges[k + 1]
            last = k == len(edges) - 2
            mask = (arr >= lo) & ((arr <= hi) if last else (arr < hi))
            label = f"{col} in [{_fmt(lo)}, {_fmt(hi)}{']' if last else ')'}"
            out.append(Slice(label, col, mask & ~nulls, kind="bin"))
    return out, notes


PAIR_LEVELS = 6  # a column takes part in intersections when it gives at most this many slices
NEAR_COPY = 0.8  # a cell holding more of its smaller parent's rows tests little that the parent does not
INTERSECTION_WEIGHT = 0.5  # per row, against 1 for a single-column slice
_RANK = {"category": 0, "value": 1, "null": 1, "bin": 2}  # which cells take the budget first (lowest sum)


def intersect(single: Sequence[Slice], *, budget: int, min_rows: int) -> list[Slice]:
    """Slices of two columns' cells, the ``budget`` largest (see the module docstring); none when it is 0."""
    if budget <= 0:
        return []
    by_column: dict[str, list[Slice]] = {}
    for sl in single:
        if sl.column is not None:
            by_column.setdefault(sl.column, []).append(sl)
    columns = [c for c, group in by_column.items() if len(group) <= PAIR_LEVELS]
    codes = {}
    for col in columns:  # a column's slices are disjoint: one code per row, -1 where none holds it
        code = np.full(by_column[col][0].mask.shape, -1, dtype=np.int64)
        for k, sl in enumerate(by_column[col]):
            code[sl.mask] = k
        codes[col] = code
    cells: list[tuple[int, int, int, str, str, int, int]] = []  # (rank, -rows, pair order, a, b, level a, level b)
    order = 0
    for i, a in enumerate(columns):
        for b in columns[i + 1 :]:
            order += 1
            ka, kb = len(by_column[a]), len(by_column[b])
            both = (codes[a] >= 0) & (codes[b] >= 0)
            counts = np.bincount(codes[a][both] * kb + codes[b][both], minlength=ka * kb)
            for cell in np.flatnonzero(counts >= min_rows):
                la, lb = divmod(int(cell), kb)
                rows = int(counts[cell])
                if rows <= NEAR_COPY * min(by_column[a][la].rows, by_column[b][lb].rows):
                    rank = _RANK[by_column[a][la].kind] + _RANK[by_column[b][lb].kind]
                    cells.append((rank, -rows, order, a, b, la, lb))
    cells.sort(key=lambda c: (c[0], c[1], c[2], c[5], c[6]))
    out = []
    for _, _, _, a, b, la, lb in cells[:budget]:
        sa, sb = by_column[a][la], by_column[b][lb]
        out.append(Slice(f"{sa.name} & {sb.name}", f"{a} & {b}", sa.mask & sb.mask, INTERSECTION_WEIGHT))
    return out


_INDEX = re.compile(r"^(__index_level_\d+__|Unnamed: \d+)$")
_ID_NAME = re.compile(r"(^|_)(id|uuid|guid|key)$|Id$|ID$", re.IGNORECASE)


def sliceable(frame: Any, *, target: str | None, max_categories: int = 20) -> tuple[list[str], list[str]]:
    """The columns worth slicing, and a note for each column left out because it is not a feature."""
    keep, notes = [], []
    n = frame.height
    for col in frame.columns:
        if col == target:
            continue
        if _INDEX.match(col):
            notes.append(f"{col}: a stored pandas index, not a feature; not sliced")
            continue
        series = frame.get_column(col)
        if series.dtype.is_float():
            keep.append(col)
            continue
        distinct = series.n_unique()
        if distinct > max_categories and (distinct >= 0.95 * n or _ID_NAME.search(col)):
            notes.append(f"{col}: ID-like ({distinct} distinct values in {n} rows); not sliced")
            continue
        keep.append(col)
    return keep, notes


def weighted_bh(p: np.ndarray, rows: np.ndarray, scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini–Hochberg on p-values weighted by slice size (weights average 1); the adjusted p-values and weights.

    ``scale`` multiplies each slice's rows before the weights are normalised (``Slice.weight``).
    """
    from scipy.stats import false_discovery_control

    p = np.asarray(p, dtype=np.float64)
    weights = np.asarray(rows, dtype=np.float64)
    if scale is not None:
        weights = weights * np.asarray(scale, dtype=np.float64)
    weights = weights / weights.mean()
    if p.size <= 1:
        return p.copy(), weights
    return false_discovery_control(np.minimum(p / weights, 1.0), method="bh"), weights


def by_filter(frame: Any, expression: str, *, where: str = "mlgate.yaml") -> Slice:
    """The rows a SQL filter selects (``age >= 65 AND clinic = 'B'``); errors name the gate."""
    import polars as pl

    try:
        expr = pl.sql_expr(expression)
        mask = frame.select(expr.fill_null(False).alias("m")).get_column("m")
    except Exception as exc:  # polars raises several kinds for syntax and column errors
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"{where}.slice: cannot evaluate the filter {expression!r}: {text}",
            hint=f"write a SQL condition over the evaluation columns ({', '.join(frame.columns[:10])} …)",
        ) from None
    if mask.dtype != pl.Boolean:
        raise ConfigError(f"{where}.slice: the filter {expression!r} is not a condition (it gives {mask.dtype})")
    return Slice(expression, None, mask.to_numpy())


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _value(value: Any) -> str:
    """A slice value as a person writes it: 2 for 2.0, text as it is."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:.4g}" if isinstance(value, float) else str(value)
