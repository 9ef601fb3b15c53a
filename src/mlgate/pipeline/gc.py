"""Garbage collection of the run cache: entries unused for a while, and output blobs nothing names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlgate.pipeline.cache import CacheGcResult, RunCache
from mlgate.pipeline.lock import LOCK_NAME, read_lock
from mlgate.pipeline.status import SMOKE_LOCK

if TYPE_CHECKING:
    from mlgate.config import Settings


def workspace_outputs(settings: Settings) -> set[tuple[str, str, str]]:
    """``(stage, output path, digest)`` for every output ``mlgate.lock`` and the smoke lock record."""
    keep: set[tuple[str, str, str]] = set()
    for name in (LOCK_NAME, SMOKE_LOCK):
        for stage, block in read_lock(settings.root, name).items():
            for path, digest in (block.get("outs") or {}).items():
                keep.add((stage, str(path), str(digest)))
    return keep


def collect_garbage(
    settings: Settings, *, unused_for_s: float | None = None, min_age_s: float = 3600.0, delete: bool = False
) -> CacheGcResult:
    """Garbage-collect the configured store's run cache; entries holding this project's outputs always stay.

    See :meth:`mlgate.pipeline.cache.RunCache.gc` for what is found and in which order it is deleted.
    """
    cache = RunCache(settings.artifacts, s3_endpoint_url=settings.s3_endpoint_url)
    return cache.gc(keep=workspace_outputs(settings), unused_for_s=unused_for_s, min_age_s=min_age_s, delete=delete)
