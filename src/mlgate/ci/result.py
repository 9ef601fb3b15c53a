"""What ``mlgate ci`` found: each step's outcome and everything the report draws, and the exit code.

A step that fails is recorded and the next one still runs (:func:`guard`); the exit code is the worst
outcome: 3 (environment) over 2 (configuration or input) over 1 (a check said no) over 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.errors import MlgateError

Say = Callable[[str], None]


@dataclass
class Step:
    """One step's outcome: pass, fail (a check said no), error (could not run) or skip (does not apply)."""

    name: str
    status: str
    summary: str
    exit_code: int = 0

    @property
    def ok(self) -> bool:
        """True unless the step failed or errored."""
        return self.status in ("pass", "skip")


@dataclass
class CiResult:
    """Everything ``mlgate ci`` did, for the report, the exit code and tests."""

    git: dict[str, Any]
    base: str
    steps: list[Step] = field(default_factory=list)
    validations: list[Any] = field(default_factory=list)  # data.validate.ValidationReport
    pipeline: Any = None  # pipeline.RunResult
    stage_graph: str | None = None  # Mermaid flowchart of the run's stages, coloured by outcome
    smoke: bool | None = None  # None: this mlgate cannot run smoke mode
    base_run: Any = None  # registry RunRecord of the base branch's last run
    this_run: Any = None
    metric_rows: list[Any] = field(default_factory=list)  # pipeline.runs.DiffRow, metrics only
    candidate: str | None = None
    gate: Any = None  # gates.evaluate.GateResult
    promoted: Any = None  # registry AliasEvent
    notes: list[str] = field(default_factory=list)
    report_path: Path | None = None
    images: dict[str, Path] = field(default_factory=dict)
    comment: Any = None  # comment.CommentResult

    @property
    def passed(self) -> bool:
        """True when no step failed or errored."""
        return all(s.ok for s in self.steps)

    @property
    def exit_code(self) -> int:
        """3 over 2 over 1 over 0: the worst thing that happened."""
        codes = {s.exit_code for s in self.steps if not s.ok}
        for code in (3, 2, 1):
            if code in codes:
                return code
        return 0

    def step(self, name: str) -> Step | None:
        """The step called ``name``, if it was recorded."""
        return next((s for s in self.steps if s.name == name), None)


def guard(result: CiResult, name: str, fn: Callable[[], Step]) -> None:
    """Record the step ``fn`` returns; one that raised is recorded as an error with the error's exit code."""
    try:
        result.steps.append(fn())
    except MlgateError as exc:
        result.steps.append(Step(name, "error", str(exc), exc.exit_code))
