"""``mlgate ci`` with a real pipeline: the data the commit produces is validated, main gates and promotes the
version a cached stage stands for, and a smoke run's version is never promotable."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from mlgate.ci.run import ci
from tests.unit.ci.conftest import git, settings_for

PREPARE = """\
import pathlib
import sys

text = pathlib.Path("data/raw/train.csv").read_text()
if len(sys.argv) > 1:  # a faulty preparation: impossible radii
    text = text.replace("\\n1", "\\n-999", 5)
pathlib.Path("data/train.csv").write_text(text)
"""
TRAIN = """\
import json
import os

import pandas as pd
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlgate

with open(os.environ.get("MLGATE_PARAMS_FILE", "params.yaml")) as fh:
    params = yaml.safe_load(fh)["train"]
train = pd.read_csv("data/train.csv")
X, y = train.drop(columns=["target"]), train["target"]
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=params["max_iter"])).fit(X, y)
mlgate.log_model(model, "cancer", sample_input=X.head(5), data=["data/train.csv"], params="params.yaml")
json.dump({"train_rows": len(train)}, open("metrics.json", "w"))
"""
STAGES = f"""\
stages:
  prepare:
    cmd: {sys.executable} prepare.py
    deps: [prepare.py, data/raw]
    outs: [data/train.csv]
  train:
    cmd: {sys.executable} train.py
    deps: [train.py, data/train.csv]
    params: [train]
    metrics: [metrics.json]
"""


@pytest.fixture
def pipeline_project(project: Path) -> Path:
    """The CI project whose train.csv is written by a prepare stage, and a train stage that registers cancer."""
    (project / "data" / "raw").mkdir()
    git(project, "mv", "data/train.csv", "data/raw/train.csv")
    (project / "prepare.py").write_text(PREPARE, encoding="utf-8")
    (project / "train.py").write_text(TRAIN, encoding="utf-8")
    (project / "params.yaml").write_text("train: {max_iter: 2000}\nsmoke:\n  train: {max_iter: 50}\n")
    with open(project / "mlgate.yaml", "a", encoding="utf-8") as fh:
        fh.write(STAGES)
    with open(project / ".gitignore", "a", encoding="utf-8") as fh:
        fh.write("data/train.csv\nmetrics.json\nmlgate.lock\n")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "pipeline")
    return project


def test_the_data_the_pipeline_produced_is_validated_before_training(pipeline_project: Path) -> None:
    said: list[str] = []
    result = ci(settings_for(pipeline_project), report=None, smoke=False, say=said.append)
    assert result.exit_code == 0, [(s.name, s.status, s.summary) for s in result.steps]
    assert [s.name for s in result.steps][:2] == ["data validation", "pipeline"]
    assert sorted(Path(str(r.source)).name for r in result.validations) == ["test.csv", "train.csv"]
    assert said.index("validating data/train.csv") < said.index("stage train: running"), "validated before use"

    (pipeline_project / "mlgate.yaml").write_text(
        (pipeline_project / "mlgate.yaml").read_text().replace("prepare.py\n", "prepare.py --faulty\n", 1)
    )
    git(pipeline_project, "commit", "-q", "-am", "a faulty preparation")
    bad = ci(settings_for(pipeline_project), report=None, smoke=False)
    step = bad.step("data validation")
    assert step.status == "fail" and "violation" in step.summary and bad.exit_code == 1
    # nothing trains on data that failed validation: the train stage is held back and registers nothing
    (train,) = [s for s in bad.pipeline.stages if s.name == "train"]
    assert train.outcome == "skipped" and "data/train.csv failed data validation" in train.reasons[0]
    assert bad.step("pipeline").status == "fail" and bad.candidate is None
    from mlgate.registry.store import Registry

    with Registry(settings=settings_for(pipeline_project)) as reg:
        assert [v.number for v in reg.versions("cancer")] == [1], "only the first, clean commit's version"


def test_a_named_file_absent_after_the_pipeline_is_a_failure(pipeline_project: Path) -> None:
    cfg = pipeline_project / "mlgate.yaml"
    cfg.write_text(cfg.read_text().replace("eval: data/test.csv", "eval: data/eval.csv"))
    git(pipeline_project, "commit", "-q", "-am", "eval file nobody writes")
    result = ci(settings_for(pipeline_project), report=None, smoke=False)
    step = result.step("data validation")
    assert step.status == "fail" and "named but absent after the pipeline: data/eval.csv" in step.summary


def test_main_gates_and_promotes_the_version_the_pull_request_built(pipeline_project: Path, tmp_path: Path) -> None:
    from mlgate.registry.store import Registry

    pr = ci(settings_for(pipeline_project), report=None, smoke=False)
    assert pr.exit_code == 0 and pr.candidate == "cancer:1", [(s.name, s.summary) for s in pr.steps]
    shared = {
        "MLGATE_REGISTRY": f"sqlite:///{pipeline_project / '.mlgate' / 'registry.db'}",
        "MLGATE_ARTIFACTS": str(pipeline_project / ".mlgate" / "artifacts"),
    }
    main = tmp_path / "main-runner"  # a fresh runner: a clone sharing the registry and the artifact store
    git(tmp_path, "clone", "-q", str(pipeline_project), str(main))
    shutil.copy(pipeline_project / "mlgate.schema.yaml", main / "mlgate.schema.yaml")
    result = ci(settings_for(main, **shared), report=None, smoke=False, promote_to="staging")
    assert result.exit_code == 0, [(s.name, s.status, s.summary) for s in result.steps]
    assert {s.name: s.outcome for s in result.pipeline.stages} == {"prepare": "cached", "train": "cached"}
    assert result.candidate == "cancer:1" and "restored from the run cache" in result.step("gate").summary
    assert result.step("promotion").summary == "staging → cancer:1"
    with Registry(settings=settings_for(main, **shared)) as reg:
        assert [v.number for v in reg.versions("cancer")] == [1], "main did not retrain"
        assert reg.get("cancer@staging").digest == reg.get("cancer:1").digest


def test_a_smoke_version_records_its_real_params_and_is_never_promoted(pipeline_project: Path) -> None:
    from mlgate.errors import UsageError
    from mlgate.promotion import promote
    from mlgate.registry.store import Registry

    result = ci(settings_for(pipeline_project), report=None, promote_to="staging")
    assert result.smoke and result.step("gate").status == "pass"
    assert result.step("promotion").status == "fail" and "smoke run" in result.step("promotion").summary
    settings = settings_for(pipeline_project)
    with Registry(settings=settings) as reg:
        mv = reg.get(result.candidate)
        assert mv.status == "smoke" and mv.lineage["smoke"] is True
        assert mv.lineage["params"]["train"] == {"max_iter": 50}, "the params the smoke run used, not params.yaml's"
        with pytest.raises(UsageError, match="registered by a smoke run"):
            promote(mv.ref, "production", settings=settings, registry=reg, force=True, reason="try anyway")
        assert reg.aliases("cancer") == {}


def test_latest_names_the_newest_full_run_version_not_a_smoke_one(pipeline_project: Path) -> None:
    from mlgate.registry.store import Registry

    full = ci(settings_for(pipeline_project), report=None, smoke=False)
    smoke = ci(settings_for(pipeline_project), report=None)
    assert smoke.smoke and smoke.candidate != full.candidate
    with Registry(settings=settings_for(pipeline_project)) as reg:
        assert reg.get(smoke.candidate).status == "smoke"
        assert reg.get("cancer").ref == full.candidate, "a bare name skips smoke versions"
        (summary,) = reg.models()
        assert summary.latest is not None and summary.latest.ref == full.candidate
        assert summary.versions == 2
