"""``mlgate ci`` on a real project in a real git repository: steps, report, summary, comment, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlgate.ci.run import ci, pull_request_of
from mlgate.errors import ConfigError, UsageError
from tests.unit.ci.conftest import git, register, settings_for
from tests.unit.ci.forge_fake import GITLAB_TOKEN, READ_ONLY_TOKEN, WRITE_TOKEN, fake_github, fake_gitlab


def test_outside_a_git_repository_it_stops_with_exit_2(project: Path) -> None:
    import shutil

    shutil.rmtree(project / ".git")
    with pytest.raises(UsageError, match="is not a git repository") as info:
        ci(settings_for(project), report=project / "r.md")
    assert info.value.exit_code == 2 and not (project / "r.md").exists()


def test_without_mlgate_yaml_it_stops_with_exit_2(tmp_path: Path) -> None:
    from mlgate.config import load_settings

    settings = load_settings(cwd=tmp_path, environ={})
    with pytest.raises(ConfigError, match=r"no mlgate\.yaml") as info:
        ci(settings)
    assert "mlgate init --ci github" in str(info.value.hint)


def test_first_model_the_report_says_so_and_the_summary_gets_it(project: Path, sk_model: Any, breast_cancer) -> None:
    register(project, sk_model, breast_cancer[0])
    summary = project / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    result = ci(settings_for(project, GITHUB_STEP_SUMMARY=str(summary)), report=project / "out" / "report.md")
    assert result.exit_code == 0, [(s.name, s.status, s.summary) for s in result.steps]
    assert [(s.name, s.status) for s in result.steps] == [
        ("data validation", "pass"),
        ("pipeline", "skip"),
        ("gate", "pass"),
    ]
    assert result.candidate == "cancer:1"
    text = (project / "out" / "report.md").read_text()
    assert "No production version yet" in text and "first model" in result.step("gate").summary
    assert "![ROC curve](roc.png)" in text and (project / "out" / "roc.png").is_file()
    assert json.loads((project / "out" / "gate-report.json").read_text())["candidate"]["ref"] == "cancer:1"
    summed = summary.read_text()
    assert summed.startswith("earlier step\n"), "the summary is appended to, never replaced"
    assert "# mlgate ci: ✅ passed" in summed and "roc.png" not in summed, "no local image links in the summary"


def test_a_failing_step_does_not_stop_the_next_ones(project: Path, sk_model: Any, breast_cancer) -> None:
    register(project, sk_model, breast_cancer[0])
    bad = project / "data" / "test.csv"
    bad.write_text(bad.read_text().replace("\n1", "\n-999", 3), encoding="utf-8")  # impossible radii
    result = ci(settings_for(project), report=project / "report.md")
    assert result.step("data validation").status == "fail"
    assert result.step("gate") is not None and result.gate is not None, "the gate still ran"
    assert result.exit_code == 1
    text = (project / "report.md").read_text()
    assert "# mlgate ci: ❌ failed" in text and "range_min" in text


def test_no_model_and_no_schema_skip_their_steps(project: Path) -> None:
    (project / "mlgate.schema.yaml").unlink()
    cfg = project / "mlgate.yaml"
    cfg.write_text(cfg.read_text().replace("model: {name: cancer}\n", ""), encoding="utf-8")
    result = ci(settings_for(project), report=None)
    assert [(s.name, s.status) for s in result.steps] == [
        ("data validation", "skip"),
        ("pipeline", "skip"),
        ("gate", "skip"),
    ]
    assert result.exit_code == 0 and result.report_path is None


def test_the_comment_is_created_once_then_updated(project: Path, breast_cancer, sk_model: Any) -> None:
    register(project, sk_model, breast_cancer[0])
    with fake_github() as gh:
        env = {"GITHUB_API_URL": gh.url, "GITHUB_REPOSITORY": "acme/fraud", "GITHUB_REF": "refs/pull/7/merge"}
        first = ci(settings_for(project, **env), token=WRITE_TOKEN, report=project / "r.md", candidate="cancer:1")
        second = ci(settings_for(project, **env, MLGATE_GITHUB_TOKEN=WRITE_TOKEN), report=project / "r.md",
                    candidate="cancer:1")  # fmt: skip
        (comment,) = gh.comments[("acme/fraud", 7)]
    assert first.comment.created and not second.comment.created and first.comment.id == second.comment.id
    assert first.step("comment").status == "pass" and first.exit_code == 0
    assert "mlgate ci: ✅ passed" in comment["body"] and "Plots:" in comment["body"]
    assert "comment" in (project / "r.md").read_text(), "the file report lists the comment step"


def test_in_a_gitlab_merge_request_pipeline_the_report_becomes_one_note(
    project: Path, breast_cancer, sk_model: Any
) -> None:
    register(project, sk_model, breast_cancer[0])
    with fake_gitlab() as gl:
        env = {
            "GITLAB_CI": "true",
            "CI_API_V4_URL": f"{gl.url}/api/v4",
            "CI_PROJECT_ID": "42",
            "CI_PROJECT_URL": "https://gitlab.example/acme/fraud",
            "CI_MERGE_REQUEST_IID": "3",
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
            "CI_PIPELINE_URL": "https://gitlab.example/acme/fraud/-/pipelines/77",
            "MLGATE_GITLAB_TOKEN": GITLAB_TOKEN,
            "GITHUB_TOKEN": "never-used-here",
        }
        first = ci(settings_for(project, **env), report=project / "r.md", candidate="cancer:1")
        second = ci(settings_for(project, **env), report=project / "r.md", candidate="cancer:1")
        (note,) = gl.notes[("42", 3)]
    assert first.step("comment").status == "pass" and first.exit_code == 0 and first.base == "main"
    assert first.comment.created and not second.comment.created
    assert (
        second.step("comment").summary
        == f"updated https://gitlab.example/acme/fraud/-/merge_requests/3#note_{note['id']}"
    )
    assert "mlgate ci: ✅ passed" in note["body"] and "/-/pipelines/77" in note["body"]


def test_a_gitlab_branch_pipeline_skips_the_note(project: Path) -> None:
    settings = settings_for(project, GITLAB_CI="true", CI_PROJECT_ID="42", MLGATE_GITLAB_TOKEN=GITLAB_TOKEN)
    step = ci(settings, report=None).step("comment")
    assert step.status == "skip" and "not a merge-request pipeline" in step.summary


def test_a_token_without_permission_still_writes_the_report(project: Path) -> None:
    with fake_github() as gh:
        settings = settings_for(project, GITHUB_API_URL=gh.url, GITHUB_REPOSITORY="acme/fraud")
        result = ci(settings, token=READ_ONLY_TOKEN, pull_request=7, report=project / "r.md")
    step = result.step("comment")
    assert step.status == "error" and "lacks permission" in step.summary and "pull-requests: write" in step.summary
    assert result.exit_code == 3
    text = (project / "r.md").read_text()
    assert "lacks permission to comment" in text and READ_ONLY_TOKEN not in text


def test_a_token_outside_a_pull_request_skips_the_comment(project: Path) -> None:
    result = ci(settings_for(project), token=WRITE_TOKEN, report=None)
    assert result.step("comment").status == "skip" and result.exit_code == 0


@pytest.mark.parametrize(
    ("env", "number"),
    [({"GITHUB_REF": "refs/pull/42/merge"}, 42), ({"GITHUB_REF": "refs/heads/main"}, None), ({}, None)],
)
def test_the_pull_request_number_comes_from_the_ref(project: Path, env: dict[str, str], number: int | None) -> None:
    assert pull_request_of(settings_for(project, **env)) == number


def test_the_pull_request_number_comes_from_the_event_file(project: Path) -> None:
    event = project / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 9}}), encoding="utf-8")
    assert pull_request_of(settings_for(project, GITHUB_EVENT_PATH=str(event))) == 9


def test_the_cli_maps_outcomes_to_exit_codes(project: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from mlgate.cli import main

    for key in ("GITHUB_TOKEN", "GITHUB_STEP_SUMMARY", "GITHUB_REF", "GITHUB_REPOSITORY", "GITHUB_EVENT_PATH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(project)
    assert main(["ci", "--report", "rep/report.md"]) == 0
    out = capsys.readouterr().out
    assert "data validation" in out and (project / "rep" / "report.md").is_file()
    git(project, "init", "-q")  # still a repository: break the config instead
    (project / "mlgate.yaml").write_text("registery: x\n", encoding="utf-8")
    assert main(["ci"]) == 2
    assert "unknown key 'registery'" in capsys.readouterr().err
