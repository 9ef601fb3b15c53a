"""Time windows of a monitor run: fixed length, aligned to the Unix epoch, so every run cuts the same ones.

Aligned windows are what makes the run incremental: the statistics of one log file in one window do
not depend on when the monitor runs, so they are computed once and cached (:mod:`.partials`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mlgate.errors import UsageError

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
MAX_WINDOWS = 10_000


@dataclass(frozen=True, order=True)
class Window:
    """``[start, end)``, UTC."""

    start: dt.datetime
    end: dt.datetime

    @property
    def label(self) -> str:
        """``2024-05-01T09:00Z``: the window's start."""
        return self.start.strftime("%Y-%m-%dT%H:%MZ")


def window_of(when: dt.datetime, size: dt.timedelta) -> Window:
    """The aligned window holding ``when``."""
    n = (when - EPOCH) // size
    start = EPOCH + n * size
    return Window(start, start + size)


def plan(
    size: dt.timedelta, *, first: dt.datetime | None, since: dt.datetime | None, until: dt.datetime
) -> list[Window]:
    """The aligned windows from ``since`` (or the first logged time) to ``until``, oldest first."""
    if size < dt.timedelta(seconds=1):
        raise UsageError(f"--window must be at least 1s, got {size}")
    start = since if since is not None else first
    if start is None:
        return []
    if start >= until:
        raise UsageError(
            f"--since ({start:%Y-%m-%dT%H:%M}Z) must come before --until ({until:%Y-%m-%dT%H:%M}Z)",
            hint="give an earlier --since or a later --until",
        )
    current = window_of(start, size)
    out = []
    while current.start < until:
        out.append(current)
        if len(out) > MAX_WINDOWS:
            raise UsageError(
                f"{start:%Y-%m-%dT%H:%M}Z to {until:%Y-%m-%dT%H:%M}Z holds more than {MAX_WINDOWS} windows of {size}",
                hint="give a larger --window or a later --since",
            )
        current = Window(current.end, current.end + size)
    return out
