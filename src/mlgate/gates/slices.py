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
    column: str | None
    mask: np.ndarray  # bool, one per row

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
            out.append(Slice(f"{col} is null", col, nulls))
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
                out.append(Slice(f"{col} = {_value(value)}", col, (arr == value) & ~nulls))
            continue
        arr = series.cast(pl.Float64).fill_null(np.nan).to_numpy()
        edges = np.unique(np.nanquantile(arr, np.linspace(0, 1, bins + 1)))
        for k in range(len(edges) - 1):
            lo, hi = edges[k], edges[k + 1]
            last = k == len(edges) - 2
            mask = (arr >= lo) & ((arr <= hi) if last else (arr < hi))
            label = f"{col} in [{_fmt(lo)}, {_fmt(hi)}{']' if last else ')'}"
            out.append(Slice(label, col, mask & ~nulls))
    return out, notes


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


def weighted_bh(p: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini–Hochberg on p-values weighted by slice size (weights average 1); the adjusted p-values and weights."""
    from scipy.stats import false_discovery_control

    p = np.asarray(p, dtype=np.float64)
    weights = np.asarray(rows, dtype=np.float64)
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
