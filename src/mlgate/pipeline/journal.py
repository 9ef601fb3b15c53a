"""Runs that changed nothing, kept in the project until the registry is next opened.

A no-op ``mlgate run`` (every stage already up to date) is still a run worth recording, but opening the
registry (SQLAlchemy, the migration check) and asking git for its state would cost more than everything
else the run does. So such a run is written to ``.mlgate/pipeline/pending-runs/<id>.json`` with the commit
and branch read straight from ``.git`` (no subprocess; ``dirty`` is left unknown), and moved into the
registry by the next run that opens it, by ``mlgate runs …``, or by :func:`flush_runs`. Each record is its
own file, written atomically; flushing holds an exclusive ``flock`` and skips ids already stored, so two
flushes never insert a run twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.files import write_atomic
from mlgate.pipeline.status import state_dir

if TYPE_CHECKING:
    from mlgate.config import Settings
    from mlgate.registry.store import Registry
    from mlgate.registry.types import RunRecord

PENDING = "pending-runs"


def git_head(root: Path) -> dict[str, Any] | None:
    """Commit and branch of the repository holding ``root``, read from ``.git`` files; None outside one.

    Handles loose and packed refs, a detached HEAD and linked worktrees (``.git`` as a file). Falls back
    to :func:`mlgate.lineage.git_state` (which runs git) for anything it cannot read.
    """
    for folder in (root, *root.parents):
        dot = folder / ".git"
        if dot.exists():
            break
    else:
        return None
    try:
        gitdir = dot
        if dot.is_file():
            text = dot.read_text(encoding="utf-8").strip()
            if not text.startswith("gitdir:"):
                raise ValueError(text)
            gitdir = (folder / text.removeprefix("gitdir:").strip()).resolve()
        common = gitdir
        if (gitdir / "commondir").is_file():
            common = (gitdir / (gitdir / "commondir").read_text(encoding="utf-8").strip()).resolve()
        head = (gitdir / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return {"commit": head, "branch": "HEAD", "dirty": None}
        ref = head.removeprefix("ref: ")
        commit = _ref(common, ref)
        if commit is None:
            return None  # an unborn branch: no commit yet, as git_state says
        return {"commit": commit, "branch": ref.removeprefix("refs/heads/"), "dirty": None}
    except (OSError, ValueError):
        from mlgate.lineage import git_state

        return git_state(root)


def _ref(common: Path, ref: str) -> str | None:
    loose = common / ref
    if loose.is_file():
        return loose.read_text(encoding="utf-8").strip()
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref:
                return sha
    return None


def defer_run(settings: Settings, record: dict[str, Any]) -> Path:
    """Keep a run (``RunRecord.to_dict()``'s form) in the project until the registry is next opened.

    A dict rather than a RunRecord, so that a no-op run never imports the registry's types.
    Returns the file written.
    """
    path = state_dir(settings.root) / PENDING / f"{record['id']}.json"
    write_atomic(path, json.dumps(record, separators=(",", ":"), default=str))
    return path


def pending_runs(settings: Settings) -> list[Path]:
    """The deferred runs' files, oldest id order not guaranteed."""
    folder = state_dir(settings.root) / PENDING
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith("."))


def flush_runs(settings: Settings, registry: Registry | None = None) -> int:
    """Move every deferred run of the project into the registry; returns how many were stored."""
    if not pending_runs(settings):
        return 0
    from mlgate.errors import NotFoundError
    from mlgate.registry.store import Registry

    with _flush_lock(settings), contextlib.ExitStack() as stack:
        reg = registry if registry is not None else stack.enter_context(Registry(settings=settings))
        stored = 0
        for path in pending_runs(settings):
            try:
                record = _load(path)
            except (OSError, ValueError, TypeError, KeyError):
                path.rename(path.with_suffix(".damaged"))  # kept for a human, never retried
                continue
            try:
                reg.get_run(record.id)
            except NotFoundError:
                reg.record_run(record)
                stored += 1
            path.unlink(missing_ok=True)
        return stored


def _load(path: Path) -> RunRecord:
    from mlgate.registry.types import RunRecord

    data = json.loads(path.read_text(encoding="utf-8"))
    data["started_at"] = datetime.fromisoformat(data["started_at"])
    return RunRecord(**data)


@contextlib.contextmanager
def _flush_lock(settings: Settings) -> Iterator[None]:
    path = state_dir(settings.root) / f"{PENDING}.lock"
    with open(path, "a", encoding="utf-8") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
