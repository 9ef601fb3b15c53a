"""``mlgate.threads``: native thread pools limited inside the block, restored after, a no-op without threadpoolctl."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from mlgate import threads


def _counts() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info()]


def test_limited_sets_one_thread_and_restores_the_callers_setting() -> None:
    np.ones((2, 2)) @ np.ones((2, 2))  # BLAS loaded
    threads.rescan()
    with threadpool_limits(2):
        before = _counts()
        with threads.limited():
            assert set(_counts()) == {threads.PREDICT_THREADS}
        assert _counts() == before


def test_without_threadpoolctl_nothing_is_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "_controller", None)
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    before = _counts()
    with threads.limited():
        assert _counts() == before
