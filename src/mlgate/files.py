"""Writing small state files whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: str | bytes, *, durable: bool = False) -> None:
    """Write ``path`` through a temporary file beside it and a rename: a reader sees the old or the new file.

    ``durable`` also flushes the data to disk before the rename (files a user commits, like ``mlgate.lock``).
    Cheaper than :mod:`tempfile`, whose import alone costs a no-op ``mlgate run`` 20 ms.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}-{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def project_relative(path: str | os.PathLike[str], root: Path) -> str:
    """``path`` as a report shows it: relative to the project ``root`` when inside it, otherwise unchanged.

    Reports travel (CI artifacts, pull-request comments, the registry); the folder of the machine that
    wrote them means nothing elsewhere.
    """
    p = Path(path)
    if p.is_absolute():
        try:
            return p.relative_to(root).as_posix()
        except ValueError:
            pass
    return os.fspath(path)
