"""How many threads the native libraries (OpenMP, BLAS) use while mlgate predicts.

A gate and a server both predict in one process on machines they share: CI runners, serving nodes. Left
at the libraries' defaults, scikit-learn's OpenMP and NumPy's BLAS start one thread per core on every
call, and when other work holds those cores each call waits for a descheduled thread: a one-row
``predict`` that takes 7 ms with one thread took a median 20 ms and up to 1.3 s on two shared cores.
The behaviour checks and the latency probes make about 170 such calls, and even scoring 100,000 rows
was faster with one thread there (1.1 s against 1.4 s). So a gate and a server predict with
:data:`PREDICT_THREADS` threads, and the latency a gate reports is measured the way the server runs.

threadpoolctl is imported when first needed (``mlgate --help`` stays fast), and a missing
threadpoolctl means no limit. Limits are restored when the block ends, so the caller's settings
survive a gate. OpenMP limits are per thread: :func:`limited` limits the thread that runs the block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

PREDICT_THREADS = 1  # threads per native pool while mlgate predicts (gate and server alike)

_controller: Any = None  # a threadpoolctl.ThreadpoolController over the libraries loaded when it was made


def rescan() -> None:
    """Look again for loaded thread pools: a model just loaded may have brought its own OpenMP or BLAS."""
    global _controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # threadpoolctl comes with scikit-learn; without either nothing is limited
        _controller = None
        return
    _controller = ThreadpoolController()


@contextlib.contextmanager
def limited(threads: int = PREDICT_THREADS) -> Iterator[None]:
    """Run the block with at most ``threads`` threads in each OpenMP and BLAS pool, restoring them afterwards.

    Entering costs microseconds (the pools found by the last :func:`rescan` are reused); call
    :func:`rescan` after loading a model.
    """
    if _controller is None:
        rescan()
    if _controller is None:
        yield
        return
    with _controller.limit(limits=threads):
        yield
