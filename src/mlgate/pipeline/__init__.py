"""Pipelines: stages from ``mlgate.yaml``, a content-addressed run cache in the artifact store, ``mlgate.lock``.

``run`` brings stages up to date (running, restoring from the cache, or leaving them), ``status`` says
which are stale and why. Modules: ``spec`` (stages and the DAG), ``digests`` (blake3 with a stat cache),
``cache`` (keys and the run cache), ``lock`` (``mlgate.lock``), ``runlock`` (one run per project),
``status`` (staleness) and ``runner`` (execution).
"""

from __future__ import annotations

from mlgate.pipeline.runner import RunResult, StageResult, run, status
from mlgate.pipeline.spec import Output, Pipeline, Stage, load_pipeline
from mlgate.pipeline.status import StageStatus

__all__ = ["Output", "Pipeline", "RunResult", "Stage", "StageResult", "StageStatus", "load_pipeline", "run", "status"]
