"""Content-addressed blob stores: the interface and a local folder; S3 in ``s3.py``, the choice in ``backends.py``.

A blob is stored under its own digest, so writing it twice is harmless and a reader can always
check what it got. Writes go to a temporary name first and are renamed into place, so a crash
never leaves a half-written blob under a real digest.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlgate.errors import EnvironmentProblem, NotFoundError
from mlgate.hashing import PREFIX, HashingReader


def blob_key(digest: str) -> str:
    """``blobs/ab/abcdef…``: the relative key a digest is stored under."""
    if not digest.startswith(PREFIX):
        raise ValueError(f"not an mlgate digest: {digest!r}")
    hexd = digest[len(PREFIX) :]
    return f"blobs/{hexd[:2]}/{hexd}"


def digest_of_key(key: str) -> str:
    """Inverse of :func:`blob_key`."""
    return PREFIX + key.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class BlobInfo:
    """One stored blob: its digest, size and modification time (seconds since the epoch)."""

    digest: str
    size: int
    mtime: float


class BlobStore(ABC):
    """Where artifact bytes live. Every backend passes ``tests/unit/registry/test_blobs.py``."""

    location: str

    @abstractmethod
    def has(self, digest: str) -> bool:
        """Whether a blob with this digest is stored."""

    @abstractmethod
    def put_file(self, digest: str, src: Path) -> None:
        """Store ``src`` under ``digest`` atomically; a no-op if it is already there."""

    @abstractmethod
    def fetch(self, digest: str, dest: Path) -> str:
        """Copy the blob to ``dest`` and return the digest of the bytes actually read.

        Raises NotFoundError when the blob is missing. The caller compares the returned digest with
        the one it asked for: that comparison is the integrity check.
        """

    @abstractmethod
    def list(self) -> Iterator[BlobInfo]:
        """Every stored blob."""

    @abstractmethod
    def delete(self, digest: str) -> None:
        """Remove a blob; a no-op if it is not there."""

    def touch(self, digest: str) -> None:  # noqa: B027 - optional: stores that cannot do it leave it
        """Mark a blob used now, where the store can do it cheaply (a local folder; not S3)."""

    def stale_temp_files(self, older_than_s: float) -> builtins.list[Path]:  # `list` is a method here
        """Temporary files left by writers that died mid-copy; none where writes are atomic (S3)."""
        return []

    def put_bytes(self, digest: str, data: bytes) -> None:
        """Store small bytes (reports, profiles) under their digest."""
        import tempfile

        with tempfile.NamedTemporaryFile(delete=False) as fh:
            fh.write(data)
        try:
            self.put_file(digest, Path(fh.name))
        finally:
            os.unlink(fh.name)


class LocalBlobStore(BlobStore):
    """Blobs in a folder: ``<root>/blobs/ab/abcdef…``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def _path(self, digest: str) -> Path:
        return self.root / blob_key(digest)

    def has(self, digest: str) -> bool:
        return self._path(digest).is_file()

    def put_file(self, digest: str, src: Path) -> None:
        dest = self._path(digest)
        if dest.is_file():
            return
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            import shutil
            import tempfile

            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
                shutil.copyfileobj(inp, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, dest)
        except OSError as exc:
            raise EnvironmentProblem(
                f"cannot write to the artifact store {self.location}: {exc.strerror or exc}",
                hint="check that the folder exists, is writable and the disk is not full",
            ) from exc

    def fetch(self, digest: str, dest: Path) -> str:
        path = self._path(digest)
        try:
            src = open(path, "rb")  # noqa: SIM115 - closed below, after the copy
        except FileNotFoundError:
            raise NotFoundError(f"blob {digest} is missing from {self.location}") from None
        with src, open(dest, "wb") as out:
            return HashingReader().copy(src, out)

    def list(self) -> Iterator[BlobInfo]:
        base = self.root / "blobs"
        if not base.is_dir():
            return
        for sub in sorted(base.iterdir()):
            if not sub.is_dir():
                continue
            for entry in sorted(sub.iterdir()):
                if entry.name.startswith(".tmp-"):
                    continue
                st = entry.stat()
                yield BlobInfo(digest_of_key(entry.name), st.st_size, st.st_mtime)

    def delete(self, digest: str) -> None:
        self._path(digest).unlink(missing_ok=True)

    def touch(self, digest: str) -> None:
        with contextlib.suppress(OSError):  # a read-only store still serves hits
            os.utime(self._path(digest))

    def stale_temp_files(self, older_than_s: float) -> builtins.list[Path]:  # `list` is a method here
        """Temporary files left by writers that died mid-copy."""
        cutoff = time.time() - older_than_s
        base = self.root / "blobs"
        found: builtins.list[Path] = []
        for p in base.glob("*/.tmp-*") if base.is_dir() else []:
            with contextlib.suppress(FileNotFoundError):  # renamed into place meanwhile
                if p.lstat().st_mtime <= cutoff:
                    found.append(p)
        return found
