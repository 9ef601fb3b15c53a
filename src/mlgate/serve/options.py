"""The settings of one server, resolved once by the command and passed down (picklable, for workers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlgate.errors import UsageError

if TYPE_CHECKING:
    from mlgate.config import Settings

DEFAULT_MAX_BODY = 8 * 1024 * 1024


@dataclass(frozen=True)
class ServeOptions:
    """What ``mlgate serve`` was asked to do.

    ``poll_s``: how often the alias is read; ``keep_previous_s``: how long a replaced version stays
    loaded, so that moving the alias back is a pointer swap; ``retry_failed_s``: how long a version
    that failed to load is left alone before it is tried again; ``max_body_bytes``: larger request
    bodies get a 413.
    """

    name: str
    alias: str = "production"
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    poll_s: float = 2.0
    keep_previous_s: float = 600.0
    retry_failed_s: float = 60.0
    max_body_bytes: int = DEFAULT_MAX_BODY
    allow_pickle: bool = False
    log_level: str = "info"
    settings: Settings | None = None

    def __post_init__(self) -> None:
        if self.poll_s <= 0:
            raise UsageError(f"--poll must be a positive number of seconds, got {self.poll_s}")
        if self.workers < 1:
            raise UsageError(f"--workers must be at least 1, got {self.workers}")
        if not 0 <= self.port <= 65535:
            raise UsageError(f"--port must be between 0 and 65535, got {self.port}")
        if self.max_body_bytes < 1024:
            raise UsageError(f"--max-body must be at least 1024 bytes, got {self.max_body_bytes}")
        if self.keep_previous_s < 0 or self.retry_failed_s < 0:
            raise UsageError("--keep-previous and the retry interval cannot be negative")

    @property
    def ref(self) -> str:
        """``name@alias``."""
        return f"{self.name}@{self.alias}"
