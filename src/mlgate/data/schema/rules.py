"""The rules an inferred schema sets, from a column's summary: shared by data and profile inference.

Inferred rules must hold for a clean new sample of the same data, not only for the sample they came
from; each one allows for what chance alone can show in another sample:

* **rows**: no bound. How many rows a batch has is the user's business (``rows: {min: …}``).
* **missing values**: a column with none, in data with none anywhere, is ``nullable: false``: missing
  values are not part of how that data is made, so the first one is a fault. Otherwise
  ``max_null_fraction`` is the one-sided upper bound (Clopper–Pearson, level ``alpha``) of the rate
  seen, and the schema's ``alpha`` makes validation test the current count against it at the current
  size (:mod:`mlgate.data.schema.bounds`).
* **range**: the minimum and maximum seen, each widened by ``TAIL_MARGIN`` times the spread of the
  ``TAIL`` most extreme values on that side. Extreme-value theory ties the gap a new sample can open
  beyond the old extreme to those spacings: for an exponential tail, a new sample a quarter of the size
  exceeds the margin with probability about ``e^-28``; a tail heavy enough to make that likely has
  spacings as wide. A side whose ``TAIL`` extreme values are equal (a floor or a cap, like 0 or 16 for
  pixel intensities) keeps its bound; a margin stops at zero when no value crossed it (a sign is a
  property of counts and amounts); a constant column gets no range, since one value says nothing
  about the spread.
* **categories** (text columns with at most ``max_categories`` values, and a classification target):
  closed — any other value fails — when every category was seen at least ``CLOSED_MIN_COUNT`` times,
  so that the Good–Turing estimate of the unseen share (the share of values seen once) is 0. Otherwise
  ``max_unseen_fraction`` is the upper bound of that estimate, judged like missing values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from mlgate.data.schema.bounds import upper_bound
from mlgate.data.schema.columns import Range

ALPHA = 1e-3
TAIL = 10
TAIL_MARGIN = 10
CLOSED_MIN_COUNT = 5
# Below this many rows, "every value is distinct" is too likely by chance to become a rule.
UNIQUE_MIN_ROWS = 20
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def null_rule(missing: int, rows: int, *, data_has_nulls: bool, slack: float, alpha: float) -> float | None:
    """``max_null_fraction`` for ``missing`` of ``rows``, or None for ``nullable: false``."""
    if missing == 0 and not data_has_nulls:
        return None
    return fraction_limit(missing, rows, slack=slack, alpha=alpha)


def fraction_limit(k: int, n: int, *, slack: float, alpha: float) -> float:
    """The upper bound of a rate seen ``k`` times in ``n``, × (1 + slack), rounded up to 4 decimals."""
    bound = max(Fraction(k, n), Fraction(upper_bound(k, n, alpha))) * (1 + Fraction(repr(slack)))
    return min(1.0, math.ceil(bound * 10_000) / 10_000)


def range_rule(lo: Any, hi: Any, lowest: Sequence[Any], highest: Sequence[Any], *, integer: bool) -> Range | None:
    """The widened range from the min, the max and the ``TAIL`` lowest and highest values (extremes first)."""
    if lo is None or hi is None or lo == hi:
        return None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return Range(lo, hi)
    low_spread = (lowest[min(TAIL, len(lowest)) - 1] - lo) if lowest else hi - lo
    high_spread = (hi - highest[min(TAIL, len(highest)) - 1]) if highest else hi - lo
    new_lo, new_hi = lo - TAIL_MARGIN * low_spread, hi + TAIL_MARGIN * high_spread
    # a margin never crosses zero: a sign no value broke is a property of the data (counts, amounts)
    if lo >= 0:
        new_lo = max(new_lo, lo * 0)
    if hi <= 0:
        new_hi = min(new_hi, hi * 0)
    if integer:  # within Int64, so that the bound compares with the column as it is
        return Range(min(lo, max(math.floor(new_lo), _INT64_MIN)), max(hi, min(math.ceil(new_hi), _INT64_MAX)))
    if not (math.isfinite(new_lo) and math.isfinite(new_hi)):  # a margin beyond float64: leave that side open
        return Range(new_lo if math.isfinite(new_lo) else None, new_hi if math.isfinite(new_hi) else None)
    # round outwards to three significant digits of the span, so the file stays readable
    step = 10.0 ** (math.floor(math.log10(new_hi - new_lo)) - 2)
    out_lo, out_hi = math.floor(new_lo / step) * step, math.ceil(new_hi / step) * step
    if not (math.isfinite(out_lo) and math.isfinite(out_hi)):
        return Range(new_lo, new_hi)
    return Range(min(_tidy(out_lo), lo), max(_tidy(out_hi), hi))


def category_rule(counts: Mapping[Any, int], present: int, *, alpha: float) -> float | None:
    """``max_unseen_fraction`` for categories seen with ``counts``, or None for a closed set."""
    if not counts or min(counts.values()) >= CLOSED_MIN_COUNT:
        return None
    seen_once = sum(1 for c in counts.values() if c == 1)
    return fraction_limit(seen_once, present, slack=0.0, alpha=alpha)


def _tidy(x: float) -> float:
    """A rounded bound without binary noise (0.30000000000000004 → 0.3)."""
    return float(f"{x:.12g}")
