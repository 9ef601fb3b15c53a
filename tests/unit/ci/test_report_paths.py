"""Reports name files relative to the project: the folder of the machine that ran them means nothing in a PR."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlgate.ci.run import ci
from tests.unit.ci.conftest import register, settings_for


def test_ci_and_gate_reports_hold_no_absolute_project_paths(project: Path, sk_model: Any, breast_cancer) -> None:
    register(project, sk_model, breast_cancer[0])
    out = project / "out"
    result = ci(settings_for(project), report=out / "report.md")
    assert result.exit_code == 0, [(s.name, s.status, s.summary) for s in result.steps]
    gate_report = json.loads((out / "gate-report.json").read_text(encoding="utf-8"))
    assert gate_report["dataset"]["path"] == "data/test.csv"
    assert gate_report["config"]["path"] == "mlgate.yaml"
    assert [(v.source, v.schema) for v in result.validations] == [
        ("data/train.csv", "mlgate.schema.yaml"),
        ("data/test.csv", "mlgate.schema.yaml"),
    ]
    for written in out.iterdir():
        if written.suffix in (".md", ".json", ".html"):
            assert str(project) not in written.read_text(encoding="utf-8"), written.name


def test_a_path_outside_the_project_is_kept_as_given(tmp_path: Path) -> None:
    from mlgate.files import project_relative

    root = tmp_path / "project"
    assert project_relative(root / "data" / "x.csv", root) == "data/x.csv"
    assert project_relative(tmp_path / "elsewhere.csv", root) == str(tmp_path / "elsewhere.csv")
    assert project_relative("<DataFrame>", root) == "<DataFrame>"
