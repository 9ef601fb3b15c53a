"""Garbage collection of the artifact store: only blobs no version references, under the age guard."""

from __future__ import annotations

from tests.unit.registry.helpers import reg_version


def test_gc_finds_and_deletes_only_orphans(registry, tmp_path):
    reg_version(registry, tmp_path, "kept")
    registry.blobs.put_bytes("blake3:" + "ab" * 32, b"orphan")
    listed = registry.gc()
    assert [d for d, _, _ in listed.orphans] == ["blake3:" + "ab" * 32]
    assert listed.deleted == []
    young = registry.gc(delete=True)
    assert young.deleted == [] and young.kept_young == ["blake3:" + "ab" * 32]
    done = registry.gc(delete=True, min_age_s=0)
    assert done.deleted == ["blake3:" + "ab" * 32]
    assert registry.gc().orphans == []
    registry.verify("fraud:1")
