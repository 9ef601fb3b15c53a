"""Drift between a reference and a current dataset, column by column, on raw data or on profiles.

Which test a column gets (``method="auto"``, after Evidently's default rule). ``n`` is the
reference's valid count (non-null, non-NaN values) for that column:

=====================  ===========  ================================================  ===========================
column kind            n            method                                            drift when
=====================  ===========  ================================================  ===========================
numeric, datetime      ≤ 1000       ``ks``: two-sample Kolmogorov–Smirnov             p-value < 0.05
categorical, boolean   ≤ 1000       ``chi2``: chi-squared homogeneity of the counts   p-value < 0.05
numeric, datetime      > 1000       ``wasserstein``: W1 / reference std               distance ≥ 0.1
categorical, boolean   > 1000       ``jensenshannon``: JS distance, base 2            distance ≥ 0.1
any (on request)                    ``psi``: population stability index               index ≥ 0.2
=====================  ===========  ================================================  ===========================

Details: chi-squared runs ``scipy.stats.chi2_contingency`` on the 2×K table of reference and current
counts (no continuity correction), so categories seen only in current count as evidence instead of
dividing by zero. PSI and, on numeric columns, ``jensenshannon`` and ``chi2`` compare the shares of
the reference's decile bins ``(-inf, q10], (q10, q20], …, (q90, inf)`` (inverted-CDF quantiles, equal
edges merged); PSI clips shares at 1e-4 as Evidently does. The Wasserstein distance is divided by the
reference's population standard deviation, floored at 0.001. Dates and datetimes are compared as
epoch microseconds, like numbers. Nulls, NaN and ±inf are left out of every test (the validation step
owns null rates). A reference column missing from the current data fails the check (method
``missing``; the dataset counts as drifted whatever the share). A column with values on one side and
none on the other is drifted; one that is
numeric on one side and not on the other is a type mismatch, also drifted. Columns of kind "other"
(durations, times, lists, structs …) are skipped and do not count towards the drifted share.

``DriftConfig(method=…)`` applies to every column whose kind the method supports (the others keep the
automatic choice); ``threshold`` overrides every column's default; ``columns={"age":
ColumnDriftConfig(…)}`` overrides both for one column and must fit that column's kind.

Severity, used to sort the report (largest drift first), is ≥ 1 exactly when a column drifted (up to
the tie at the threshold itself): ``statistic / threshold`` for distances, and ``log(p) / log(alpha)``
for p-values (p = alpha gives 1, p = 1 gives 0; p is floored at the smallest positive double, so a
p-value of 0 gives about 248 at alpha = 0.05). Type mismatches and emptied columns rank first (inf).

Two computation paths, chosen per call:

* **exact** when both sides are raw data and the reference has at most 1000 rows (every column then
  falls under the small-sample rule) and the current side at most ``EXACT_MAX_ROWS``: the common columns
  are collected and SciPy runs on the values (``ks_2samp``, ``chi2_contingency``,
  ``wasserstein_distance``, ``jensenshannon``).
* **sketch** otherwise, or when either side is a :class:`~mlgate.data.profile.Profile`: each raw side is
  profiled once (streaming; a reference given as a profile is never re-read) and the tests run
  on the profiles. A KLL sketch (k=200) is a weighted sample of a few hundred values whose CDF is within
  ε of the true one at every point, ε = ``kll_doubles_sketch.get_normalized_rank_error(200, True)`` ≈
  1.65 % (99 % confidence). KS is the largest gap between the two sketch CDFs, which is reached at one
  of the retained values, so ``|KS_sketch − KS_exact| ≤ 2ε``; its p-value is Stephens' asymptotic
  formula ``kolmogorov((√en + 0.12 + 0.11/√en)·D)``, en = n·m/(n+m) from the finite counts (within a few
  % of ``kstwo.sf(D, en)`` from en = 250 up). Wasserstein is the exact W1 between the two weighted
  sketch samples (the area between their CDFs, what ``wasserstein_distance`` gives with the retained
  values and their weights); the triangle inequality bounds its error by ``ε · (range_ref + range_cur) /
  std_ref``, which is loose (≈ 0.2 for normal data). In practice the error depends on the order the
  sketch saw the values: :func:`~mlgate.data.profile.profile` feeds each batch sorted, and then the
  measured error is ≤ 0.001 on 20,000-row normal, uniform-integer and lognormal samples and ≤ 0.011 on
  1,000,000-row lognormal ones (four sorted batches), so ``WASSERSTEIN_TOLERANCE`` = 0.02 is what the
  tests pin. A sketch fed in random order (another producer) is much noisier, and the noise only adds
  distance: up to ≈ 0.04 on light-tailed and ≈ 0.18 on lognormal 20,000-row samples, because each of the
  last retained values then stands for up to 2^h scattered rows of the tail. KLL compaction is
  randomised, so two profiles of the same data give slightly different sketch statistics. PSI, JS and
  chi-squared on numeric columns read the bin shares from the sketch CDFs (each share within 2ε). On
  categorical columns they use the frequent-item counts: exact while the cardinality fits the sketch,
  otherwise the items the sketch dropped are pooled into one "other" category.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import InputError, UsageError

if TYPE_CHECKING:
    import numpy as np

    from mlgate.data.profile import ColumnProfile, Profile

METHODS = ("ks", "chi2", "wasserstein", "jensenshannon", "psi")
P_VALUE_METHODS = frozenset({"ks", "chi2"})
DEFAULT_THRESHOLDS = {"ks": 0.05, "chi2": 0.05, "wasserstein": 0.1, "jensenshannon": 0.1, "psi": 0.2}
APPLIES_TO = {
    "ks": frozenset({"numeric"}),
    "wasserstein": frozenset({"numeric"}),
    "chi2": frozenset({"numeric", "categorical"}),
    "jensenshannon": frozenset({"numeric", "categorical"}),
    "psi": frozenset({"numeric", "categorical"}),
}
ENGINES = ("auto", "exact", "sketch")
SMALL_SAMPLE = 1000
EXACT_MAX_ROWS = 1_000_000
PSI_BINS = 10
PSI_FLOOR = 1e-4
STD_FLOOR = 0.001
WASSERSTEIN_TOLERANCE = 0.02
PROFILE_FORMAT_PREFIX = "mlgate.profile/"
_TINY = 5e-324


# --- configuration -----------------------------------------------------------------------------------


def _check_method(method: Any, where: str, *, allow_auto: bool) -> str | None:
    if method is None or (allow_auto and method == "auto"):
        return method
    if method not in METHODS:
        names = ", ".join((("auto",) if allow_auto else ()) + METHODS)
        raise UsageError(f"unknown drift method {method!r} for {where}; use one of {names}")
    return method


def _check_threshold(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"drift threshold for {where} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise UsageError(
            f"drift threshold for {where} must be a positive number, got {value!r}",
            hint="p-value methods (ks, chi2) take a significance level in (0, 1); distances take a positive cut-off",
        )
    return float(value)


@dataclass(frozen=True)
class ColumnDriftConfig:
    """One column's method and threshold; ``None`` keeps the dataset-wide choice."""

    method: str | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        _check_method(self.method, "a column", allow_auto=True)
        _check_threshold(self.threshold, "a column")


@dataclass(frozen=True)
class DriftConfig:
    """How to test drift: method and threshold for all columns, per-column overrides, and the share of
    drifted columns at which the whole dataset counts as drifted."""

    method: str = "auto"
    threshold: float | None = None
    share: float = 0.5
    columns: Mapping[str, ColumnDriftConfig] = field(default_factory=dict)
    ignore: Iterable[str] = ()
    engine: str = "auto"

    def __post_init__(self) -> None:
        _check_method(self.method, "the dataset", allow_auto=True)
        _check_threshold(self.threshold, "the dataset")
        share = self.share
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
            raise UsageError(f"drift share must be a number in (0, 1], got {share!r}")
        if self.engine not in ENGINES:
            raise UsageError(f"unknown drift engine {self.engine!r}; use one of {', '.join(ENGINES)}")
        cols = {}
        for name, cfg in dict(self.columns).items():
            if isinstance(cfg, Mapping):
                unknown = set(cfg) - {f.name for f in fields(ColumnDriftConfig)}
                if unknown:
                    raise UsageError(f"drift settings for column {name!r} have unknown keys {sorted(unknown)}")
                cfg = ColumnDriftConfig(**cfg)
            elif not isinstance(cfg, ColumnDriftConfig):
                raise UsageError(f"drift settings for column {name!r} must be a ColumnDriftConfig or a mapping")
            _check_method(cfg.method, f"column {name!r}", allow_auto=True)
            _check_threshold(cfg.threshold, f"column {name!r}")
            cols[name] = cfg
        object.__setattr__(self, "columns", cols)
        object.__setattr__(self, "ignore", tuple(self.ignore))


# --- report ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnDrift:
    """The verdict on one column. ``method`` is a test name, or ``type_mismatch``/``empty``/``missing``/``skipped``.

    ``threshold`` applies to the p-value for p-value tests and to the statistic for distances
    (``compared`` says which; ``comparison()`` shows the value beside it).
    """

    column: str
    kind: str
    method: str
    drifted: bool
    severity: float
    n_ref: int
    n_cur: int
    exact: bool
    statistic: float | None = None
    threshold: float | None = None
    p_value: float | None = None
    reason: str | None = None

    @property
    def tested(self) -> bool:
        """Whether the column counts towards the drifted share (skipped columns do not)."""
        return self.method != "skipped"

    @property
    def compared(self) -> str | None:
        """What the threshold applies to: ``p_value`` for p-value tests, ``statistic`` for distances."""
        if self.threshold is None:
            return None
        return "p_value" if self.method in P_VALUE_METHODS else "statistic"

    def comparison(self) -> str:
        """The value the verdict rests on, set against its threshold: ``p 0.012 < 0.05``, ``0.13 ≥ 0.1``."""
        if self.threshold is None:
            return "-"
        if self.compared == "p_value":
            sign = "<" if self.drifted else "≥"
            return f"p {fmt(self.p_value)} {sign} {fmt(self.threshold)}"
        sign = "≥" if self.drifted else "<"
        return f"{fmt(self.statistic)} {sign} {fmt(self.threshold)}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; a non-finite severity is written as null."""
        return {
            "column": self.column,
            "kind": self.kind,
            "method": self.method,
            "statistic": self.statistic,
            "threshold": self.threshold,
            "compared": self.compared,
            "p_value": self.p_value,
            "drifted": self.drifted,
            "severity": self.severity if math.isfinite(self.severity) else None,
            "n_ref": self.n_ref,
            "n_cur": self.n_cur,
            "exact": self.exact,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DriftReport:
    """Per-column drift, largest first, and the dataset verdict."""

    columns: list[ColumnDrift]
    rows_ref: int
    rows_cur: int
    share: float
    engine: str
    only_in_reference: list[str] = field(default_factory=list)
    only_in_current: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the drifted columns, largest drift first."""
        return [c.column for c in self.columns if c.drifted]

    @property
    def drifted_share(self) -> float:
        """Drifted columns over tested columns (0 when none was tested)."""
        tested = sum(c.tested for c in self.columns)
        return len(self.drifted_columns) / tested if tested else 0.0

    @property
    def missing_columns(self) -> list[str]:
        """Reference columns the current data lacks (and no ``ignore`` names): each one fails the check."""
        return [c.column for c in self.columns if c.method == "missing"]

    @property
    def dataset_drift(self) -> bool:
        """Whether the drifted share reaches the configured share, or a reference column is missing."""
        return bool(self.missing_columns) or (any(c.tested for c in self.columns) and self.drifted_share >= self.share)

    def __getitem__(self, column: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == column:
                return c
        raise KeyError(column)

    def summary(self) -> str:
        """One line: the verdict and the counts behind it."""
        tested = sum(c.tested for c in self.columns)
        verdict = "dataset drift" if self.dataset_drift else "no dataset drift"
        missing = self.missing_columns
        return (
            f"{verdict}: {len(self.drifted_columns)} of {tested} columns drifted "
            f"(share {self.drifted_share:.2f}, limit {self.share:g})"
            + (f"; missing from current: {', '.join(missing)}" if missing else "")
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "dataset_drift": self.dataset_drift,
            "drifted_share": self.drifted_share,
            "share": self.share,
            "drifted_columns": self.drifted_columns,
            "rows_ref": self.rows_ref,
            "rows_cur": self.rows_cur,
            "engine": self.engine,
            "only_in_reference": self.only_in_reference,
            "only_in_current": self.only_in_current,
            "ignored": self.ignored,
            "columns": [c.to_dict() for c in self.columns],
        }

    def to_markdown(self) -> str:
        """A Markdown section: the verdict, then one table row per column, largest drift first."""
        lines = [
            "## Data drift",
            "",
            f"**{self.summary()}** · reference {self.rows_ref:,} rows · current {self.rows_cur:,} rows · {self.engine}",
            "",
            "| column | method | statistic | p-value | compared with threshold | drift |",
            "|---|---|---:|---:|---:|---|",
        ]
        for c in self.columns:
            verdict = "**drift**" if c.drifted else ("skipped" if not c.tested else "ok")
            if c.method == "missing":
                verdict = "**missing**"
            if c.reason:
                verdict += f" ({_md(c.reason)})"
            lines.append(
                f"| {_md(c.column)} | {c.method} | {fmt(c.statistic)} | {fmt(c.p_value)} | {c.comparison()} "
                f"| {verdict} |"
            )
        for label, names in (
            ("Only in current (not tested)", self.only_in_current),
            ("Ignored", self.ignored),
        ):
            if names:
                lines += ["", f"{label}: " + ", ".join(f"`{n}`" for n in names)]
        return "\n".join(lines) + "\n"


def fmt(value: float | None) -> str:
    """A statistic for tables: 4 significant digits, scientific when tiny, ``-`` when absent."""
    if value is None:
        return "-"
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


# --- per-column distributions ------------------------------------------------------------------------


@dataclass
class _Numeric:
    """Finite values, sorted, with weights (None: each counts once), the valid count and the std."""

    values: np.ndarray
    weights: np.ndarray | None
    valid: int
    std: float

    @property
    def n(self) -> float:
        """How many finite values the (weighted) sample stands for."""
        return float(self.values.size if self.weights is None else self.weights.sum())

    @cached_property
    def cum(self) -> np.ndarray:
        """The CDF at each value."""
        import numpy as np

        if self.weights is None:
            return np.arange(1, self.values.size + 1) / self.values.size
        c = np.cumsum(self.weights)
        return c / c[-1]

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """P(X ≤ x) of this (weighted) sample."""
        import numpy as np

        idx = np.searchsorted(self.values, x, side="right")
        return np.concatenate(([0.0], self.cum))[idx]

    def quantiles(self, qs: np.ndarray) -> np.ndarray:
        """Inverted-CDF quantiles: the smallest value whose CDF reaches q."""
        import numpy as np

        idx = np.searchsorted(self.cum, qs, side="left")
        return self.values[np.minimum(idx, self.values.size - 1)]


@dataclass
class _Categorical:
    counts: dict[str, float]
    valid: int


@dataclass
class _Column:
    kind: str
    dtype: str
    valid: int
    dist: _Numeric | _Categorical | None  # None: the kind is not tested


def _family(kind: str) -> str:
    """The test family: numeric (numbers and datetimes), categorical (labels and booleans) or other."""
    return {"numeric": "numeric", "datetime": "numeric", "categorical": "categorical", "boolean": "categorical"}.get(
        kind, "other"
    )


def _column_from_series(s: Any) -> _Column:
    import numpy as np
    import polars as pl

    from mlgate.data.profile import kind_of

    kind, dtype = kind_of(s.dtype), str(s.dtype)
    fam = _family(kind)
    s = s.drop_nulls()
    if fam == "numeric":
        if kind == "datetime":  # epoch microseconds, as profiles store them
            s = s.dt.epoch("us")
        x = s.cast(pl.Float64).to_numpy()
        nan = int(np.isnan(x).sum())
        x = np.sort(x[np.isfinite(x)])
        std = float(np.std(x)) if len(x) else 0.0
        return _Column(kind, dtype, len(s) - nan, _Numeric(x, None, len(s) - nan, std))
    if fam == "categorical":
        vc = s.cast(pl.String).value_counts()
        counts = dict(zip(vc[:, 0].to_list(), vc[:, 1].to_list(), strict=True))
        return _Column(kind, dtype, len(s), _Categorical(counts, len(s)))
    return _Column(kind, dtype, len(s), None)


def _column_from_profile(col: ColumnProfile) -> _Column:
    import numpy as np

    fam = _family(col.kind)
    valid = int(col.valid)
    if fam == "numeric":
        sketch = col.quantile_sketch()
        if sketch is None:
            return _Column(col.kind, col.dtype, valid, None)
        if sketch.is_empty():
            return _Column(col.kind, col.dtype, valid, _Numeric(np.empty(0), None, valid, 0.0))
        items = np.array(list(sketch), dtype=np.float64).reshape(-1, 2)
        order = np.argsort(items[:, 0], kind="stable")
        std = _profile_std(col, sketch.n)
        return _Column(col.kind, col.dtype, valid, _Numeric(items[order, 0], items[order, 1], valid, std))
    if fam == "categorical":
        counts = {str(k): float(v) for k, v in (col.frequent_items() or {}).items()}
        other = valid - sum(counts.values())
        if other > 0.5:  # items the frequent-items sketch dropped: pooled so shares still sum to one
            counts["\x00other"] = other
        return _Column(col.kind, col.dtype, valid, _Categorical(counts, valid))
    return _Column(col.kind, col.dtype, valid, None)


def _profile_std(col: ColumnProfile, n_finite: int) -> float:
    """Population std from the profile's running moments (M2 over the finite values)."""
    m2 = col.m2
    if m2 is None or not n_finite or not math.isfinite(m2):
        return 0.0
    return math.sqrt(max(m2, 0.0) / n_finite)


# --- tests -------------------------------------------------------------------------------------------


def _choose(fam: str, valid_ref: int, config: DriftConfig, override: ColumnDriftConfig | None, name: str) -> str:
    if override is not None and override.method not in (None, "auto"):
        if fam not in APPLIES_TO[override.method]:
            raise UsageError(
                f"drift method {override.method!r} does not apply to column {name!r}, which is {fam}",
                hint=f"{fam} columns take {', '.join(m for m in METHODS if fam in APPLIES_TO[m])}",
            )
        return override.method
    if config.method != "auto" and fam in APPLIES_TO[config.method]:
        return config.method
    small = valid_ref <= SMALL_SAMPLE
    if fam == "numeric":
        return "ks" if small else "wasserstein"
    return "chi2" if small else "jensenshannon"


def _threshold(method: str, config: DriftConfig, override: ColumnDriftConfig | None, name: str) -> float:
    t = override.threshold if override is not None and override.threshold is not None else config.threshold
    if t is None:
        return DEFAULT_THRESHOLDS[method]
    if method in P_VALUE_METHODS and t >= 1:
        raise UsageError(
            f"drift threshold {t:g} for column {name!r} is not a significance level: {method} needs one in (0, 1)"
        )
    return t


def severity(method: str, statistic: float, p_value: float | None, threshold: float) -> float:
    """≥ 1 when drifted: statistic/threshold for distances, log(p)/log(alpha) for p-values."""
    if method in P_VALUE_METHODS:
        assert p_value is not None
        return math.log(max(p_value, _TINY)) / math.log(threshold)
    return statistic / threshold


def _ks_sketch(ref: _Numeric, cur: _Numeric) -> tuple[float, float]:
    """KS statistic between two weighted samples, with Stephens' asymptotic p-value."""
    import numpy as np
    from scipy.special import kolmogorov

    points = np.union1d(ref.values, cur.values)
    d = float(np.max(np.abs(ref.cdf(points) - cur.cdf(points))))
    en = math.sqrt(ref.n * cur.n / (ref.n + cur.n))
    return d, float(np.clip(kolmogorov((en + 0.12 + 0.11 / en) * d), 0.0, 1.0))


def _wasserstein(ref: _Numeric, cur: _Numeric) -> float:
    """W1 between two weighted samples: the area between their CDFs (what SciPy computes)."""
    import numpy as np

    points = np.union1d(ref.values, cur.values)
    return float(np.sum(np.abs(ref.cdf(points[:-1]) - cur.cdf(points[:-1])) * np.diff(points)))


def _jensenshannon(r: np.ndarray, c: np.ndarray) -> float:
    """Jensen–Shannon distance, base 2, of two count vectors (what SciPy computes)."""
    import numpy as np

    p, q = r / r.sum(), c / c.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0)
        right = np.where(q > 0, q * np.log(q / m), 0.0)
    return float(np.sqrt(max(left.sum() + right.sum(), 0.0) / np.log(2) / 2))


def _chi2(r: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    """Chi-squared homogeneity test of two count vectors, no continuity correction."""
    import numpy as np
    from scipy.special import chdtrc

    keep = (r + c) > 0
    table = np.vstack([r[keep], c[keep]])
    dof = table.shape[1] - 1
    if dof == 0:
        return 0.0, 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    stat = float(np.sum((table - expected) ** 2 / expected))
    return stat, float(chdtrc(dof, stat))


def _bins(ref: _Numeric, cur: _Numeric) -> tuple[np.ndarray, np.ndarray]:
    """Shares of the reference's decile bins (-inf, q1], …, (q9, inf) on both sides."""
    import numpy as np

    edges = np.unique(ref.quantiles(np.arange(1, PSI_BINS) / PSI_BINS))
    return (
        np.diff(np.concatenate(([0.0], ref.cdf(edges), [1.0]))),
        np.diff(np.concatenate(([0.0], cur.cdf(edges), [1.0]))),
    )


def _shares(ref: _Categorical, cur: _Categorical) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    keys = sorted(set(ref.counts) | set(cur.counts))
    r = np.array([ref.counts.get(k, 0.0) for k in keys], dtype=np.float64)
    c = np.array([cur.counts.get(k, 0.0) for k in keys], dtype=np.float64)
    return r, c


def _psi(r: np.ndarray, c: np.ndarray) -> float:
    import numpy as np

    r = np.clip(r / r.sum(), PSI_FLOOR, None)
    c = np.clip(c / c.sum(), PSI_FLOOR, None)
    return float(np.sum((c - r) * np.log(c / r)))


def _run(
    method: str, ref: _Numeric | _Categorical, cur: _Numeric | _Categorical, exact: bool
) -> tuple[float, float | None]:
    """(statistic, p-value or None) of one method on one column.

    The exact path calls SciPy's tests; the sketch path uses the NumPy equivalents above (tested against
    SciPy), because importing ``scipy.stats`` alone takes 0.5–0.7 s, a third of a big-data drift run.
    """
    if isinstance(ref, _Numeric) and isinstance(cur, _Numeric):
        if method == "ks":
            if not exact:
                return _ks_sketch(ref, cur)
            from scipy.stats import ks_2samp

            with warnings.catch_warnings():  # SciPy falls back to the asymptotic p-value and says so
                warnings.filterwarnings("ignore", "ks_2samp: Exact calculation unsuccessful", RuntimeWarning)
                res = ks_2samp(ref.values, cur.values)
            return float(res.statistic), float(res.pvalue)
        if method == "wasserstein":
            if exact:
                from scipy.stats import wasserstein_distance

                w = float(wasserstein_distance(ref.values, cur.values))
            else:
                w = _wasserstein(ref, cur)
            return w / max(ref.std, STD_FLOOR), None
        r, c = _bins(ref, cur)
        r, c = r * ref.n, c * cur.n
    else:
        assert isinstance(ref, _Categorical) and isinstance(cur, _Categorical)
        r, c = _shares(ref, cur)
    if method == "psi":
        return _psi(r, c), None
    if method == "chi2":
        if not exact:
            return _chi2(r, c)
        import numpy as np
        from scipy.stats import chi2_contingency

        keep = (r + c) > 0
        res = chi2_contingency(np.vstack([r[keep], c[keep]]), correction=False)
        return float(res.statistic), float(res.pvalue)
    if not exact:
        return _jensenshannon(r, c), None
    from scipy.spatial.distance import jensenshannon

    return float(jensenshannon(r, c, base=2)), None


def _compare(name: str, ref: _Column, cur: _Column, config: DriftConfig, exact: bool) -> ColumnDrift:
    def verdict(kind: str, method: str, drifted: bool, sev: float, **more: Any) -> ColumnDrift:
        return ColumnDrift(name, kind, method, drifted, sev, ref.valid, cur.valid, exact, **more)

    empty_r, empty_c = _is_empty(ref), _is_empty(cur)
    if empty_r and empty_c:
        return verdict(ref.kind, "skipped", False, 0.0, reason="no valid values on either side")
    if empty_r or empty_c:
        side = "reference" if empty_r else "current"
        return verdict(cur.kind if empty_r else ref.kind, "empty", True, math.inf, reason=f"no valid values in {side}")
    fam = _family(ref.kind)
    if fam != _family(cur.kind):
        reason = f"{ref.kind} ({ref.dtype}) in reference but {cur.kind} ({cur.dtype}) in current"
        return verdict(f"{ref.kind}→{cur.kind}", "type_mismatch", True, math.inf, reason=reason)
    if ref.dist is None or cur.dist is None:
        return verdict(ref.kind, "skipped", False, 0.0, reason=f"{ref.kind} columns ({ref.dtype}) are not tested")
    override = config.columns.get(name)
    method = _choose(fam, ref.valid, config, override, name)
    threshold = _threshold(method, config, override, name)
    stat, p = _run(method, ref.dist, cur.dist, exact)
    drifted = p < threshold if p is not None else stat >= threshold
    sev = severity(method, stat, p, threshold)
    return verdict(ref.kind, method, bool(drifted), sev, statistic=stat, threshold=threshold, p_value=p)


def _is_empty(col: _Column) -> bool:
    """No valid value, or (numeric) none that is finite: nothing to compare."""
    return col.valid == 0 or (isinstance(col.dist, _Numeric) and col.dist.values.size == 0)


# --- sides: raw data or profiles ---------------------------------------------------------------------


@dataclass
class _Side:
    label: str
    profile: Profile | None = None
    lazy: Any = None  # Polars LazyFrame
    head: Any = None  # the first SMALL_SAMPLE + 1 rows, read once to tell small references


def resolve_source(source: Any, *, registry: Any = None) -> Any:
    """What a reference or current argument stands for: a Profile, or data :func:`mlgate.data.io.scan` reads.

    A ``.json`` file whose ``format`` starts with ``mlgate.profile/`` is loaded as a profile, and a model
    reference (``fraud@production``) that names no file resolves to the version's stored training
    profile, cut to the model's input columns (live data carries no label), looked up in ``registry``
    (default: the registry the settings point at).
    """
    from mlgate.data.profile import Profile

    if isinstance(source, Profile) or not isinstance(source, str | Path):
        return source
    path = Path(source)
    if path.suffix.lower() == ".json" and path.is_file():
        try:
            head = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path} is not valid JSON: {exc}", hint="give a data file or an mlgate profile") from exc
        fmt_ = head.get("format") if isinstance(head, dict) else None
        if not (isinstance(fmt_, str) and fmt_.startswith(PROFILE_FORMAT_PREFIX)):
            raise InputError(
                f"{path} is a JSON file but not an mlgate profile (its 'format' is {fmt_!r})",
                hint="make one with `mlgate data profile`, or give the data itself (parquet, csv, ipc, jsonl)",
            )
        return Profile.load(path)
    if not path.exists() and _looks_like_model_ref(str(source)):
        from mlgate.models import _default_registry, training_profile

        reg = _default_registry(registry)
        version = reg.get(str(source))
        prof = training_profile(version, registry=reg)
        if prof is None:
            raise UsageError(
                f"{source} was registered without training data, so it carries no reference profile",
                hint="register with --data TRAIN_FILE, or give the reference data or its profile JSON",
            )
        return _model_inputs(prof, version.signature)
    return source


def _model_inputs(prof: Profile, signature: Any) -> Profile:
    """A training profile cut to the model's input columns: live data has no label, and lacking it is no fault."""
    from dataclasses import replace

    inputs = (signature or {}).get("inputs") or {}
    names = [c.get("name") for c in inputs.get("columns", [])] if isinstance(inputs, dict) else []
    if not names or not any(n in prof.columns for n in names):
        return prof
    return replace(prof, columns={n: c for n, c in prof.columns.items() if n in names})


def _looks_like_model_ref(text: str) -> bool:
    from mlgate.refs import parse_ref

    if "@" not in text and ":" not in text:
        return False
    try:
        parse_ref(text)
    except UsageError:
        return False
    return True


def _side(source: Any, label: str, registry: Any = None) -> _Side:
    from mlgate.data.io import scan
    from mlgate.data.profile import Profile

    resolved = resolve_source(source, registry=registry)
    if isinstance(resolved, Profile):
        if resolved.rows == 0:
            raise InputError(f"the {label} profile covers no rows")
        return _Side(label, profile=resolved)
    return _Side(label, lazy=scan(resolved))


def _named(source: Any) -> str:
    return str(source) if isinstance(source, str | Path) else type(source).__name__


def _no_rows(label: str, source: Any) -> InputError:
    return InputError(f"the {label} data ({_named(source)}) has no rows", hint="drift needs values on both sides")


# --- entry point -------------------------------------------------------------------------------------


def drift(reference: Any, current: Any, *, config: DriftConfig | None = None, registry: Any = None) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column (see the module docstring for the rules).

    Each side is a dataset (path, folder, glob, or a pandas/Polars/PyArrow object), a profile JSON file,
    or a :class:`~mlgate.data.profile.Profile`.
    """
    import polars as pl

    from mlgate.data.io import collect
    from mlgate.data.profile import profile

    config = config or DriftConfig()
    ref, cur = _side(reference, "reference", registry), _side(current, "current", registry)
    ref_schema = _schema(ref)
    cur_schema = _schema(cur)
    _check_names(config, ref_schema, cur_schema)
    ignored = [c for c in config.ignore if c in ref_schema or c in cur_schema]
    common = [c for c in ref_schema if c in cur_schema and c not in ignored]
    if not common:
        raise InputError(
            "reference and current have no column in common"
            + (" (after --ignore)" if ignored else "")
            + f"; reference columns: {list(ref_schema)}; current columns: {list(cur_schema)}",
            hint="compare datasets that share column names",
        )

    exact = False
    rows_ref = rows_cur = 0
    if ref.lazy is not None and cur.lazy is not None and config.engine != "sketch":
        if config.engine == "exact":
            ref.head = collect(ref.lazy.select(common))
        else:
            ref.head = collect(ref.lazy.select(common).head(SMALL_SAMPLE + 1))
        rows_ref = ref.head.height
        if rows_ref == 0:
            raise _no_rows("reference", reference)
        if config.engine == "exact" or rows_ref <= SMALL_SAMPLE:
            rows_cur = int(collect(cur.lazy.select(pl.len())).item())
            exact = config.engine == "exact" or rows_cur <= EXACT_MAX_ROWS
    elif config.engine == "exact":
        raise UsageError("the exact drift engine needs raw data on both sides, not profiles")

    if exact:
        if rows_cur == 0:
            raise _no_rows("current", current)
        cur_df = collect(cur.lazy.select(common))
        ref_cols = {c: _column_from_series(ref.head[c]) for c in common}
        cur_cols = {c: _column_from_series(cur_df[c]) for c in common}
    else:
        if ref.profile is None:
            # a small reference already read whole is profiled from memory, not read again
            whole = ref.head is not None and ref.head.height <= SMALL_SAMPLE
            ref.profile = profile(ref.head if whole else ref.lazy, columns=common, allow_empty=True)
        if cur.profile is None:
            cur.profile = profile(cur.lazy, columns=common, allow_empty=True)
        rows_ref, rows_cur = ref.profile.rows, cur.profile.rows
        if rows_ref == 0:
            raise _no_rows("reference", reference)
        if rows_cur == 0:
            raise _no_rows("current", current)
        ref_cols = {c: _column_from_profile(ref.profile.columns[c]) for c in common}
        cur_cols = {c: _column_from_profile(cur.profile.columns[c]) for c in common}

    results = [_compare(c, ref_cols[c], cur_cols[c], config, exact) for c in common]
    results += [
        ColumnDrift(c, _side_kind(ref, c), "missing", True, math.inf, 0, 0, exact, reason="not in the current data")
        for c in ref_schema
        if c not in cur_schema and c not in ignored
    ]
    results.sort(key=lambda r: (-r.severity, r.column))
    return DriftReport(
        columns=results,
        rows_ref=rows_ref,
        rows_cur=rows_cur,
        share=float(config.share),
        engine="exact" if exact else "sketch",
        only_in_reference=[c for c in ref_schema if c not in cur_schema and c not in ignored],
        only_in_current=[c for c in cur_schema if c not in ref_schema and c not in ignored],
        ignored=ignored,
    )


def _side_kind(side: _Side, column: str) -> str:
    """The kind of one column of a side (numeric, categorical …), without reading data."""
    from mlgate.data.profile import kind_of

    if side.lazy is not None:  # a profile made here covers only the common columns
        return kind_of(side.lazy.collect_schema()[column])
    return side.profile.columns[column].kind  # type: ignore[union-attr]


def _schema(side: _Side) -> dict[str, str]:
    """Column name → dtype string, without reading data."""
    if side.profile is not None:
        return {name: col.dtype for name, col in side.profile.columns.items()}
    import polars as pl

    try:
        schema = side.lazy.collect_schema()
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot read the {side.label} data: {str(exc).strip().splitlines()[0]}") from exc
    return {name: str(dtype) for name, dtype in schema.items()}


def _check_names(config: DriftConfig, ref_schema: dict[str, str], cur_schema: dict[str, str]) -> None:
    both = [c for c in ref_schema if c in cur_schema]
    for name in config.columns:
        if name not in both or name in config.ignore:
            raise UsageError(
                f"drift settings name column {name!r}, which is not in both datasets"
                + (" (it is also ignored)" if name in config.ignore else ""),
                hint=f"columns in both: {', '.join(both) or '(none)'}",
            )
    for name in config.ignore:
        if name not in ref_schema and name not in cur_schema:
            raise UsageError(
                f"ignored column {name!r} is in neither dataset",
                hint=f"columns in both: {', '.join(both) or '(none)'}",
            )
