"""What a killed process leaves behind: half-copied ``.tmp-*`` blobs, temporary registration folders and
half-restored pipeline outputs.

A blob is written to ``blobs/ab/.tmp-…`` and renamed into place; ``log_model`` saves the model into a
``mlgate-log-…`` folder in the system's temporary directory; a cache restore writes
``.mlgate-restore-…`` beside the output it replaces. ``kill -9`` at the wrong moment leaves any of them
behind. All are swept by ``mlgate gc`` under the same ``--min-age`` guard as orphan blobs, so that a
write, a registration or a restore still in progress is never touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mlgate.registry.blobs import BlobStore

# the prefix of log_model's temporary folder (mlgate.models); only folders with it are ever removed
REGISTRATION_PREFIX = "mlgate-log-"
# the prefix of a cache restore's temporary copy beside its output (mlgate.pipeline.cache)
RESTORE_PREFIX = ".mlgate-restore-"


@dataclass(frozen=True)
class Leftover:
    """A temporary file or folder that a killed process left behind."""

    kind: str  # "temporary blob", "registration folder" or "restore copy"
    path: str
    size: int
    age_s: float

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {"kind": self.kind, "path": self.path, "size": self.size, "age_s": round(self.age_s, 1)}


def find_leftovers(
    stores: Iterable[BlobStore],
    *,
    min_age_s: float,
    temp_dir: str | None = None,
    workspace_dirs: Iterable[Path] = (),
) -> list[Leftover]:
    """Temporary blobs in ``stores``, this user's registration folders and the restore copies in
    ``workspace_dirs`` (the folders that hold a project's outputs), untouched for ``min_age_s``."""
    now = time.time()
    found: list[Leftover] = []
    for store in stores:
        for path in store.stale_temp_files(min_age_s):
            with contextlib.suppress(OSError):  # renamed or removed meanwhile: not a leftover
                st = path.stat()
                found.append(Leftover("temporary blob", str(path), st.st_size, now - st.st_mtime))
    base = Path(temp_dir or tempfile.gettempdir())
    uid = os.getuid()
    for folder in sorted(base.glob(f"{REGISTRATION_PREFIX}*")) if base.is_dir() else []:
        with contextlib.suppress(OSError):
            if folder.is_symlink() or not folder.is_dir() or folder.stat().st_uid != uid:
                continue
            newest, size = _newest_and_size(folder)
            if now - newest >= min_age_s:
                found.append(Leftover("registration folder", str(folder), size, now - newest))
    for folder in sorted(set(workspace_dirs)):
        for path in sorted(folder.glob(f"{RESTORE_PREFIX}*")) if folder.is_dir() else []:
            with contextlib.suppress(OSError):
                if path.is_symlink():
                    continue
                newest, size = _newest_and_size(path) if path.is_dir() else (path.stat().st_mtime, path.stat().st_size)
                if now - newest >= min_age_s:
                    found.append(Leftover("restore copy", str(path), size, now - newest))
    return found


def _newest_and_size(folder: Path) -> tuple[float, int]:
    """The latest modification time in the tree (a slow save keeps writing into it) and its size."""
    newest, size = folder.lstat().st_mtime, 0
    for dirpath, _dirs, files in os.walk(folder):
        newest = max(newest, os.lstat(dirpath).st_mtime)
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            newest, size = max(newest, st.st_mtime), size + st.st_size
    return newest, size


def remove_leftovers(leftovers: Iterable[Leftover]) -> list[str]:
    """Delete them; returns the paths that are gone now."""
    removed = []
    for item in leftovers:
        path = Path(item.path)
        with contextlib.suppress(FileNotFoundError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        if not path.exists():
            removed.append(item.path)
    return removed
