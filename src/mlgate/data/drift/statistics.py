"""The drift statistics of one column: its values as a (weighted) sample, the test chosen, the verdict.

Numbers come from raw values (exact: SciPy) or from a profile's sketches (NumPy equivalents of the SciPy
tests, tested against them); the package docstring (:mod:`mlgate.data.drift`) states the rules and the
error bounds.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from mlgate.data.drift.config import (
    _TINY,
    APPLIES_TO,
    DEFAULT_THRESHOLDS,
    METHODS,
    P_VALUE_METHODS,
    PSI_BINS,
    PSI_FLOOR,
    SMALL_SAMPLE,
    STD_FLOOR,
    ColumnDriftConfig,
    DriftConfig,
)
from mlgate.data.drift.report import ColumnDrift
from mlgate.errors import UsageError

if TYPE_CHECKING:
    import numpy as np

    from mlgate.data.profile import ColumnProfile


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
