"""``mlgate init``: a commented mlgate.yaml that loads, and a fresh project that reads as "no stages yet"."""

from __future__ import annotations

import re
from pathlib import Path

import yaml


def test_init_writes_every_section_commented_and_loadable(data_cli, tmp_path: Path) -> None:
    project = tmp_path / "churn"
    r = data_cli("init", str(project))
    assert r.code == 0, r.err
    text = (project / "mlgate.yaml").read_text(encoding="utf-8")
    for section in ("model", "data", "stages", "gates"):
        assert f"\n# {section}:" in text, section
    from mlgate.config import load_settings

    settings = load_settings(config=project / "mlgate.yaml")
    assert settings.project == "churn" and "stages" not in settings.raw


def test_the_commented_sections_are_valid_config_once_uncommented(tmp_path: Path) -> None:
    """What a user gets by deleting the leading ``# `` is a working configuration, not a syntax error."""
    from mlgate.config import load_settings
    from mlgate.gates.spec import parse_gates
    from mlgate.pipeline.spec import load_pipeline
    from mlgate.project import init_project

    init_project(tmp_path)
    cfg = tmp_path / "mlgate.yaml"
    lines = cfg.read_text(encoding="utf-8").splitlines()
    # uncomment the YAML lines (`# key:`, `#   - …`), keep the prose comments
    code = re.compile(r"^# (?=[a-z_]+:|\s+[-a-z_])")
    cfg.write_text("\n".join(code.sub("", line) for line in lines) + "\n", encoding="utf-8")
    raw = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    assert {"model", "data", "stages", "gates"} <= set(raw)
    settings = load_settings(config=cfg)
    assert list(load_pipeline(settings, check_files=False).stages) == ["train"]
    specs, _, _ = parse_gates(settings, task="binary", against="production")
    assert sum("accuracy" in spec.name for spec in specs) == 2


def test_status_and_dag_of_a_fresh_project_say_there_are_no_stages(data_cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert data_cli("init").code == 0
    status = data_cli("status")
    assert status.code == 0, status.err
    assert "declares no stages yet" in status.out and "docs/pipelines.md" in status.out
    assert data_cli("status", "--json").json() == {"stale": False, "stages": []}
    dag = data_cli("dag")
    assert dag.code == 0 and "declares no stages yet" in dag.out
    assert data_cli("dag", "--json").json() == {"stages": [], "edges": []}
    run = data_cli("run")
    assert run.code == 2 and "there are no stages to run" in run.err


def test_dag_json_is_format_json_and_refuses_two_formats(data_cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlgate.yaml").write_text(
        "stages:\n  a: {cmd: echo a > a.txt, outs: [a.txt]}\n"
        "  b: {cmd: cat a.txt > b.txt, deps: [a.txt], outs: [b.txt]}\n",
        encoding="utf-8",
    )
    r = data_cli("dag", "--json")
    assert r.code == 0, r.err
    assert r.json() == data_cli("dag", "--format", "json").json() == {"stages": ["a", "b"], "edges": [["a", "b"]]}
    both = data_cli("dag", "--json", "--format", "dot")
    assert both.code == 2 and "give one" in both.err
