"""``mlgate ci``: the pull-request steps that apply to the project, in order, past failures, into one report.

Steps: data validation (when a schema exists) → pipeline run (smoke when available) → comparison with the
base branch's last recorded run → gate of the version this commit registered against production (when
``model.name`` is set) → optional promotion (``--promote-to staging`` on main) → the report: a file with
its plots beside it, ``$GITHUB_STEP_SUMMARY``, and one pull-request comment when a token is given.

Validation checks the data this commit's pipeline produced: a file that a stage writes is validated as
soon as the stages writing it are done (before the stages reading it run), one that no stage writes
before the pipeline, and a named file that is absent is a failure. The candidate is the version a stage
of this run registered; a stage restored from the run cache names the version its cached run registered
(same digest), so main gates and promotes the very version the pull request built and gated.

A step that fails is recorded and the next one still runs, so the report says everything at once. The
exit code is the worst outcome: 3 (environment, e.g. the comment was refused) over 2 (configuration or
input) over 1 (a check said no) over 0. Only a missing ``mlgate.yaml`` or a folder outside git stops
before any step, because then nothing can be compared or recorded.

This module keeps the order and the outputs (report file, step summary, comment); the result types are
in :mod:`mlgate.ci.result`, validation in :mod:`mlgate.ci.validation`, the other steps in
:mod:`mlgate.ci.steps`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

# CiResult, Step, Say, DEFAULT_SCHEMA, RUNS_SCANNED, base_run, default_branch, stage_versions and
# pick_candidate are re-exported: importers use this module
from mlgate.ci.result import CiResult as CiResult
from mlgate.ci.result import Say as Say
from mlgate.ci.result import Step as Step
from mlgate.ci.result import guard
from mlgate.ci.steps import RUNS_SCANNED as RUNS_SCANNED
from mlgate.ci.steps import base_comparison, gate_step, model_name, model_numbers, pipeline_step, promotion_step
from mlgate.ci.steps import base_run as base_run
from mlgate.ci.steps import default_branch as default_branch
from mlgate.ci.steps import pick_candidate as pick_candidate
from mlgate.ci.steps import stage_versions as stage_versions
from mlgate.ci.validation import DEFAULT_SCHEMA as DEFAULT_SCHEMA
from mlgate.ci.validation import DataValidation
from mlgate.config import Settings
from mlgate.errors import ConfigError, UsageError
from mlgate.redact import remember

if TYPE_CHECKING:
    from mlgate.registry.store import Registry

DEFAULT_REPORT = Path("mlgate-report") / "report.md"


def ci(
    settings: Settings,
    *,
    base: str | None = None,
    report: str | Path | None = DEFAULT_REPORT,
    token: str | None = None,
    repository: str | None = None,
    pull_request: int | None = None,
    candidate: str | None = None,
    smoke: bool = True,
    promote_to: str | None = None,
    registry: Registry | None = None,
    say: Say | None = None,
) -> CiResult:
    """Run the CI steps for the project ``settings`` describes; never raises for a step that fails."""
    from mlgate.lineage import git_state
    from mlgate.registry.store import Registry

    say = say or (lambda _msg: None)
    if settings.config_path is None:
        raise ConfigError(
            f"no mlgate.yaml in {settings.root} or any folder above it; mlgate ci needs the project's configuration",
            hint="run `mlgate init --ci github` (or gitlab) in the project, or pass --config",
        )
    git = git_state(settings.root)
    if git is None:
        raise UsageError(
            f"{settings.root} is not a git repository (or git is not installed); mlgate ci compares the "
            "commit with the base branch and records it",
            hint="run it in a checkout (actions/checkout with fetch-depth: 0), or `git init` and commit first",
        )
    env = settings.ci_env
    base = base or env.get("GITHUB_BASE_REF") or env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
    base = base or default_branch(settings.root)
    result = CiResult(git=git, base=base)
    reg = registry if registry is not None else Registry(settings=settings)
    try:
        check = DataValidation(settings, result, say)
        check.before_pipeline()
        before = model_numbers(reg, model_name(settings))
        pipeline_step(settings, reg, result, smoke, say, on_done=check.stage_done)
        check.finish()
        base_comparison(settings, reg, result)
        gate_step(settings, reg, result, candidate, before, say)
        if promote_to:
            promotion_step(settings, reg, result, promote_to)
    finally:
        if registry is None:
            reg.close()
    remember(token)  # a --token given on the command line is masked in the report like the environment's
    _outputs(settings, result, report, token, repository, pull_request, say)
    return result


# -- outputs -------------------------------------------------------------------------------------


def pull_request_of(settings: Settings) -> int | None:
    """The pull request number from ``GITHUB_REF`` (refs/pull/N/merge) or the event file."""
    ref = settings.ci_env.get("GITHUB_REF", "")
    m = re.fullmatch(r"refs/pull/(\d+)/(merge|head)", ref)
    if m:
        return int(m.group(1))
    event = settings.ci_env.get("GITHUB_EVENT_PATH")
    if event:
        try:
            doc = json.loads(Path(event).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        number = (doc.get("pull_request") or {}).get("number") if isinstance(doc, dict) else None
        return int(number) if isinstance(number, int) else None
    return None


def _outputs(
    settings: Settings,
    result: CiResult,
    report: str | Path | None,
    token: str | None,
    repository: str | None,
    pull_request: int | None,
    say: Say,
) -> None:
    from mlgate.ci.report import render

    if report is not None:
        path = Path(report)
        path = path if path.is_absolute() else Path.cwd() / path
        path.parent.mkdir(parents=True, exist_ok=True)
        if result.gate is not None:
            from mlgate.report import plots

            pictures = plots(result.gate.report, path.parent)
            result.images = pictures
            (path.parent / "gate-report.json").write_text(
                json.dumps(result.gate.report, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
        result.report_path = path
    run_url = _run_url(settings)
    target = _comment_target(settings, token, repository, pull_request)
    if isinstance(target, Step):
        result.steps.append(target)
    elif target is not None:
        _comment(settings, result, target, run_url, say)
    if result.report_path is not None:
        images = {n: p.name for n, p in result.images.items()}
        result.report_path.write_text(render(result, images=images, run_url=run_url), encoding="utf-8")
    summary = settings.ci_env.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(render(result, images=None, run_url=run_url) + "\n")


@dataclass(frozen=True)
class _Target:
    """Where the report comment goes: GitHub's pull request or GitLab's merge request."""

    forge: str  # github | gitlab
    token: str
    project: str  # owner/name on GitHub; the project id or path on GitLab
    number: int

    @property
    def label(self) -> str:
        return f"{self.project}#{self.number}" if self.forge == "github" else f"{self.project}!{self.number}"


def _comment_target(
    settings: Settings, token: str | None, repository: str | None, pull_request: int | None
) -> _Target | Step | None:
    """The comment's target; a skip step when a token was given outside a pull or merge request."""
    env = settings.ci_env
    if env.get("GITLAB_CI"):
        token = token or settings.gitlab_token
        project = repository or env.get("CI_PROJECT_ID")
        iid = env.get("CI_MERGE_REQUEST_IID", "")
        number = pull_request or (int(iid) if iid.isdigit() else None)
        forge, where = "gitlab", "not a merge-request pipeline"
    else:
        token = token or settings.github_token
        project = repository or env.get("GITHUB_REPOSITORY")
        number = pull_request or pull_request_of(settings)
        forge, where = "github", "not a pull_request event"
    if not token:
        return None
    if not (project and number):
        return Step("comment", "skip", f"a token was given but no {forge} request to comment on: {where}")
    return _Target(forge, token, project, number)


def _comment(settings: Settings, result: CiResult, to: _Target, run_url: str | None, say: Say) -> None:
    from mlgate.ci import comment
    from mlgate.ci.report import render

    def step() -> Step:
        say(f"commenting on {to.label}")
        # the comment shows the verdict of every step but its own, which it cannot know before posting
        body = render(result, images=None, run_url=run_url)
        env = settings.ci_env
        if to.forge == "gitlab":
            api = env.get("CI_API_V4_URL") or comment.DEFAULT_GITLAB_API_URL
            web = env.get("CI_PROJECT_URL")
            result.comment = comment.upsert_note(
                body, project=to.project, merge_request=to.number, token=to.token, api_url=api, project_url=web
            )
        else:
            api = env.get("GITHUB_API_URL") or comment.DEFAULT_API_URL
            result.comment = comment.upsert_comment(
                body, repository=to.project, pull_request=to.number, token=to.token, api_url=api
            )
        verb = "created" if result.comment.created else "updated"
        return Step("comment", "pass", f"{verb} {result.comment.url or to.label}")

    guard(result, "comment", step)


def _run_url(settings: Settings) -> str | None:
    env = settings.ci_env
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL") or "https://github.com"
        return f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return env.get("CI_PIPELINE_URL") or None
