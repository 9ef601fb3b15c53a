"""The settings of one server, resolved once by the command and passed down (picklable, for workers)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    bodies get a 413; ``body_timeout_s``: a body not complete by then gets a 408 and the connection is closed.

    Canary and shadow: ``canary_alias`` takes ``canary_weight`` of the traffic (sticky per value of the
    ``request_key_header`` when a request has one); ``shadow_alias`` sees a copy of every request off the
    response path. ``log_dir``: the prediction log (None: off). ``batch_max_size`` > 1 turns adaptive
    batching on; a batch waits at most ``batch_max_wait_ms`` for more requests.
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
    body_timeout_s: float = 30.0
    allow_pickle: bool = False
    allow_code: bool = False  # load versions that run stored code (pyfunc); see mlgate.models.require_consent
    log_level: str = "info"
    canary_alias: str | None = None
    canary_weight: float = 0.0
    shadow_alias: str | None = None
    request_key_header: str = "x-request-key"
    log_dir: Path | None = None
    log_queue: int = 10_000
    log_flush_s: float = 1.0
    batch_max_size: int = 0
    batch_max_wait_ms: float = 2.0
    settings: Settings | None = None
    metrics_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.poll_s <= 0:
            raise UsageError(f"--poll must be a positive number of seconds, got {self.poll_s}")
        if self.workers < 1:
            raise UsageError(f"--workers must be at least 1, got {self.workers}")
        if not 0 <= self.port <= 65535:
            raise UsageError(f"--port must be between 0 and 65535, got {self.port}")
        if self.max_body_bytes < 1024:
            raise UsageError(f"--max-body must be at least 1024 bytes, got {self.max_body_bytes}")
        if not self.body_timeout_s > 0:
            raise UsageError(f"--body-timeout must be a positive number of seconds, got {self.body_timeout_s}")
        if self.keep_previous_s < 0 or self.retry_failed_s < 0:
            raise UsageError("--keep-previous and the retry interval cannot be negative")
        if not 0.0 <= self.canary_weight <= 1.0:
            raise UsageError(f"--canary-weight must be between 0 and 1, got {self.canary_weight}")
        if self.canary_weight > 0 and self.canary_alias is None:
            raise UsageError("--canary-weight needs --canary-alias: the alias whose version takes that share")
        for flag, other in (("--canary-alias", self.canary_alias), ("--shadow-alias", self.shadow_alias)):
            if other is not None and other == self.alias:
                raise UsageError(f"{flag} {other!r} is the alias being served; name another alias")
        if self.batch_max_size < 0 or self.batch_max_wait_ms < 0:
            raise UsageError("--batch-max-size and --batch-max-wait-ms cannot be negative")
        if self.log_queue < 1 or self.log_flush_s <= 0:
            raise UsageError("the prediction log needs a queue of at least 1 entry and a positive flush interval")

    @property
    def ref(self) -> str:
        """``name@alias``."""
        return f"{self.name}@{self.alias}"

    def following(self, alias: str) -> ServeOptions:
        """These options for a canary or shadow holder: the same model and polling, another alias."""
        return dataclasses.replace(
            self, alias=alias, canary_alias=None, canary_weight=0.0, shadow_alias=None, log_dir=None, batch_max_size=0
        )

    @property
    def batching(self) -> bool:
        """Whether adaptive batching is on (a maximum batch size above 1)."""
        return self.batch_max_size > 1


def serve_section(settings: Settings | None) -> dict[str, Any]:
    """The ``serve:`` mapping of ``mlgate.yaml`` (empty when absent), with ``log`` resolved against the project."""
    if settings is None:
        return {}
    serve = settings.serve
    return {**serve.options, "log": serve.log} if serve.log is not None else dict(serve.options)
