"""Verified bytes out of the registry: every file re-hashed, nothing unverified left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.errors import IntegrityError
from tests.unit.registry.helpers import reg_version


def test_materialize_verifies_every_file(registry, tmp_path):
    v = reg_version(registry, tmp_path, "payload")
    out = registry.materialize(v, tmp_path / "out")
    assert (out / "model.bin").read_text() == "payload"
    blob = Path(registry.blobs.location) / "blobs"
    target = next(p for p in blob.rglob("*") if p.is_file() and p.read_bytes() == b"payload")
    target.chmod(0o644)
    target.write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match=r"fraud:1: file 'model.bin' is corrupt"):
        registry.materialize(v, tmp_path / "out2")
    assert not (tmp_path / "out2").exists(), "nothing unverified is left behind"
    target.unlink()
    with pytest.raises(IntegrityError, match=r"fraud:1: file 'model.bin' is missing from the artifact store"):
        registry.verify("fraud:1")
