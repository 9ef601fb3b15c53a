"""Slices of the evaluation rows: discovered per column, or named by a filter for critical slices.

Discovery: a column with few distinct values (text, booleans, categories, or integers with at most
``max_categories`` values) gives one slice per value, the most frequent first; a numeric column gives
``bins`` quantile bins ("age in [41, 53)"), the last bin closed. Nulls form their own slice
("income is null"), because missing values are where models often fail.
"""

from __future__ import annotations

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
        if not numeric or (values.dtype.is_integer() and distinct <= max_categories) or distinct <= min(bins, 2):
            counts = values.value_counts(sort=True)
            kept = counts.head(max_categories)
            if counts.height > max_categories:
                notes.append(f"{col}: {counts.height} distinct values; sliced the {max_categories} most frequent")
            arr = series.to_numpy()
            for value in kept.get_column(col).to_list():
                out.append(Slice(f"{col} = {value}", col, (arr == value) & ~nulls))
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
