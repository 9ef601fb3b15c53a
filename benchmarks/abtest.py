"""A/B tests read continuously: false differences and power of mlgate's sequential rule against Welch's t-test.

The rule is :func:`mlgate.delivery.abtest.sequential_effects` (the decision ``mlgate abtest status`` and
``report`` apply); the anchor is SciPy's Welch t-test (``scipy.stats.ttest_ind_from_stats``) at p < alpha.
Both are read after every batch of rows, as a dashboard is.

- **No true difference**: ``--tests`` simulated tests per scenario (a rate at three baselines, or a
  skewed amount: a purchase with a log-normal value, else 0), B's share 20% or 50%, read after every
  ``--batch`` rows for ``--batches`` reads. The share of tests that ever declared a difference.
- **A true effect of the plan's mde** (a rate of 0.50 against 0.55, 50% split): the share that found it
  by the plan's sequential size, and the median rows when they did; the t-test read once at the plan's
  fixed size is the textbook reference.

    python benchmarks/abtest.py --tests 1000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import ttest_ind_from_stats

from mlgate.delivery.abtest import plan, sequential_effects


def _cumulative(x: np.ndarray, arm: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s1 = np.cumsum(np.where(arm, x, 0.0), axis=1)[:, ends - 1]
    s2 = np.cumsum(np.where(arm, x * x, 0.0), axis=1)[:, ends - 1]
    n = np.cumsum(arm, axis=1)[:, ends - 1].astype(float)
    mean = s1 / np.maximum(n, 1)
    var = np.maximum((s2 - s1 * s1 / np.maximum(n, 1)) / (np.maximum(n, 2) - 1), 0.0)
    return n, mean, var


def _reads(
    x: np.ndarray, to_b: np.ndarray, ends: np.ndarray, split: float, alpha: float, min_rows: int, **kw: float
) -> tuple[np.ndarray, np.ndarray]:
    na, ma, va = _cumulative(x, ~to_b, ends)
    nb, mb, vb = _cumulative(x, to_b, ends)
    *_, decision = sequential_effects(ma, va, na, mb, vb, nb, split=split, alpha=alpha, min_rows=min_rows, **kw)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = ttest_ind_from_stats(mb, np.sqrt(vb), nb, ma, np.sqrt(va), na, equal_var=False).pvalue
    ready = np.minimum(na, nb) >= min_rows
    return decision, np.where(ready, np.nan_to_num(p, nan=1.0), 1.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tests", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--batches", type=int, default=60)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--min-rows", type=int, default=100, help="rows per arm before a decision (mlgate's default)")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    n = args.batch * args.batches
    ends = np.arange(args.batch, n + 1, args.batch)
    print(
        f"no true difference: {args.tests} tests each, read after every {args.batch} rows ({args.batches} reads), "
        f"{args.min_rows} rows a side before a decision"
    )
    print(f"{'outcome':<16} {'B share':>7} {'mlgate':>8} {'Welch t':>8} {'t / mlgate':>10}")
    started = time.perf_counter()
    for outcome, base in (("rate 0.10", 0.1), ("rate 0.50", 0.5), ("rate 0.90", 0.9), ("amount", 0.3)):
        for split in (0.2, 0.5):
            to_b = rng.random((args.tests, n)) < split
            hit = rng.random((args.tests, n)) < base
            x = np.where(hit, rng.lognormal(3.0, 1.0, (args.tests, n)), 0.0) if outcome == "amount" else hit * 1.0
            decision, p = _reads(x, to_b, ends, split, args.alpha, args.min_rows)
            ours = np.isin(decision, ["b_better", "b_worse"]).any(axis=1).mean()
            theirs = (p < args.alpha).any(axis=1).mean()
            ratio = theirs / ours if ours else float("inf")
            print(f"{outcome:<16} {split:>7.0%} {ours:>8.1%} {theirs:>8.1%} {ratio:>10.1f}")
    pl = plan(0.5, 0.05, alpha=args.alpha)
    size = pl.sequential
    ends = np.arange(args.batch, size + 1, args.batch)
    to_b = rng.random((args.tests, size)) < 0.5
    x = np.where(to_b, rng.random((args.tests, size)) < 0.55, rng.random((args.tests, size)) < 0.5) * 1.0
    decision, _ = _reads(x, to_b, ends, 0.5, args.alpha, args.min_rows, tune_rows=pl.fixed, mde=0.05)
    found = decision == "b_better"
    first = np.where(found.any(axis=1), found.argmax(axis=1), -1)
    rows = ends[first[first >= 0]]
    fixed_to_b = to_b[:, : pl.fixed]
    fx = x[:, : pl.fixed]
    _, pf = _reads(fx, fixed_to_b, np.array([pl.fixed]), 0.5, args.alpha, args.min_rows)
    print(
        f"\ntrue effect 0.05 on a rate of 0.50 (50% split; plan: {pl.fixed} rows fixed, {pl.sequential} sequential):\n"
        f"  mlgate, read every {args.batch} rows: found in {found.any(axis=1).mean():.1%} by {size} rows, "
        f"median {int(np.median(rows)) if rows.size else 0} rows when found\n"
        f"  Welch t read once at {pl.fixed} rows: found in {(pf[:, 0] < args.alpha).mean():.1%} (two-sided)"
    )
    print(f"\n({time.perf_counter() - started:.1f} s, seed {args.seed})")


if __name__ == "__main__":
    main()
