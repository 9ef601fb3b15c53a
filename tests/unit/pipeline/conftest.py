"""Pipeline fixtures: a real project folder with mlgate.yaml, params.yaml and files, run through the library."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlgate.config import Settings, load_settings
from mlgate.pipeline import RunResult, run, status
from mlgate.pipeline.status import StageStatus

# Two stages made of shell built-ins (fast): each appends its name to ran.log when its command really runs.
TWO_STAGES = """\
project: demo
stages:
  prepare:
    cmd: echo prepare >> ran.log && mkdir -p data && cat raw.txt raw.txt > data/a.txt && echo n > data/b.txt
    deps: [raw.txt]
    params: [prepare.n]
    outs: [data]
  train:
    cmd: echo train >> ran.log && cat data/a.txt data/b.txt > model.txt && echo '{"acc":0.75}' > metrics.json
    deps: [data, train.sh]
    params: [train]
    outs: [model.txt]
    metrics: [metrics.json]
"""
PARAMS = "prepare:\n  n: 3\ntrain:\n  lr: 0.1\n  depth: 2\n"


@dataclass
class Project:
    root: Path
    artifacts: Path | None = None
    registry: str | None = None

    def settings(self) -> Settings:
        return load_settings(
            cwd=self.root,
            artifacts=str(self.artifacts) if self.artifacts else None,
            registry=self.registry,
        )

    def run(self, *targets: str, **kw: Any) -> RunResult:
        return run(self.settings(), targets, **kw)

    def status(self, *targets: str) -> list[StageStatus]:
        return status(self.settings(), targets)

    def ran(self) -> list[str]:
        """The stages whose commands ran since the last call."""
        log = self.root / "ran.log"
        lines = log.read_text().split() if log.exists() else []
        log.unlink(missing_ok=True)
        return lines

    def write(self, rel: str, text: str) -> None:
        (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (self.root / rel).write_text(text)


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Project]:
    """``make_project(yaml, files={...}, name="p")`` → a project folder with those files."""

    def make(
        config: str = TWO_STAGES,
        *,
        files: dict[str, str] | None = None,
        params: str | None = PARAMS,
        name: str = "project",
        artifacts: Path | None = None,
    ) -> Project:
        root = tmp_path / name
        root.mkdir()
        (root / "mlgate.yaml").write_text(config)
        if params is not None:
            (root / "params.yaml").write_text(params)
        defaults = {"raw.txt": "hello\n", "train.sh": "# the training script\n"}
        for rel, text in (defaults if files is None else files).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        return Project(root, artifacts)

    return make


def outcomes(result: RunResult) -> dict[str, str]:
    """``{stage: outcome}``."""
    return {s.name: s.outcome for s in result.stages}
