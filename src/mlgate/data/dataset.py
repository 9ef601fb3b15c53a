"""``Dataset``: the rows a gate scores and a promotion checks, named once, with the digest a report binds to.

Gate, promotion and CI take the evaluation data from here (``configured_dataset(settings.data, settings.root)`` or
:func:`resolve_dataset`), so they find the same files by the same rule and digest them alike:

- a relative path or glob is read from the current folder when it names something there, else from the
  project folder (the folder of ``mlgate.yaml``);
- the digest depends on the content and, for a glob, on each file's path relative to the project folder;
  never on the current folder, so ``mlgate gate`` run in one folder and ``mlgate promote`` in another
  agree on the same files.
"""

from __future__ import annotations

import glob as globlib
import io
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import NotFoundError

if TYPE_CHECKING:
    from mlgate.config import DataConfig

GLOB_CHARS = "*?["


def is_glob(text: str) -> bool:
    """Whether a path holds glob characters (``*``, ``?``, ``[``)."""
    return any(c in text for c in GLOB_CHARS)


@dataclass(frozen=True)
class Dataset:
    """Files (an absolute path, folder or glob) or an in-memory table, and the project folder it belongs to.

    ``origin`` says where it was given (``data.eval``, ``--data``) and ``where`` the ``mlgate.yaml`` line
    of a configured one, for messages.
    """

    source: Any
    root: Path
    origin: str = "--data"
    where: str | None = None

    @property
    def is_files(self) -> bool:
        """True for a path, folder or glob; False for an in-memory table."""
        return isinstance(self.source, str | Path)

    @property
    def name(self) -> str:
        """How reports show it: the path relative to the project folder, or ``<DataFrame>`` for a table."""
        if not self.is_files:
            return f"<{type(self.source).__name__}>"
        from mlgate.files import project_relative

        return project_relative(self.source, self.root)

    @cached_property
    def digest(self) -> str:
        """The blake3 digest a gate report binds to (computed once per ``Dataset``)."""
        return digest_of(self.source, self.root)

    def scan(self) -> Any:
        """The rows as one lazy Polars scan (:func:`mlgate.data.io.scan`)."""
        from mlgate.data.io import scan

        if not self.is_files:
            return scan(self.source)
        # read through the path relative to the current folder when it lies inside it, so that messages
        # about a file (empty, unreadable) name it as the user would
        text = str(self.source)
        rel = os.path.relpath(text)
        return scan(text if rel.startswith("..") else rel)


def digest_of(source: Any, root: Path) -> str:
    """The digest of a file or folder (its bytes), of a glob (each file by its path relative to ``root``,
    and its bytes), or of a table (its Arrow IPC bytes)."""
    from mlgate.hashing import digest_bytes, digest_json, digest_path

    if isinstance(source, str | Path):
        if not is_glob(str(source)):
            return digest_path(source)
        from mlgate.data.io import resolve
        from mlgate.files import project_relative

        files = resolve(source).files
        return digest_json({project_relative(f.absolute(), root): digest_path(f) for f in files})
    from mlgate.data.io import collect, scan

    buf = io.BytesIO()
    collect(scan(source)).write_ipc(buf)
    return digest_bytes(buf.getvalue())


def configured_dataset(data: DataConfig, root: Path, *, given: Any = None, key: str = "eval") -> Dataset | None:
    """The :class:`Dataset` of ``given`` (``--data``; a path, a glob or a table), else of ``data.<key>`` in
    ``mlgate.yaml`` (``settings.data``); None when neither is set. A missing file is NotFoundError naming where
    it was given. The digest depends on the content and on paths relative to ``root`` only.

    It lives here rather than on ``DataConfig`` because configuration sits below the data layer (the
    registry reads settings too, and must not reach data code)."""
    if given is not None:
        return resolve_dataset(given, root, origin="--data")
    value = getattr(data, key, None) if key in ("train", "eval", "golden") else None
    if value is None:
        return None
    return resolve_dataset(value, root, origin=f"data.{key}", where=data.line_of(key))


def resolve_dataset(data: Any, root: Path, *, origin: str = "--data", where: str | None = None) -> Dataset:
    """``data`` (a path, folder, glob or table) as a :class:`Dataset`; a relative path is read from the
    current folder when it names something there, else from ``root``. NotFoundError names where a missing
    path was given: ``where`` (the mlgate.yaml line) and ``origin`` (``data.eval``, ``--data``)."""
    if not isinstance(data, str | Path):
        return Dataset(data, root, origin, where)
    text = str(data)
    path = Path(text)
    if not path.is_absolute():
        path = Path(os.path.abspath(path if _matches(text) else root / path))  # normalised, links kept
    dataset = Dataset(path if not is_glob(text) else str(path), root, origin, where)
    if not _matches(str(path)):
        missing = "matches no files" if is_glob(text) else "does not exist"
        if where is not None:
            raise NotFoundError(
                f"{where}: {origin} {dataset.name} {missing}",
                hint="fix the path in mlgate.yaml (relative paths are read from the project folder), or pass "
                "--data FILE",
            )
        raise NotFoundError(
            f"{origin} {dataset.name} {missing}",
            hint="check the --data path, or leave --data out to use data.eval from mlgate.yaml",
        )
    return dataset


def _matches(text: str) -> bool:
    return bool(globlib.glob(text, recursive=True)) if is_glob(text) else Path(text).exists()
