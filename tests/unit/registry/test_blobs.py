"""One suite for every blob store backend: a local folder and a real S3-compatible server."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlgate.errors import EnvironmentProblem, NotFoundError
from mlgate.hashing import digest_bytes, digest_file
from mlgate.registry.backends import open_blob_store
from mlgate.registry.blobs import BlobStore, LocalBlobStore, blob_key
from mlgate.registry.s3 import S3BlobStore

Overwrite = Callable[[str, bytes], None]


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """The same tests run against every backend."""
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs-root")
    location, endpoint = request.getfixturevalue("s3_location")
    return open_blob_store(location, s3_endpoint_url=endpoint)


@pytest.fixture
def overwrite(store: BlobStore, request: pytest.FixtureRequest) -> Overwrite:
    """Replace a stored blob's bytes behind the store's back, as a disk fault or a tamperer would."""
    if isinstance(store, LocalBlobStore):

        def local(digest: str, data: bytes) -> None:
            path = store.root / blob_key(digest)
            os.chmod(path, 0o644)
            path.write_bytes(data)

        return local
    assert isinstance(store, S3BlobStore)
    client: Any = request.getfixturevalue("s3_client")

    def s3(digest: str, data: bytes) -> None:
        client.put_object(Bucket=store.bucket, Key=store.object_key(digest), Body=data)

    return s3


def _file(tmp_path: Path, data: bytes, name: str = "src.bin") -> tuple[Path, str]:
    path = tmp_path / name
    path.write_bytes(data)
    return path, digest_bytes(data)


def test_put_then_has_and_fetch_roundtrip(store: BlobStore, tmp_path: Path) -> None:
    src, digest = _file(tmp_path, b"model weights " * 100)
    assert not store.has(digest)
    store.put_file(digest, src)
    assert store.has(digest)
    out = tmp_path / "out.bin"
    assert store.fetch(digest, out) == digest
    assert out.read_bytes() == src.read_bytes()


def test_put_twice_is_idempotent(store: BlobStore, tmp_path: Path) -> None:
    src, digest = _file(tmp_path, b"same bytes")
    store.put_file(digest, src)
    store.put_file(digest, src)
    assert [b.digest for b in store.list()] == [digest]
    assert store.fetch(digest, tmp_path / "out") == digest


def test_fetch_missing_raises_not_found(store: BlobStore, tmp_path: Path) -> None:
    digest = digest_bytes(b"never stored")
    with pytest.raises(NotFoundError, match=rf"blob {re.escape(digest)} is missing from "):
        store.fetch(digest, tmp_path / "out")


def test_list_returns_exactly_what_was_put(store: BlobStore, tmp_path: Path) -> None:
    assert list(store.list()) == []
    before = time.time()
    sizes = {}
    for i, data in enumerate([b"", b"a", b"bb" * 1000, os.urandom(70_000)]):
        src, digest = _file(tmp_path, data, f"f{i}")
        store.put_file(digest, src)
        sizes[digest] = len(data)
    listed = list(store.list())
    assert {b.digest: b.size for b in listed} == sizes
    assert len(listed) == len(sizes)
    # S3 keeps whole seconds; allow for that and a little clock skew with the server
    assert all(before - 5 <= b.mtime <= time.time() + 5 for b in listed)


def test_delete_is_idempotent(store: BlobStore, tmp_path: Path) -> None:
    src, digest = _file(tmp_path, b"to be deleted")
    store.put_file(digest, src)
    store.delete(digest)
    assert not store.has(digest)
    store.delete(digest)
    store.delete(digest_bytes(b"never stored"))
    assert list(store.list()) == []
    with pytest.raises(NotFoundError, match="is missing from"):
        store.fetch(digest, tmp_path / "out")


def test_corrupted_blob_fetches_with_a_different_digest(store: BlobStore, overwrite: Overwrite, tmp_path: Path) -> None:
    src, digest = _file(tmp_path, b"the original bytes")
    store.put_file(digest, src)
    overwrite(digest, b"the tampered bytes")
    out = tmp_path / "out"
    got = store.fetch(digest, out)
    assert got != digest
    assert got == digest_bytes(b"the tampered bytes")
    assert out.read_bytes() == b"the tampered bytes"


def test_put_bytes(store: BlobStore, tmp_path: Path) -> None:
    data = b'{"report": true}'
    digest = digest_bytes(data)
    store.put_bytes(digest, data)
    assert store.has(digest)
    assert store.fetch(digest, tmp_path / "out") == digest
    assert (tmp_path / "out").read_bytes() == data


def test_large_file_roundtrips(store: BlobStore, tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(12 * 1024 * 1024 + 17))
    digest = digest_file(src)
    store.put_file(digest, src)
    out = tmp_path / "big.out"
    assert store.fetch(digest, out) == digest
    assert digest_file(out) == digest
    assert [b.size for b in store.list()] == [src.stat().st_size]


# -- S3 only --------------------------------------------------------------------------------------


def test_s3_keys_live_under_the_prefix(s3_location: tuple[str, str], s3_client: Any, tmp_path: Path) -> None:
    location, endpoint = s3_location
    store = S3BlobStore(location, endpoint_url=endpoint)
    digest = digest_bytes(b"x")
    store.put_bytes(digest, b"x")
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=store.bucket)["Contents"]]
    assert keys == [f"artifacts/{blob_key(digest)}"]


def test_s3_without_prefix(s3_location: tuple[str, str], tmp_path: Path) -> None:
    location, endpoint = s3_location
    store = S3BlobStore(location.rsplit("/", 1)[0], endpoint_url=endpoint)
    digest = digest_bytes(b"no prefix")
    store.put_bytes(digest, b"no prefix")
    assert store.object_key(digest) == blob_key(digest)
    assert [b.digest for b in store.list()] == [digest]
    assert store.fetch(digest, tmp_path / "out") == digest


def test_s3_sees_blobs_written_by_another_writer(s3_location: tuple[str, str], tmp_path: Path) -> None:
    location, endpoint = s3_location
    reader = S3BlobStore(location, endpoint_url=endpoint)
    writer = S3BlobStore(location, endpoint_url=endpoint)
    assert list(reader.list()) == []
    digest = digest_bytes(b"from elsewhere")
    writer.put_bytes(digest, b"from elsewhere")
    assert reader.has(digest)
    assert [b.digest for b in reader.list()] == [digest]


def test_s3_list_ignores_objects_it_did_not_write(s3_location: tuple[str, str], s3_client: Any) -> None:
    location, endpoint = s3_location
    store = S3BlobStore(location, endpoint_url=endpoint)
    digest = digest_bytes(b"mine")
    store.put_bytes(digest, b"mine")
    hexd = digest.split(":", 1)[1]
    for key in ["artifacts/blobs/README", f"artifacts/blobsX/{hexd[:2]}/{hexd}", "elsewhere/blobs/ab/abcd"]:
        s3_client.put_object(Bucket=store.bucket, Key=key, Body=b"foreign")
    assert [b.digest for b in store.list()] == [digest]


@pytest.mark.usefixtures("aws_credentials")
def test_s3_unreachable_endpoint_is_an_environment_problem(tmp_path: Path) -> None:
    store = S3BlobStore("s3://some-bucket/artifacts", endpoint_url="http://127.0.0.1:1", attempts=1)
    digest = digest_bytes(b"x")
    with pytest.raises(
        EnvironmentProblem, match=r"cannot reach http://127\.0\.0\.1:1 .*s3://some-bucket/artifacts"
    ) as e:
        store.put_bytes(digest, b"x")
    assert "MLGATE_S3_ENDPOINT_URL" in str(e.value)
    with pytest.raises(EnvironmentProblem, match=r"cannot reach .*s3://some-bucket/artifacts"):
        store.fetch(digest, tmp_path / "out")
    with pytest.raises(EnvironmentProblem, match=r"cannot reach .*s3://some-bucket/artifacts"):
        list(store.list())


def test_s3_missing_bucket_is_an_environment_problem(s3_server: str, tmp_path: Path) -> None:
    store = open_blob_store("s3://mlgate-no-such-bucket/artifacts", s3_endpoint_url=s3_server)
    digest = digest_bytes(b"x")
    missing = re.escape(
        "the bucket 'mlgate-no-such-bucket' of the artifact store s3://mlgate-no-such-bucket/artifacts does not exist"
    )
    with pytest.raises(EnvironmentProblem, match=missing):
        store.put_bytes(digest, b"x")
    with pytest.raises(EnvironmentProblem, match=missing):
        store.fetch(digest, tmp_path / "out")
    with pytest.raises(EnvironmentProblem, match=missing):
        list(store.list())
    with pytest.raises(EnvironmentProblem, match=missing):
        store.delete(digest)


def test_s3_location_without_bucket_is_a_config_error() -> None:
    from mlgate.errors import ConfigError

    with pytest.raises(ConfigError, match="names no bucket"):
        S3BlobStore("s3:///artifacts")


def test_s3_without_s3fs_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlgate.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "s3fs", None)  # what an environment without mlgate[s3] looks like
    with pytest.raises(MissingDependency, match=r"an S3 artifact store needs the Python package 's3fs'") as e:
        open_blob_store("s3://bucket/artifacts")
    assert e.value.hint == "pip install 'mlgate[s3]'"


def test_the_interface_module_imports_no_backend():
    import ast

    import mlgate.registry.blobs as interface

    tree = ast.parse(Path(interface.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.startswith("mlgate.registry.")}, imported
