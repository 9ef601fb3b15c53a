"""Data quality of live inputs against the serving version's training data: null spikes, values out of range,
unseen categories.

The reference is the version's training profile (stored when it was registered), cut to its input
columns. Each figure is a count over the window's ``m`` scored rows, tested against what a clean
window drawn like the training data would give. The training data is itself a sample, so the rate a
clean window is held to is not known exactly: a column whose training maximum happens to sit low has
more new values above it, in every window, than ``2 / (n + 1)`` says. Each count is therefore tested
against its exact distribution under "the window and the training rows are draws of one distribution"
(exchangeability), which is beta-binomial: ``X | u ~ Binomial(m, u)`` with the rate ``u`` as uncertain
as the training rows leave it. One-sided p-values, and one family per window: every test of every column
at ``ALPHA / tests`` (Bonferroni), so a window of ordinary traffic raises an issue in at most about one
window in a thousand, however many columns the model takes:

* ``nulls``: null (or NaN) values; ``u ~ Beta(k + 1, n − k + 1)`` for ``k`` nulls in ``n`` training rows
  (the rate's posterior from a uniform prior, mean about the training null share, never 0);
* ``out_of_range``: numeric values below the training minimum or above its maximum; the probability
  mass outside the range of ``n`` draws of a continuous distribution is ``Beta(2, n − 1)`` (mean
  ``2 / (n + 1)``), whatever the distribution;
* ``unseen``: text values the training data never held, when the training profile knows every category
  (its frequent-items sketch kept them all); the chance of a value not seen in ``n`` draws is estimated
  by the share of categories seen once (Good–Turing), ``u ~ Beta(f1 + 1, n − f1 + 1)`` for ``f1``
  categories seen once, so rare training categories make unseen ones expected. Up to five are shown;
* ``constant``: a numeric column whose every value in the window is one and the same (a broken upstream
  feature stuck at a default), when the training data varied: ``m`` draws of the training distribution
  are all equal with probability at most ``s^(m-1)``, ``s`` the largest share one value held in training
  (read from the profile's quantile sketch, plus its rank error), in the same family.

A schema's shares (``max_null_fraction``, ``max_unseen_fraction``, a range or categories: a share of 0)
are limits, not estimates: their counts are tested with the binomial test against that share.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from mlgate.data.profile import Profile
    from mlgate.data.schema import Schema

ALPHA = 0.001  # family-wise, per window: every test of every column together
EXAMPLES = 5
TESTS = "beta-binomial, Bonferroni per window"


@dataclass(frozen=True)
class ColumnReference:
    """What the training data held in one input column."""

    name: str
    kind: str
    n: int
    null_share: float
    low: float | None = None
    high: float | None = None
    categories: frozenset[str] | None = None
    # the shares a clean window may hold; None: derived from the training rows (n) as described above
    max_nulls: float | None = None
    max_out_of_range: float | None = None
    max_unseen: float | None = None
    source: str = "training profile"
    max_value_share: float | None = None  # the largest share one value held in training (None: unknown)
    values: int | None = None  # training values neither null nor NaN (None: n)
    singletons: int = 0  # categories the training data held once (Good–Turing: the unseen rate)


@dataclass(frozen=True)
class QualityIssue:
    """One figure of one column that a clean sample would not give."""

    column: str
    check: str  # nulls, out_of_range, unseen, constant
    count: int
    rows: int
    expected_share: float
    p_value: float
    examples: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        """The share of the window's rows."""
        return self.count / self.rows if self.rows else 0.0

    def describe(self) -> str:
        """One line for people."""
        if self.check == "constant":
            return (
                f"{self.column}: all {self.count} values are {self.examples[0] if self.examples else 'the same'} "
                f"(in training no value held more than {self.expected_share:.1%} of the rows; p {self.p_value:.2g})"
            )
        what = {"nulls": "null values", "out_of_range": "values outside the training range", "unseen": "unseen values"}
        text = (
            f"{self.column}: {self.count} {what[self.check]} in {self.rows} rows ({self.share:.1%}; "
            f"expected ≤ {self.expected_share:.2%}, p {self.p_value:.2g})"
        )
        return text + (f", e.g. {', '.join(repr(e) for e in self.examples)}" if self.examples else "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "column": self.column,
            "check": self.check,
            "count": self.count,
            "rows": self.rows,
            "share": self.share,
            "expected_share": self.expected_share,
            "p_value": self.p_value,
            "examples": self.examples,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QualityIssue:
        """Inverse of :meth:`to_dict`."""
        return cls(
            data["column"],
            data["check"],
            int(data["count"]),
            int(data["rows"]),
            float(data["expected_share"]),
            float(data["p_value"]),
            list(data["examples"]),
        )


@dataclass(frozen=True)
class QualityReference:
    """The reference of every input column the training profile holds."""

    columns: dict[str, ColumnReference]

    @classmethod
    def from_profile(cls, prof: Profile) -> QualityReference:
        """From a training profile (already cut to the inputs)."""
        out = {}
        for name, col in prof.columns.items():
            n = max(col.count, 1)
            ref = ColumnReference(name, col.kind, col.count, (col.nulls + col.nan) / n)
            if col.kind == "numeric" and isinstance(col.min, int | float) and isinstance(col.max, int | float):
                ref = ColumnReference(
                    name,
                    col.kind,
                    col.count,
                    ref.null_share,
                    float(col.min),
                    float(col.max),
                    max_value_share=_max_value_share(col) if col.min < col.max else None,
                    values=col.valid,
                )
            elif col.kind == "categorical":
                items = col.frequent_items() or {}
                distinct = col.distinct() or 0.0
                if items and len(items) >= 0.97 * distinct:  # the sketch kept every category
                    ref = ColumnReference(
                        name,
                        col.kind,
                        col.count,
                        ref.null_share,
                        categories=frozenset(items),
                        values=col.valid,
                        singletons=sum(1 for c in items.values() if c <= 1),
                    )
            out[name] = ref
        return cls(out)

    def with_schema(self, schema: Schema, inputs: list[str]) -> QualityReference:
        """The schema's rules on the input columns it names, in place of the training profile's.

        A schema's rules are hard limits (as ``mlgate data validate`` applies them): a null where the column is
        not nullable, a value outside its range (with its slack) or outside its categories is an issue at
        once; ``max_null_fraction`` and ``max_unseen_fraction`` are the shares tested against.
        """
        out = dict(self.columns)
        for name in inputs:
            rule = schema.columns.get(name)
            if rule is None:
                continue
            base = out.get(name) or ColumnReference(name, "numeric" if rule.range else "categorical", 0, 0.0)
            low, high = rule.range.bounds(rule.slack) if rule.range is not None else (None, None)
            cats = frozenset(str(c) for c in rule.categories) if rule.categories is not None else None
            nulls = rule.max_null_fraction if rule.max_null_fraction is not None else (None if rule.nullable else 0.0)
            out[name] = ColumnReference(
                name,
                base.kind,
                base.n,
                base.null_share,
                low if low is not None else (base.low if rule.range is None else float("-inf")),
                high if high is not None else (base.high if rule.range is None else float("inf")),
                cats if cats is not None else base.categories,
                max_nulls=nulls,
                max_out_of_range=0.0 if rule.range is not None else None,
                max_unseen=(rule.max_unseen_fraction or 0.0) if cats is not None else None,
                source=f"schema {schema.source or ''}".strip(),
                max_value_share=base.max_value_share,
                values=base.values,
                singletons=base.singletons,
            )
        return QualityReference(out)

    def key(self) -> str:
        """A digest of the reference, for cache keys (computed once: every file's cache key names it)."""
        known = self.__dict__.get("_key")
        if known is not None:
            return str(known)
        body = [
            (
                c.name,
                c.kind,
                c.low,
                c.high,
                sorted(c.categories) if c.categories is not None else None,
                c.max_nulls,
                c.max_out_of_range,
                c.max_unseen,
                c.max_value_share,
                c.values,
                c.singletons,
            )
            for c in self.columns.values()
        ]
        # TESTS names the statistics: a change of test judges the cached windows again
        digest = hashlib.sha256(json.dumps([TESTS, body]).encode()).hexdigest()[:16]
        object.__setattr__(self, "_key", digest)  # frozen: set past the dataclass's guard
        return digest

    def count_exprs(self, schema: Any, rename: dict[str, str] | None = None) -> list[pl.Expr]:
        """The additive count expressions of :meth:`count`, over columns named as in ``schema``.

        ``rename`` maps a reference column name to the frame's column name (default: the same), so the
        counts can ride along in a profiling pass over the log's own columns.
        """
        import polars as pl

        exprs = []
        for ref in self.columns.values():
            name = (rename or {}).get(ref.name, ref.name)
            if name not in schema:
                continue
            col = pl.col(name)
            if ref.low is not None and ref.high is not None and schema[name].is_numeric():
                finite = col.cast(pl.Float64)
                exprs.append((finite < ref.low).sum().alias(f"{ref.name}\x00below"))
                exprs.append((finite > ref.high).sum().alias(f"{ref.name}\x00above"))
            elif ref.categories is not None:
                text = col.cast(pl.String)
                exprs.append(
                    (text.is_not_null() & ~text.is_in(list(ref.categories))).sum().alias(f"{ref.name}\x00unseen")
                )
        return exprs

    def unpack(self, totals: dict[str, Any]) -> dict[str, dict[str, int]]:
        """The per-column counts out of the totals of :meth:`count_exprs`."""
        counts: dict[str, dict[str, int]] = {}
        for key, value in totals.items():
            name, what = key.split("\x00")
            counts.setdefault(name, {})[what] = int(value or 0)
        return counts

    def examples(
        self, counts: dict[str, dict[str, int]], frame: pl.DataFrame, rename: dict[str, str] | None = None
    ) -> dict[str, list[str]]:
        """Up to five unseen values of each column that has some (read only when there are some)."""
        import polars as pl

        examples = {}
        for name, c in counts.items():
            ref = self.columns[name]
            if c.get("unseen") and ref.categories is not None:
                values = frame[(rename or {}).get(name, name)].cast(pl.String).drop_nulls().unique(maintain_order=True)
                examples[name] = [v for v in values.to_list() if v not in ref.categories][:EXAMPLES]
        return examples

    def count(self, inputs: pl.DataFrame) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
        """Per column: values below and above the range, unseen values; and up to five unseen examples."""
        exprs = self.count_exprs(inputs.schema)
        counts = self.unpack(inputs.select(exprs).row(0, named=True)) if exprs else {}
        return counts, self.examples(counts, inputs)

    def issues(
        self, rows: int, inputs: Profile | None, counts: dict[str, dict[str, int]], examples: dict[str, list[str]]
    ) -> list[QualityIssue]:
        """The issues of one window: its scored ``rows``, input profile and counts.

        Every test of the window is one family at ``ALPHA`` (Bonferroni over the tests that could run:
        a column's null test, its range or category test, its constant test).
        """
        if not rows:
            return []
        tests: list[tuple[str, str, int, float, float, list[str]]] = []  # column, check, count, share, p, examples
        planned = 0
        for name, ref in self.columns.items():
            col = inputs.columns.get(name) if inputs is not None else None
            c = counts.get(name, {})
            if col is not None:
                planned += 1
                tests.append((name, "nulls", col.nulls + col.nan, *self._nulls(ref, rows, col.nulls + col.nan), []))
            if "below" in c:
                planned += 1
                count = c["below"] + c.get("above", 0)
                tests.append((name, "out_of_range", count, *self._out_of_range(ref, rows, count), []))
            if "unseen" in c:
                planned += 1
                tests.append(
                    (name, "unseen", c["unseen"], *self._unseen(ref, rows, c["unseen"]), examples.get(name, []))
                )
            share = ref.max_value_share
            if share is not None:
                planned += 1
                stuck = col is not None and col.kind == "numeric" and col.finite >= 2 and col.min == col.max
                if stuck:
                    assert col is not None
                    tests.append((name, "constant", col.finite, share, share ** (col.finite - 1), [repr(col.min)]))
        level = ALPHA / max(planned, 1)
        return [
            QualityIssue(column, check, count, rows, expected, p, ex)
            for column, check, count, expected, p, ex in tests
            if count > 0 and p < level
        ]

    @staticmethod
    def _nulls(ref: ColumnReference, rows: int, count: int) -> tuple[float, float]:
        if ref.max_nulls is not None:
            return ref.max_nulls, binomial_sf(count, rows, ref.max_nulls)
        nulls = round(ref.null_share * ref.n)
        a, b = nulls + 1, ref.n - nulls + 1
        return a / (a + b), beta_binomial_sf(count, rows, a, b)

    @staticmethod
    def _out_of_range(ref: ColumnReference, rows: int, count: int) -> tuple[float, float]:
        if ref.max_out_of_range is not None:
            return ref.max_out_of_range, binomial_sf(count, rows, ref.max_out_of_range)
        n = ref.n if ref.values is None else ref.values
        a, b = 2.0, max(n - 1, 1)
        return a / (a + b), beta_binomial_sf(count, rows, a, b)

    @staticmethod
    def _unseen(ref: ColumnReference, rows: int, count: int) -> tuple[float, float]:
        if ref.max_unseen is not None:
            return ref.max_unseen, binomial_sf(count, rows, ref.max_unseen)
        n = ref.n if ref.values is None else ref.values
        a, b = ref.singletons + 1, max(n - ref.singletons, 0) + 1
        return a / (a + b), beta_binomial_sf(count, rows, a, b)


def binomial_sf(count: int, rows: int, share: float) -> float:
    """P(X >= count) for X ~ Binomial(rows, share); a share of 0 is a limit, tested as a tiny one."""
    if count <= 0:
        return 1.0
    # scipy.special, not scipy.stats: importing scipy.stats alone costs more than an incremental pass
    from scipy.special import bdtrc

    return float(bdtrc(count - 1, rows, min(max(share, 1e-12), 1.0)))


def beta_binomial_sf(count: int, rows: int, a: float, b: float) -> float:
    """P(X >= count) for X ~ BetaBinomial(rows, a, b): a Binomial(rows, u) count whose rate u ~ Beta(a, b).

    The terms are summed in log space from ``count`` up (they fall past the mode, so the sum stops once
    they are negligible), or, below the mode, as 1 minus the terms under ``count``.
    """
    if count <= 0:
        return 1.0
    if count > rows:
        return 0.0
    import numpy as np
    from scipy.special import betaln, gammaln

    base = gammaln(rows + 1) - betaln(a, b)

    def logpmf(j: Any) -> Any:
        return base - gammaln(j + 1) - gammaln(rows - j + 1) + betaln(j + a, rows - j + b)

    mode = rows * (a - 1) / max(a + b - 2, 1e-12) if a > 1 else 0.0
    if count <= mode:
        below = np.exp(logpmf(np.arange(count, dtype=float))).sum()
        return float(min(max(1.0 - below, 0.0), 1.0))
    total, start, chunk = 0.0, count, 4096
    while start <= rows:
        terms = np.exp(logpmf(np.arange(start, min(start + chunk, rows + 1), dtype=float)))
        total += float(terms.sum())
        if terms[-1] <= 1e-17 * total or total == 0.0:
            break
        start += chunk
        chunk *= 2
    return min(total, 1.0)


RANKS = 1000
KLL_RANK_ERROR = 0.02  # above the KLL sketch's normalized rank error (1.65 % at k = 200)


def _max_value_share(col: Any) -> float | None:
    """The largest share one value held in a training column: the longest run of equal quantiles."""
    qs = col.quantiles([i / RANKS for i in range(RANKS + 1)])
    if not qs:
        return None
    longest = run = 0
    for a, b in itertools.pairwise(qs):
        run = run + 1 if a == b else 0
        longest = max(longest, run)
    return min(1.0, longest / RANKS + KLL_RANK_ERROR)
