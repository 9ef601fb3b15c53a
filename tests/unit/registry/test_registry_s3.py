"""End to end: a registry with SQLite metadata and its artifacts in a real S3-compatible server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mlgate
from mlgate.errors import IntegrityError
from mlgate.hashing import digest_bytes
from mlgate.registry.s3 import S3BlobStore
from mlgate.registry.store import Registry


@pytest.fixture
def s3_registry(s3_location: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    """A registry whose S3 endpoint comes from MLGATE_S3_ENDPOINT_URL, as a user would set it."""
    location, endpoint = s3_location
    monkeypatch.setenv("MLGATE_S3_ENDPOINT_URL", endpoint)
    reg = Registry(f"sqlite:///{tmp_path / 'r.db'}", artifacts=location)
    yield reg
    reg.close()


def test_log_load_corrupt_and_gc_with_s3_artifacts(
    s3_registry: Registry, s3_client: Any, sk_model: Any, breast_cancer: tuple[Any, Any]
) -> None:
    reg = s3_registry
    X, _ = breast_cancer
    blobs = reg.blobs
    assert isinstance(blobs, S3BlobStore)
    assert blobs.endpoint_url == reg.settings.s3_endpoint_url

    mv = mlgate.log_model(sk_model, "bc", sample_input=X.head(5), registry=reg)
    assert mv.ref == "bc:1"
    stored = {b.digest for b in blobs.list()}
    assert stored == {info["digest"] for info in mv.manifest.values()}

    loaded = mlgate.load_model("bc:1", registry=reg)
    np.testing.assert_array_equal(loaded.predict(X), sk_model.predict(X))

    # tamper with one file of the version directly in the bucket
    rel, info = max(mv.manifest.items(), key=lambda item: item[1]["size"])
    s3_client.put_object(Bucket=blobs.bucket, Key=blobs.object_key(info["digest"]), Body=b"not a model")
    with pytest.raises(IntegrityError, match=rf"bc:1: file {re.escape(repr(rel))} is corrupt"):
        mlgate.load_model("bc:1", registry=reg)

    # a blob nothing references is found by gc, and deleted when asked
    orphan = digest_bytes(b"left behind by a crashed registration")
    blobs.put_bytes(orphan, b"left behind by a crashed registration")
    result = reg.gc()
    assert [o[0] for o in result.orphans] == [orphan]
    assert blobs.has(orphan)
    result = reg.gc(delete=True, min_age_s=0)
    assert result.deleted == [orphan]
    assert not blobs.has(orphan)
    assert {b.digest for b in blobs.list()} == stored
