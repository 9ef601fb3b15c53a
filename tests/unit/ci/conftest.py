"""CI fixtures: a small real project in a git repository, with a registry and a model trained on real data."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import pytest

GIT = ["git", "-c", "user.name=mlgate tests", "-c", "user.email=tests@mlgate.invalid"]

CONFIG = """\
project: ci-tests
registry: sqlite:///.mlgate/registry.db
artifacts: .mlgate/artifacts
model: {name: cancer}
data: {train: data/train.csv, eval: data/test.csv, target: target}
gates:
  - {metric: roc_auc, min: 0.9}
  - {metric: accuracy, vs: production, max_drop: 0.05}
"""


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` and return its output (fails the test when git fails)."""
    return subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def project(tmp_path: Path, breast_cancer: Any) -> Path:
    """A committed git repository with mlgate.yaml, train/test CSVs and a schema (no stages)."""
    from mlgate.data.schema import infer_schema

    X, y = breast_cancer
    frame = X.assign(target=y)
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    frame.iloc[:400].to_csv(root / "data" / "train.csv", index=False)
    frame.iloc[400:].to_csv(root / "data" / "test.csv", index=False)
    (root / "mlgate.yaml").write_text(CONFIG, encoding="utf-8")
    (root / ".gitignore").write_text(".mlgate/\nmlgate-report/\n", encoding="utf-8")
    schema = dataclasses.replace(infer_schema(frame, slack=0.2, target="target"), rows_min=None)
    schema.save(root / "mlgate.schema.yaml")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "project")
    return root


def settings_for(root: Path, **environ: str) -> Any:
    """Settings of ``root`` with exactly ``environ`` as the environment (no GitHub variables leak in)."""
    from mlgate.config import load_settings

    return load_settings(config=root / "mlgate.yaml", environ={"MLGATE_ACTOR": "tester", **environ})


def register(root: Path, model: Any, X: Any, alias: str | None = None) -> Any:
    """Register ``model`` as the next version of ``cancer`` (and point ``alias`` at it, without a gate)."""
    from mlgate.models import log_model
    from mlgate.registry.store import Registry

    with Registry(settings=settings_for(root)) as reg:
        mv = log_model(model, "cancer", sample_input=X.head(5), registry=reg)
        if alias:
            reg.set_alias("cancer", alias, mv.number)
    return mv
