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

from __future__ import annotations

Modules: ``config`` (methods, thresholds, :class:`DriftConfig`), ``statistics`` (one column's sample,
test and verdict), ``compare`` (the two sides and :func:`drift`), ``report`` (:class:`DriftReport` and
its report view). A model reference is resolved above this layer (:mod:`mlgate.reference`).
"""

from __future__ import annotations

from mlgate.data.drift.compare import drift, looks_like_model_ref, resolve_source
from mlgate.data.drift.config import (
    APPLIES_TO,
    DEFAULT_THRESHOLDS,
    ENGINES,
    EXACT_MAX_ROWS,
    METHODS,
    P_VALUE_METHODS,
    PROFILE_FORMAT_PREFIX,
    PSI_BINS,
    PSI_FLOOR,
    SMALL_SAMPLE,
    STD_FLOOR,
    WASSERSTEIN_TOLERANCE,
    ColumnDriftConfig,
    DriftConfig,
)
from mlgate.data.drift.report import ColumnDrift, DriftReport, fmt
from mlgate.data.drift.statistics import severity

__all__ = [
    "APPLIES_TO",
    "DEFAULT_THRESHOLDS",
    "ENGINES",
    "EXACT_MAX_ROWS",
    "METHODS",
    "PROFILE_FORMAT_PREFIX",
    "PSI_BINS",
    "PSI_FLOOR",
    "P_VALUE_METHODS",
    "SMALL_SAMPLE",
    "STD_FLOOR",
    "WASSERSTEIN_TOLERANCE",
    "ColumnDrift",
    "ColumnDriftConfig",
    "DriftConfig",
    "DriftReport",
    "drift",
    "fmt",
    "looks_like_model_ref",
    "resolve_source",
    "severity",
]
