"""Named fault-injection points, so tests can stop a real process at an exact step and kill it.

``MLGATE_FAILPOINTS="register.after_blobs=pause"`` makes :func:`hit` write a marker file named by
``MLGATE_FAILPOINT_MARKER`` and sleep, giving a test the moment to send ``kill -9``. Unset (always,
in normal use) it costs one dictionary lookup.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

_ACTIVE = dict(item.split("=", 1) for item in os.environ.get("MLGATE_FAILPOINTS", "").split(",") if "=" in item)
_MARKER = os.environ.get("MLGATE_FAILPOINT_MARKER")


def hit(name: str) -> None:
    """Act on the failpoint ``name`` if a test armed it: ``pause`` (marker + sleep) or ``crash``."""
    action = _ACTIVE.get(name)
    if action is None:
        return
    if _MARKER:
        Path(_MARKER).write_text(name)
    if action == "pause":
        time.sleep(600)
    elif action == "crash":
        os._exit(137)
