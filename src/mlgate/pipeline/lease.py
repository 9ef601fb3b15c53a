"""A lease on a run-cache key: runners that miss the cache for the same key at once compute it once.

The first runner to miss a key takes its lease and runs the stage; the others wait for the lease, then
find the entry the first one stored and restore it instead of training again (4 runners → 1 version).
The lease lives with the registry every runner shares: a PostgreSQL session advisory lock (released by
the server when the holder's connection drops, even after ``kill -9``), or, for a SQLite registry, an
exclusive ``flock`` on a file beside the database (released by the kernel when the holder dies). A
runner whose holder dies simply takes the lease next and computes the stage itself.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlgate.registry.store import Registry

POLL_S = 0.5


def _advisory_key(key: str) -> int:
    """A signed 64-bit number from a cache key's digest (PostgreSQL's advisory lock space)."""
    hexdigest = key.partition(":")[2] or key
    return int(hexdigest[:16], 16) - (1 << 63)


@contextlib.contextmanager
def stage_lease(reg: Registry, key: str, *, on_wait: Callable[[], None] | None = None) -> Iterator[bool]:
    """Hold the lease on ``key`` while the block runs; yields True when another runner held it first."""
    if reg.url.startswith("sqlite"):
        with _file_lease(Path(reg.url.removeprefix("sqlite:///")).parent / "leases", key, reg.actor, on_wait) as w:
            yield w
        return
    import sqlalchemy as sa

    number = _advisory_key(key)
    with reg.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        waited = False
        while not conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": number}).scalar():
            if not waited and on_wait is not None:
                on_wait()
            waited = True
            time.sleep(POLL_S)
        try:
            yield waited
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": number})


@contextlib.contextmanager
def _file_lease(folder: Path, key: str, user: str, on_wait: Callable[[], None] | None) -> Iterator[bool]:
    from mlgate.pipeline.runlock import project_lock

    waited = False

    def waiting(_holder: str) -> None:
        nonlocal waited
        waited = True
        if on_wait is not None:
            on_wait()

    name = (key.partition(":")[2] or key)[:32]
    with project_lock(folder / f"{name}.lock", timeout=float("inf"), user=user, on_wait=waiting):
        yield waited
