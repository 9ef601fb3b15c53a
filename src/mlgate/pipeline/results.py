"""What ``mlgate run`` reports and records: each stage's result, the run's result, its metrics, its record.

A run that ran, restored or failed something is recorded in the registry at once (:func:`record_run`); a
no-op run is deferred (see :mod:`mlgate.pipeline.journal`) so that it opens neither the registry nor git.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlgate.config import Settings
    from mlgate.pipeline.spec import Pipeline


@dataclass(frozen=True)
class StageResult:
    """What happened to one stage: ran, cached, failed or skipped (a dependency failed); dry runs say would-run."""

    name: str
    outcome: str
    duration_s: float = 0.0
    restored: int = 0
    reasons: list[str] = field(default_factory=list)
    key: str | None = None
    error: str | None = None
    log_tail: list[str] = field(default_factory=list)
    log_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class RunResult:
    """One ``mlgate run``: every selected stage's result, the params and metrics, and the run id."""

    run_id: str
    stages: list[StageResult]
    params: dict[str, Any]
    metrics: dict[str, Any]
    started_at: datetime
    duration_s: float
    dry_run: bool = False
    smoke: bool = False
    executor: str = "local"

    @property
    def noop(self) -> bool:
        """True when every stage was already up to date: nothing ran, nothing was restored."""
        return not self.dry_run and all(s.outcome == "cached" and not s.restored and not s.reasons for s in self.stages)

    @property
    def ok(self) -> bool:
        """True when no stage failed or was skipped."""
        return all(s.outcome not in ("failed", "skipped") for s in self.stages)

    @property
    def cache_hits(self) -> int:
        """Stages that did not need their command."""
        return sum(s.outcome == "cached" for s in self.stages)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "run_id": self.run_id,
            "ok": self.ok,
            "dry_run": self.dry_run,
            "smoke": self.smoke,
            "executor": self.executor,
            "noop": self.noop,
            "started_at": self.started_at.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "cache_hits": self.cache_hits,
            "stages": [s.to_dict() for s in self.stages],
            "params": self.params,
            "metrics": self.metrics,
        }


def read_metrics(pipeline: Pipeline, names: list[str]) -> dict[str, Any]:
    """The metrics files the stages ``names`` declare, read as JSON or YAML (absent files left out)."""
    import yaml

    out: dict[str, Any] = {}
    for n in names:
        for path in pipeline.stages[n].metrics:
            file = pipeline.root / path
            if file.is_file():
                try:
                    out[path] = yaml.safe_load(file.read_text(encoding="utf-8"))
                except (yaml.YAMLError, UnicodeDecodeError):
                    out[path] = {"error": "not JSON or YAML"}
    return out


def record_run(settings: Settings, result: RunResult, names: list[str]) -> None:
    """Record the run in the registry; a no-op run in the journal, flushed on the next registry access."""
    from mlgate.pipeline.journal import defer_run, flush_runs, git_head

    if result.noop:
        defer_run(settings, run_fields(settings, result, names, git_head(settings.root), iso_time=True))
        return
    from mlgate.lineage import git_state
    from mlgate.registry.store import Registry
    from mlgate.registry.types import RunRecord

    record = RunRecord(**run_fields(settings, result, names, git_state(settings.root)))
    with Registry(settings=settings) as reg:
        flush_runs(settings, reg)  # earlier no-op runs first, so that the registry keeps their order
        reg.record_run(record)


def run_fields(
    settings: Settings, result: RunResult, names: list[str], git: dict[str, Any] | None, *, iso_time: bool = False
) -> dict[str, Any]:
    """The fields of the run's RunRecord; ``iso_time`` gives its JSON form (``RunRecord.to_dict()``)."""
    stages = [
        {
            "stage": s.name,
            "outcome": s.outcome,
            "duration_s": round(s.duration_s, 3),
            "restored": s.restored,
            "key": s.key,
        }
        for s in result.stages
    ]
    return {
        "id": result.run_id,
        "project": settings.project,
        "status": "succeeded" if result.ok else "failed",
        "targets": names,
        "params": result.params,
        "metrics": result.metrics,
        "stages": stages,
        "cache_hits": result.cache_hits,
        "git": git,
        "started_at": result.started_at.isoformat() if iso_time else result.started_at,
        "duration_s": round(result.duration_s, 3),
        "created_by": settings.actor,
    }
