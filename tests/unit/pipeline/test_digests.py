"""The stat cache re-reads only what changed, and agrees with the registry's own digests."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mlgate.hashing import digest_path
from mlgate.pipeline.digests import StatCache


def test_unchanged_files_are_not_read_again_and_one_change_rehashes_only_itself(tmp_path: Path) -> None:
    tree = tmp_path / "data"
    for i in range(20):
        (tree / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (tree / f"d{i % 3}" / f"f{i}.bin").write_bytes(os.urandom(100 + i))
    cache_file = tmp_path / "stat.json"
    first = StatCache(cache_file)
    digest = first.digest(tree)
    assert first.hashed == 20 and digest == digest_path(tree)
    first.save()

    again = StatCache(cache_file)
    assert again.digest(tree) == digest and again.hashed == 0

    (tree / "d1" / "f4.bin").write_bytes(b"changed")
    third = StatCache(cache_file)
    changed = third.digest(tree)
    assert third.hashed == 1 and changed != digest and changed == digest_path(tree)


def test_same_size_rewrite_is_seen_through_mtime(tmp_path: Path) -> None:
    f = tmp_path / "f.txt"
    f.write_text("aaaa")
    cache = StatCache(None)
    before = cache.digest(f)
    f.write_text("bbbb")
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 1_000_000))
    assert cache.digest(f) != before


def test_a_damaged_stat_cache_only_costs_rehashing(tmp_path: Path) -> None:
    (tmp_path / "stat.json").write_text("{not json")
    (tmp_path / "f.txt").write_text("x")
    cache = StatCache(tmp_path / "stat.json")
    assert cache.digest(tmp_path / "f.txt") == digest_path(tmp_path / "f.txt") and cache.hashed == 1


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c/d", "c/e", "f/g/h"]), st.binary(max_size=64), min_size=1))
def test_tree_digest_equals_the_registry_manifest_digest(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "t"
        for rel, data in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        cache = StatCache(None, threads=4)
        assert cache.digest(root) == digest_path(root)
        assert cache.digest(root) == digest_path(root)  # second time from the cache


def test_links_to_files_are_followed_and_links_to_folders_are_not_like_the_registry(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "deep" / "x.bin").write_bytes(b"x" * 10)
    (outside / "file.bin").write_bytes(b"linked")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "a.bin").write_bytes(b"a")
    (tree / "to-file.bin").symlink_to(outside / "file.bin")
    (tree / "to-dir").symlink_to(outside / "deep", target_is_directory=True)
    cache = StatCache(None)
    assert set(cache.manifest(tree)) == {"sub/a.bin", "to-file.bin"}
    assert cache.digest(tree) == digest_path(tree)
    (outside / "file.bin").write_bytes(b"changed through the link")
    assert cache.digest(tree) == digest_path(tree) and cache.hashed == 3
