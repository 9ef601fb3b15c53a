"""Garbage collection of the artifact store: blobs no version, profile or gate report references.

The age guard (``min_age_s``) protects a registration that has written its blobs but not yet
committed its row; the leftovers of killed writers (``leftovers.py``) go under the same guard.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

from mlgate.registry.access import Access
from mlgate.registry.blobs import BlobStore
from mlgate.registry.leftovers import find_leftovers, remove_leftovers
from mlgate.registry.tables import gate_reports, versions
from mlgate.registry.types import GcResult


def referenced_digests(conn: sa.Connection) -> set[str]:
    """Every blob digest the database refers to: version files, training-data profiles, gate reports."""
    referenced: set[str] = set()
    for (entries,) in conn.execute(sa.select(versions.c.manifest)):
        referenced.update(i["digest"] for i in entries.values())
    referenced.update(d for (d,) in conn.execute(sa.select(versions.c.data_profile_digest)) if d)
    referenced.update(d for (d,) in conn.execute(sa.select(gate_reports.c.report_digest)))
    return referenced


def gc(
    acc: Access,
    *,
    delete: bool = False,
    min_age_s: float = 3600.0,
    extra_stores: Sequence[BlobStore] = (),
    workspace_dirs: Sequence[Path] = (),
) -> GcResult:
    """Find blobs that no version references; delete those older than ``min_age_s`` if asked."""
    blobs = acc.blobs
    leftovers = find_leftovers([blobs, *extra_stores], min_age_s=min_age_s, workspace_dirs=workspace_dirs)
    with acc.read() as conn:
        referenced = referenced_digests(conn)
    now = time.time()
    orphans: list[tuple[str, int, float]] = []
    deleted: list[str] = []
    young: list[str] = []
    for info in blobs.list():
        if info.digest in referenced:
            continue
        age = now - info.mtime
        orphans.append((info.digest, info.size, age))
        if delete:
            if age >= min_age_s:
                blobs.delete(info.digest)
                deleted.append(info.digest)
            else:
                young.append(info.digest)
    removed = remove_leftovers(leftovers) if delete else []
    return GcResult(orphans, deleted, young, len(referenced), leftovers, removed)
