"""Digests of stage inputs and outputs, with a stat cache so unchanged files are never read again.

A file whose (size, mtime_ns, inode) matches the cache keeps its recorded digest; any other file is hashed
with blake3, on several threads across files (and inside large files, see :mod:`mlgate.hashing`). A folder
is hashed as a tree: its digest is the digest of its manifest, the same one the registry uses, so one
changed file re-hashes only itself.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mlgate.hashing import digest_file, iter_files, manifest_digest

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

    def _lookup(self, path: Path, st: os.stat_result) -> str | None:
        hit = self._entries.get(str(path))
        if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns and hit[2] == st.st_ino:
            return str(hit[3])
        return None

    def _hash(self, path: Path, st: os.stat_result) -> str:
        digest = digest_file(path)
        with self._lock:
            self._entries[str(path)] = [st.st_size, st.st_mtime_ns, st.st_ino, digest]
            self._dirty = True
            self.hashed += 1
        return digest

    def file_digests(self, files: list[Path]) -> list[tuple[str, int]]:
        """``(digest, size)`` per file, hashing only those the cache does not vouch for."""
        stats = [f.stat() for f in files]
        out: list[tuple[str, int] | None] = [None] * len(files)
        todo: list[int] = []
        for i, (f, st) in enumerate(zip(files, stats, strict=True)):
            digest = self._lookup(f, st)
            if digest is None:
                todo.append(i)
            else:
                out[i] = (digest, st.st_size)
        if len(todo) > 1 and self.threads > 1:
            with ThreadPoolExecutor(self.threads) as pool:
                digests = list(pool.map(lambda i: self._hash(files[i], stats[i]), todo))
        else:
            digests = [self._hash(files[i], stats[i]) for i in todo]
        for i, digest in zip(todo, digests, strict=True):
            out[i] = (digest, stats[i].st_size)
        return [o for o in out if o is not None]

    def manifest(self, path: Path) -> Manifest:
        """``{relative path: {digest, size}}`` of a folder, or ``{name: …}`` of a single file."""
        if path.is_dir():
            files = list(iter_files(path))
            rels = [f.relative_to(path).as_posix() for f in files]
        else:
            files, rels = [path], [path.name]
        return {
            rel: {"digest": d, "size": size}
            for rel, (d, size) in zip(rels, self.file_digests([f.resolve() for f in files]), strict=True)
        }

    def digest(self, path: Path) -> str:
        """A file's digest, or a folder's manifest digest; raises FileNotFoundError when it is gone."""
        if path.is_dir():
            return manifest_digest(self.manifest(path))
        if not path.exists():
            raise FileNotFoundError(str(path))
        return self.file_digests([path.resolve()])[0][0]

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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".stat-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"version": _VERSION, "entries": entries}, fh, separators=(",", ":"))
        os.replace(tmp, self.path)
