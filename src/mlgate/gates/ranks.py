"""Rank buckets: the order statistics ROC AUC and average precision are computed from.

Positives and negatives are counted per bucket of the score (one per distinct score up to a cap, else
quantile buckets that never split ties), per group of rows; :mod:`mlgate.gates.metrics` documents the
layout and the error bound of the buckets ("Rank buckets").
"""

from __future__ import annotations

import numpy as np


def _rank_buckets(score: np.ndarray, max_buckets: int | None) -> tuple[np.ndarray, int, bool]:
    """Bucket index per row (ascending in the score, tied scores together), the bucket count, whether exact."""
    n = score.size
    order = np.argsort(score)
    s = score[order]
    new_run = np.empty(n, dtype=bool)
    new_run[0] = True
    np.not_equal(s[1:], s[:-1], out=new_run[1:])
    starts = np.flatnonzero(new_run)  # sorted positions where a run of equal scores begins
    run = np.cumsum(new_run) - 1
    if max_buckets is None or starts.size <= max_buckets:
        bucket_sorted, n_buckets = run, starts.size
    else:
        # a bucket begins at the first run starting at or after each 1/max_buckets quantile position
        cuts = np.arange(1, max_buckets, dtype=np.int64) * n // max_buckets
        first = np.unique(np.searchsorted(starts, cuts))
        first = first[(first > 0) & (first < starts.size)]
        begins = np.zeros(starts.size, dtype=np.int64)
        begins[first] = 1
        bucket_of_run = np.cumsum(begins)
        bucket_sorted, n_buckets = bucket_of_run[run], int(bucket_of_run[-1]) + 1
    bucket = np.empty(n, dtype=np.int64)
    bucket[order] = bucket_sorted
    return bucket, int(n_buckets), int(n_buckets) == starts.size


def _rank_index(y: np.ndarray, score: np.ndarray, groups: np.ndarray, cap: int | None) -> tuple[np.ndarray, int]:
    """Each row's flat cell in ``_rank_sums``'s matrix, and the bucket count."""
    bucket, n_b, _ = _rank_buckets(score, cap)
    return (groups * 2 + (1 - y)) * n_b + bucket, n_b  # positives in the first n_b columns, negatives next


def _rank_sums(y: np.ndarray, score: np.ndarray, groups: np.ndarray, n_groups: int, cap: int | None) -> np.ndarray:
    """Positives then negatives per rank bucket of the score, per group: ``(n_groups, 2 × buckets)`` int64."""
    index, n_b = _rank_index(y, score, groups, cap)
    # int64 counts, not float64: at a million rows this matrix has 8M cells, and the caller converts once
    return np.bincount(index, minlength=n_groups * 2 * n_b).reshape(n_groups, 2 * n_b)


def _auc_from_sums(s: np.ndarray) -> np.ndarray:
    pos, neg = np.split(s, 2, axis=-1)
    below = np.cumsum(neg, axis=-1) - neg
    wins = (pos * (below + 0.5 * neg)).sum(axis=-1)
    return wins / (pos.sum(axis=-1) * neg.sum(axis=-1))


def _ap_from_sums(s: np.ndarray) -> np.ndarray:
    pos, neg = np.split(s, 2, axis=-1)
    pos, neg = pos[..., ::-1], neg[..., ::-1]  # from the highest score down
    tp = np.cumsum(pos, axis=-1)
    seen = tp + np.cumsum(neg, axis=-1)
    precision = np.divide(tp, seen, out=np.zeros_like(tp), where=seen > 0)
    return (pos * precision).sum(axis=-1) / pos.sum(axis=-1)
