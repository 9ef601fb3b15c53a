"""Binomial bounds for the fraction rules of an inferred schema, in plain Python (no SciPy import).

An inferred ``max_null_fraction`` (or ``max_unseen_fraction``) is the one-sided Clopper–Pearson upper
bound, at level ``alpha``, of the rate seen in the reference: the true rate lies below it except with
probability ``alpha``. A schema that sets ``alpha`` then judges a fraction rule with a one-sided
binomial test at the size of the data being validated: the rule fails only when ``k`` offending rows
out of ``n`` are more than a rate at the limit makes likely (``P(X ≥ k | n, limit) < alpha``). So a
clean sample of the same data fails a rule with probability about ``2 × alpha`` at most, whatever the
sizes of the two samples, while a real rise in the rate fails it once the data is large enough to show it.

Sums run over the binomial terms outwards from ``k``, where they only shrink, and stop once the rest
cannot change the result; ``math.lgamma`` gives the first term.
"""

from __future__ import annotations

import math


def _log_pmf(k: int, n: int, p: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + (k * math.log(p) if k else 0.0)
        + ((n - k) * math.log1p(-p) if n - k else 0.0)
    )


def binom_sf(k: int, n: int, p: float) -> float:
    """``P(X ≥ k)`` for ``X ~ Binomial(n, p)``."""
    if k <= 0 or p >= 1:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    if k <= n * p:  # at or below the mean the upper tail is large: take it as one minus the lower
        return 1.0 - binom_cdf(k - 1, n, p)
    term = math.exp(_log_pmf(k, n, p))
    total, j, odds = term, k, p / (1 - p)
    while j < n and term > total * 1e-17:
        term *= (n - j) / (j + 1) * odds
        total += term
        j += 1
    return min(1.0, total)


def binom_cdf(k: int, n: int, p: float) -> float:
    """``P(X ≤ k)`` for ``X ~ Binomial(n, p)``."""
    if k < 0 or (p >= 1 and k < n):
        return 0.0
    if k >= n or p <= 0:
        return 1.0
    if k >= n * p:  # at or above the mean the lower tail is large: take it as one minus the upper
        return 1.0 - binom_sf(k + 1, n, p)
    term = math.exp(_log_pmf(k, n, p))
    total, j, odds = term, k, (1 - p) / p
    while j > 0 and term > total * 1e-17:
        term *= j / (n - j + 1) * odds
        total += term
        j -= 1
    return min(1.0, total)


def upper_bound(k: int, n: int, alpha: float) -> float:
    """The one-sided Clopper–Pearson upper bound on a rate seen ``k`` times in ``n``: ``P(X ≤ k | n, p) = alpha``."""
    if n <= 0 or k >= n:
        return 1.0
    if k <= 0:
        return 1.0 - alpha ** (1.0 / n)  # closed form of (1 - p)^n = alpha
    lo, hi = k / n, 1.0
    for _ in range(60):  # bisection: the CDF falls as p rises
        mid = (lo + hi) / 2
        if binom_cdf(k, n, mid) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


def exceeds(k: int, n: int, limit: float, alpha: float | None) -> bool:
    """Whether ``k`` of ``n`` breaks a fraction ``limit``: plainly above it, or (with ``alpha``) significantly so."""
    if n <= 0 or k <= limit * n:
        return False
    return alpha is None or binom_sf(k, n, limit) < alpha
