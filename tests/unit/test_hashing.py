"""Digests: content decides, location does not; one changed file changes the tree digest."""

from __future__ import annotations

import shutil
from pathlib import Path

import blake3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgate.hashing import digest_bytes, digest_file, digest_path, manifest

files = st.dictionaries(
    # d… folders, f… files: a file never shares a name with a folder
    st.from_regex(r"(d[0-9]/){0,2}f[0-9]{1,3}\.bin", fullmatch=True),
    st.binary(max_size=300),
    min_size=1,
    max_size=6,
)


def write_tree(root: Path, content: dict[str, bytes]) -> Path:
    for rel, data in content.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files)
def test_tree_digest_depends_on_content_not_location(tmp_path, content):
    a = write_tree(tmp_path / "a", content)
    b = write_tree(tmp_path / "elsewhere" / "b", content)
    try:
        assert digest_path(a) == digest_path(b)
        first = sorted(content)[0]
        (b / first).write_bytes(content[first] + b"!")
        assert digest_path(a) != digest_path(b)
        changed = {k for k in manifest(a) if manifest(a)[k] != manifest(b)[k]}
        assert changed == {first}
    finally:
        shutil.rmtree(tmp_path / "a")
        shutil.rmtree(tmp_path / "elsewhere")


def test_large_files_hash_like_small_ones(tmp_path):
    data = bytes(range(256)) * 40000  # 10 MB: the multithreaded memory-mapped path
    p = tmp_path / "big.bin"
    p.write_bytes(data)
    assert digest_file(p) == "blake3:" + blake3.blake3(data).hexdigest() == digest_bytes(data)


def test_renaming_a_file_changes_the_tree_digest(tmp_path):
    a = write_tree(tmp_path / "a", {"x.bin": b"1"})
    before = digest_path(a)
    (a / "x.bin").rename(a / "y.bin")
    assert digest_path(a) != before


@pytest.mark.parametrize("size", [0, 1, 4 * 2**20 - 1, 4 * 2**20, 4 * 2**20 + 1])
def test_every_size_hashes_like_its_bytes_whatever_size_the_caller_believed(tmp_path, size):
    """Around the read/memory-map boundary, and with a stale size from an earlier stat (the file changed)."""
    data = (bytes(range(251)) * (size // 251 + 1))[:size]
    p = tmp_path / "f.bin"
    p.write_bytes(data)
    want = digest_bytes(data)
    assert digest_file(p) == want
    assert digest_file(p, size=0) == want == digest_file(p, size=8 * 2**20)


def test_threads_reusing_their_buffers_do_not_mix_files(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    blobs = [bytes([i]) * (1000 * i + 7) for i in range(1, 40)]
    for i, data in enumerate(blobs):
        (tmp_path / f"{i}.bin").write_bytes(data)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda i: digest_file(tmp_path / f"{i}.bin"), range(len(blobs))))
    assert got == [digest_bytes(b) for b in blobs]
