"""Digests of stage inputs and outputs, with a stat cache so unchanged files are never read again.

A file whose (size, mtime_ns, inode) matches the cache keeps its recorded digest; any other file is hashed
with blake3, on several threads across files (and inside large files, see :mod:`mlgate.hashing`). A folder
is hashed as a tree: its digest is the digest of its manifest, the same one the registry uses, so one
changed file re-hashes only itself.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from mlgate.files import write_atomic
from mlgate.hashing import digest_file, manifest_digest

Manifest = dict[str, dict[str, Any]]
_VERSION = 1


class StatCache:
    """``{absolute path: (size, mtime_ns, inode, digest)}``, kept in ``.mlgate/pipeline/stat.json``."""

    def __init__(self, path: Path | None = None, *, threads: int | None = None) -> None:
        self.path = path
        self.threads = threads or min(8, os.cpu_count() or 1)
        self._entries: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        self._dirty = False
        self.hashed = 0  # files actually read, for tests and benchmarks
        if path is not None and path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if data.get("version") == _VERSION:
                    self._entries = data["entries"]
            except (ValueError, KeyError, OSError):
                self._entries = {}  # a damaged cache only costs re-hashing

    def _hash(self, path: Path, st: os.stat_result) -> str:
        digest = digest_file(path, size=st.st_size)
        with self._lock:
            self._entries[str(path)] = [st.st_size, st.st_mtime_ns, st.st_ino, digest]
            self._dirty = True
            self.hashed += 1
        return digest

    def file_digests(self, files: list[Path]) -> list[tuple[str, int]]:
        """``(digest, size)`` per file, hashing only those the cache does not vouch for."""
        return self._digests([str(f) for f in files], [f.stat() for f in files])

    def _digests(self, paths: list[str], stats: list[os.stat_result]) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        todo: list[int] = []
        entries = self._entries
        for i, (path, st) in enumerate(zip(paths, stats, strict=True)):
            hit = entries.get(path)
            if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns and hit[2] == st.st_ino:
                out.append((hit[3], st.st_size))
            else:
                out.append(("", st.st_size))
                todo.append(i)
        if len(todo) > 1 and self.threads > 1:
            from concurrent.futures import ThreadPoolExecutor  # only when something must be read

            with ThreadPoolExecutor(min(self.threads, len(todo))) as pool:
                digests = list(pool.map(lambda i: self._hash(Path(paths[i]), stats[i]), todo))
        else:
            digests = [self._hash(Path(paths[i]), stats[i]) for i in todo]
        for i, digest in zip(todo, digests, strict=True):
            out[i] = (digest, stats[i].st_size)
        return out

    def manifest(self, path: Path) -> Manifest:
        """``{relative path: {digest, size}}`` of a folder, or ``{name: …}`` of a single file."""
        if path.is_dir():
            rels, paths, stats = _walk(os.path.realpath(path))
        else:
            real = os.path.realpath(path)
            rels, paths, stats = [path.name], [real], [os.stat(real)]
        return {
            rel: {"digest": d, "size": size} for rel, (d, size) in zip(rels, self._digests(paths, stats), strict=True)
        }

    def digest(self, path: Path) -> str:
        """A file's digest, or a folder's manifest digest; raises FileNotFoundError when it is gone."""
        if path.is_dir():
            return manifest_digest(self.manifest(path))
        real = os.path.realpath(path)
        return self._digests([real], [os.stat(real)])[0][0]

    def digests(self, root: Path, paths: list[str]) -> dict[str, str]:
        """``{relative path: digest}`` for several paths under ``root``."""
        return {p: self.digest(root / p) for p in paths}

    def save(self) -> None:
        """Write the cache atomically, forgetting files that no longer exist."""
        if self.path is None or not self._dirty:
            return
        with self._lock:
            entries = {k: v for k, v in self._entries.items() if os.path.exists(k)}
            self._dirty = False
        write_atomic(self.path, json.dumps({"version": _VERSION, "entries": entries}, separators=(",", ":")))


def _walk(root: str) -> tuple[list[str], list[str], list[os.stat_result]]:
    """Every regular file under ``root``: relative POSIX paths, absolute paths and stats, in one scandir pass.

    The same files as :func:`mlgate.hashing.iter_files` (links to files followed, links to folders not),
    without a ``Path`` object per file: on a no-op run this walk is most of the work.
    """
    rels: list[str] = []
    paths: list[str] = []
    stats: list[os.stat_result] = []
    todo = [("", root)]
    while todo:
        prefix, folder = todo.pop()
        subdirs = []
        with os.scandir(folder) as it:
            for entry in it:
                if entry.is_dir():
                    if not entry.is_symlink():
                        subdirs.append((prefix + entry.name + "/", entry.path))
                else:
                    rels.append(prefix + entry.name)
                    paths.append(entry.path)
                    stats.append(entry.stat())
        todo.extend(sorted(subdirs, reverse=True))
    return rels, paths, stats
