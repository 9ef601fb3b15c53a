"""blake3 digests of files, folders and canonical JSON.

A folder's digest is the digest of its *manifest*: the sorted list of relative POSIX paths with
each file's digest and size, serialised canonically. Two folders with the same files get the same
digest wherever they live, and one changed file changes only its own entry.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import blake3

if TYPE_CHECKING:
    from _typeshed import SupportsRead, SupportsWrite

PREFIX = "blake3:"
_MMAP_FROM = 4 * 1024 * 1024  # below this a plain read beats setting up a memory map
_CHUNK = 1024 * 1024
_SCRATCH = threading.local()


def digest_bytes(data: bytes) -> str:
    """Digest of a byte string, as ``blake3:<hex>``."""
    return PREFIX + blake3.blake3(data).hexdigest()


def digest_file(path: str | os.PathLike[str], *, size: int | None = None) -> str:
    """Digest of one file's contents; large files are hashed on several threads.

    ``size`` (from a stat the caller already made) only picks the method: a file that changes size
    meanwhile is still hashed whole.
    """
    if size is None:
        size = os.path.getsize(path)
    if size >= _MMAP_FROM:
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        hasher.update_mmap(path)
        return PREFIX + hasher.hexdigest()
    # read into a buffer each thread reuses: a fresh bytes object per file costs more than hashing it
    view = getattr(_SCRATCH, "view", None)
    if view is None:
        view = _SCRATCH.view = memoryview(bytearray(_MMAP_FROM))
    hasher = blake3.blake3()
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(view):
            hasher.update(view[:n])
    return PREFIX + hasher.hexdigest()


def canonical_json(obj: Any) -> bytes:
    """JSON with sorted keys and no whitespace: the form every stored digest is computed over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def digest_json(obj: Any) -> str:
    """Digest of an object's canonical JSON form."""
    return digest_bytes(canonical_json(obj))


def iter_files(root: Path) -> Iterator[Path]:
    """Every regular file under ``root`` in sorted order; symbolic links are followed for files only."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def manifest(root: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """``{relative/posix/path: {"digest": ..., "size": ...}}`` for every file under a folder."""
    base = Path(root)
    if base.is_file():
        return {base.name: {"digest": digest_file(base), "size": base.stat().st_size}}
    out: dict[str, dict[str, Any]] = {}
    for path in iter_files(base):
        rel = path.relative_to(base).as_posix()
        out[rel] = {"digest": digest_file(path), "size": path.stat().st_size}
    return out


def manifest_digest(entries: dict[str, dict[str, Any]]) -> str:
    """The digest of a manifest: it names the whole tree."""
    return digest_json({"files": entries, "kind": "mlgate.manifest/1"})


def digest_path(path: str | os.PathLike[str]) -> str:
    """Digest of a file's contents, or of a folder's manifest."""
    p = Path(path)
    if p.is_dir():
        return manifest_digest(manifest(p))
    return digest_file(p)


class HashingReader:
    """Copies a stream to a file while hashing it, so a blob is verified in the same pass it is read."""

    def __init__(self) -> None:
        self._hasher = blake3.blake3()
        self.size = 0

    def copy(self, src: SupportsRead[bytes], dst: SupportsWrite[bytes]) -> str:
        """Copy ``src`` to ``dst`` (binary file objects), returning the digest of what was copied."""
        while chunk := src.read(_CHUNK):
            self._hasher.update(chunk)
            self.size += len(chunk)
            dst.write(chunk)
        return PREFIX + self._hasher.hexdigest()
