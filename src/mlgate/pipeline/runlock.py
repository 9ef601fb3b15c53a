"""One ``mlgate run`` at a time per project: an exclusive ``flock`` on ``.mlgate/pipeline/run.lock``.

The kernel drops the lock when its holder dies, even by ``kill -9``, so a crash never leaves the project
locked. The holder writes who it is (pid, host, user, command with its secrets masked, start time) into the
file, and a waiter names that holder when it gives up.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from mlgate.errors import EnvironmentProblem
from mlgate.redact import redact, redact_argv


def _holder(fh: object) -> str:
    try:
        fh.seek(0)  # type: ignore[attr-defined]
        info = json.loads(fh.read() or "{}")  # type: ignore[attr-defined]
    except (ValueError, OSError):
        return "another process"
    if not info:
        return "another process"
    who = f"pid {info.get('pid')} on {info.get('host')}"
    # masked again: a lock file written by an older mlgate may hold the password in the command
    return redact(f"{who} ({info.get('user')}, `{info.get('command')}`, since {info.get('since')})")


@contextlib.contextmanager
def project_lock(
    path: Path, *, timeout: float, user: str = "unknown", on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the project's run lock; wait up to ``timeout`` seconds, then raise naming the holder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():  # opening a planted link would truncate the file it points at
        path.unlink()
    with open(path, "a+", encoding="utf-8") as fh:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told and on_wait is not None:
                    on_wait(_holder(fh))
                    told = True
                if time.monotonic() >= deadline:
                    raise EnvironmentProblem(
                        f"another `mlgate run` holds the project lock {path}: {_holder(fh)}; waited {timeout:g} s",
                        hint="wait for it to finish, or raise --lock-timeout",
                    ) from None
                time.sleep(0.1)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "host": os.uname().nodename,  # socket.gethostname() without importing socket
                        "user": user,
                        "command": " ".join(["mlgate", *redact_argv(sys.argv[1:])]),
                        "since": datetime.now(UTC).isoformat(timespec="seconds"),
                    }
                )
            )
            fh.flush()
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
