"""Pipelines: stages from ``mlgate.yaml``, a content-addressed run cache in the artifact store, ``mlgate.lock``.

``run`` brings stages up to date (running, restoring from the cache, or leaving them), ``status`` says
which are stale and why. Modules: ``spec`` (stages and the DAG), ``digests`` (blake3 with a stat cache),
``cache`` (keys and the run cache), ``lock`` (``mlgate.lock``), ``runlock`` (one run per project),
``status`` (staleness), ``runner`` (execution), ``ray_executor`` (stages as Ray tasks) and ``journal``
(no-op runs recorded lazily). The runner loads on first use, so ``mlgate status`` never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlgate.pipeline.journal import flush_runs
from mlgate.pipeline.spec import Output, Pipeline, Stage, load_pipeline
from mlgate.pipeline.status import StageStatus, status

if TYPE_CHECKING:
    from mlgate.pipeline.runner import RunResult, StageResult, run

__all__ = [
    "Output",
    "Pipeline",
    "RunResult",
    "Stage",
    "StageResult",
    "StageStatus",
    "flush_runs",
    "load_pipeline",
    "run",
    "status",
]
_LAZY = {"RunResult", "StageResult", "run"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from mlgate.pipeline import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'mlgate.pipeline' has no attribute {name!r}")
