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
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.config import Settings
from mlgate.errors import ConfigError, MlgateError, UsageError
from mlgate.redact import remember

DEFAULT_REPORT = Path("mlgate-report") / "report.md"
DEFAULT_SCHEMA = "mlgate.schema.yaml"
RUNS_SCANNED = 500
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
    registry: Any = None,
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
        check = _Validation(settings, result, say)
        check.before_pipeline()
        before = _numbers(reg, _model_name(settings))
        _pipeline(settings, reg, result, smoke, say, on_done=check.stage_done)
        check.finish()
        _base_comparison(settings, reg, result)
        _gate(settings, reg, result, candidate, before, say)
        if promote_to:
            _promote(settings, reg, result, promote_to)
    finally:
        if registry is None:
            reg.close()
    remember(token)  # a --token given on the command line is masked in the report like the environment's
    _outputs(settings, result, report, token, repository, pull_request, say)
    return result


def _model_name(settings: Settings) -> str | None:
    return settings.model.name


def _guard(result: CiResult, name: str, fn: Callable[[], Step]) -> None:
    try:
        result.steps.append(fn())
    except MlgateError as exc:
        result.steps.append(Step(name, "error", str(exc), exc.exit_code))


# -- data validation -----------------------------------------------------------------------------


def _validation_inputs(settings: Settings) -> tuple[Path | None, list[str]]:
    data = settings.data
    schema = settings.root / (data.schema or DEFAULT_SCHEMA)
    files = [value for _key, _where, value in data.files_to_validate()]
    return (schema if schema.is_file() else None), list(dict.fromkeys(files))


class _Validation:
    """Data validation around the pipeline: each file once it exists in the form this commit produces.

    A file no stage writes is validated before the pipeline; a file a stage writes (``outs`` naming it or a
    folder holding it) when every stage writing it is done, from the run's ``done`` events, so before any
    stage of a serial run reads it; what is still pending at the end (the pipeline did not run them) after
    the pipeline. A named file that does not exist then is a failure, never a pass.
    """

    NAME = "data validation"

    def __init__(self, settings: Settings, result: CiResult, say: Say) -> None:
        self.settings, self.result, self.say = settings, result, say
        self.index = len(result.steps)
        self.step: Step | None = None
        self.schema: Path | None = None
        self.pending: dict[str, set[str]] = {}  # file → stages still to write it
        self.done: dict[str, str] = {}  # stage → outcome
        self.violations = 0
        self.missing: list[str] = []
        self.unproduced: list[str] = []  # (file, stage) whose producing stage did not succeed
        try:
            schema, files = _validation_inputs(settings)
            if schema is None:
                self.step = Step(self.NAME, "skip", f"no schema ({DEFAULT_SCHEMA} or data.schema in mlgate.yaml)")
            elif not files:
                self.step = Step(self.NAME, "skip", "no data files (data.train, data.eval or data.validate)")
            else:
                self.schema = schema
                writers = _writers(settings)
                self.pending = {f: {st for out, st in writers if _produces(out, f)} for f in files}
        except MlgateError as exc:
            self.step = Step(self.NAME, "error", str(exc), exc.exit_code)

    def _check(self, files: list[str]) -> None:
        import dataclasses

        from mlgate.data.validate import validate
        from mlgate.files import project_relative

        assert self.schema is not None
        for f in files:
            self.pending.pop(f, None)
            path = self.settings.root / f
            if not any(c in f for c in "*?[") and not path.exists():
                self.missing.append(f)
                continue
            self.say(f"validating {f}")
            rep = validate(path, self.schema)
            # the report lands in a pull request: the project's names, not this runner's folders
            schema = project_relative(self.schema, self.settings.root)
            rep = dataclasses.replace(rep, source=project_relative(rep.source, self.settings.root), schema=schema)
            self.result.validations.append(rep)
            self.violations += len(rep.violations)

    def _guarded(self, files: list[str]) -> None:
        if self.step is not None or not files:
            return
        try:
            self._check(files)
        except MlgateError as exc:
            self.step = Step(self.NAME, "error", str(exc), exc.exit_code)

    def before_pipeline(self) -> None:
        """Validate the files no stage writes."""
        self._guarded([f for f, writers in self.pending.items() if not writers])

    def stage_done(self, stage: Any) -> str | None:
        """A stage finished: validate the files whose writers are all done now; why its outputs must not be
        used, when one of them failed validation."""
        self.done[stage.name] = stage.outcome
        before, reports = self.violations, len(self.result.validations)
        ready = []
        for f, writers in list(self.pending.items()):
            if writers and writers <= self.done.keys():
                bad = [w for w in sorted(writers) if self.done[w] not in ("ran", "cached")]
                if bad:
                    self.pending.pop(f)
                    self.unproduced.append(f"{f} (stage {bad[0]!r} {self.done[bad[0]]})")
                else:
                    ready.append(f)
        self._guarded(ready)
        if self.violations > before:
            bad = [r.source for r in self.result.validations[reports:] if r.violations]
            return f"its input {', '.join(map(str, bad))} failed data validation"
        return None

    def finish(self) -> None:
        """Validate what is still pending, then record the step where validation began."""
        self._guarded(list(self.pending))
        self.result.steps.insert(self.index, self.step or self._outcome())

    def _outcome(self) -> Step:
        assert self.schema is not None
        checked = f"{len(self.result.validations)} file(s) against {self.schema.name}"
        problems = []
        if self.violations:
            problems.append(f"{self.violations} violation(s)")
        if self.missing:
            problems.append(f"named but absent after the pipeline: {', '.join(self.missing)}")
        if self.unproduced:
            problems.append(f"not produced: {', '.join(self.unproduced)}")
        if problems:
            return Step(self.NAME, "fail", f"{checked}; {'; '.join(problems)}", 1)
        return Step(self.NAME, "pass", f"{checked}: no violations")


def _writers(settings: Settings) -> list[tuple[str, str]]:
    """``(output path, stage)`` for every declared output of the pipeline (none without ``stages:``)."""
    from mlgate.pipeline.spec import load_pipeline

    try:
        if not settings.pipeline.has_stages:
            return []
        pipeline = load_pipeline(settings)
    except MlgateError:
        return []  # the pipeline step reports the broken definition
    return [(o.path, st.name) for st in pipeline.stages.values() for o in st.outs]


def _produces(out: str, file: str) -> bool:
    """True when the output ``out`` (a file or a folder) is, holds, or matches the data file ``file``."""
    import fnmatch
    import posixpath

    out, file = posixpath.normpath(out), posixpath.normpath(file)
    return file == out or file.startswith(out.rstrip("/") + "/") or fnmatch.fnmatch(out, file)


# -- pipeline ----------------------------------------------------------------------------------


def _pipeline(
    settings: Settings, reg: Any, result: CiResult, smoke: bool, say: Say, on_done: Callable[[Any], str | None]
) -> None:
    def step() -> Step:
        from mlgate.pipeline.runner import run

        if not settings.pipeline.has_stages:
            return Step("pipeline", "skip", "no stages: in mlgate.yaml")
        result.smoke = smoke and _has_smoke_section(settings)
        if smoke and not result.smoke:
            result.notes.append("no smoke: section in params.yaml, so the pipeline ran in full")

        def on_event(kind: str, payload: Any) -> None:
            if kind == "start":
                say(f"stage {payload}: running")

        # a stage whose produced data fails validation holds back the stages that would train on it
        run_result = run(settings, on_event=on_event, smoke=result.smoke, hold=on_done)
        result.pipeline = run_result
        result.stage_graph = _stage_graph(settings, run_result)
        counts = {k: sum(s.outcome == k for s in run_result.stages) for k in ("ran", "cached", "failed", "skipped")}
        text = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "nothing to do"
        if result.smoke:
            text = f"smoke run: {text}"
        if not run_result.ok:
            return Step("pipeline", "fail", text, 1)
        return Step("pipeline", "pass", text)

    _guard(result, "pipeline", step)


def _stage_graph(settings: Settings, run_result: Any) -> str:
    from mlgate.pipeline.graph import mermaid
    from mlgate.pipeline.spec import load_pipeline

    outcomes = {s.name: s.outcome for s in run_result.stages}
    return mermaid(load_pipeline(settings), list(outcomes), outcomes=outcomes)


def _has_smoke_section(settings: Settings) -> bool:
    from mlgate.pipeline.spec import load_params_file, load_pipeline
    from mlgate.pipeline.status import SMOKE_KEY

    return bool(load_params_file(load_pipeline(settings)).get(SMOKE_KEY))


def _base_comparison(settings: Settings, reg: Any, result: CiResult) -> None:
    from mlgate.pipeline.runs import diff_runs

    if result.pipeline is None or result.pipeline.dry_run:
        return
    from mlgate.pipeline.journal import flush_runs

    try:
        flush_runs(settings, reg)  # a run that changed nothing is recorded lazily: store it now
        result.this_run = reg.get_run(result.pipeline.run_id)
        result.base_run = base_run(reg, settings, result.base, exclude=result.pipeline.run_id)
    except MlgateError as exc:
        result.notes.append(f"the base branch's runs could not be read: {exc.message}")
        return
    if result.base_run is None:
        result.notes.append(f"no recorded pipeline run on {result.base} yet: nothing to compare the metrics with")
        return
    rows = diff_runs(result.base_run, result.this_run, only_changed=False)
    result.metric_rows = [r for r in rows if r.section == "metrics"]


def base_run(reg: Any, settings: Settings, base: str, *, exclude: str | None = None) -> Any:
    """The base branch's last successful run: at the merge base with ``base`` if recorded, else its newest."""
    runs = [r for r in reg.runs(limit=RUNS_SCANNED, project=settings.project) if r.status == "succeeded"]
    runs = [r for r in runs if r.id != exclude]
    commits = []
    for ref in (f"origin/{base}", base):
        out = _git_out(settings.root, "merge-base", "HEAD", ref)
        if out and out.strip():
            commits.append(out.strip())
            break
    for ref in (f"origin/{base}", base):
        out = _git_out(settings.root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        if out and out.strip():
            commits.append(out.strip())
    for commit in commits:
        hit = next((r for r in runs if r.commit == commit), None)
        if hit is not None:
            return hit
    return next((r for r in runs if (r.git or {}).get("branch") == base), None)


def default_branch(root: Path) -> str:
    """The repository's default branch: ``origin/HEAD``, else the one of main/master that exists, else
    ``init.defaultBranch``, else the only branch, else main."""
    out = _git_out(root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if out and "/" in out.strip():
        return out.strip().split("/", 1)[1]
    local = [b for b in ("main", "master") if _git_out(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{b}")]
    if len(local) == 1:
        return local[0]
    configured = (_git_out(root, "config", "--get", "init.defaultBranch") or "").strip()
    if configured:
        return configured
    branches = (_git_out(root, "for-each-ref", "--format=%(refname:short)", "refs/heads/") or "").split()
    return branches[0] if len(branches) == 1 else "main"  # a repository with one branch: that one


def _git_out(root: Path, *args: str) -> str | None:
    import subprocess

    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


# -- gate and promotion --------------------------------------------------------------------------


def _numbers(reg: Any, name: str | None) -> set[int]:
    from mlgate.errors import NotFoundError

    if name is None:
        return set()
    try:
        return {v.number for v in reg.versions(name)}
    except NotFoundError:
        return set()


def stage_versions(settings: Settings, run_result: Any, name: str) -> list[tuple[str, str, dict[str, Any]]]:
    """``(stage, outcome, {name, number, digest})`` of each version of ``name`` the run's stages stand for.

    A stage that ran lists what its command registered; a stage restored from (or up to date with) the run
    cache lists what the run that filled the cache entry registered: the cache entry keeps it.
    """
    from mlgate.pipeline.cache import RunCache

    if run_result is None:
        return []
    cache = RunCache(settings.artifacts, s3_endpoint_url=settings.s3_endpoint_url)
    found = []
    for st in run_result.stages:
        if st.key is None or st.outcome not in ("ran", "cached"):
            continue
        entry = cache.get(st.key)
        for item in entry.registered if entry is not None else []:
            if item.get("name") == name:
                found.append((st.name, st.outcome, item))
    return found


def pick_candidate(
    reg: Any,
    name: str,
    commit: str | None,
    before: set[int],
    *,
    from_stages: list[tuple[str, str, dict[str, Any]]] | None = None,
    smoke: bool = False,
) -> tuple[str | None, str]:
    """The version to gate: the one this run's stages registered (or stand for, when cached), else one
    registered during the run, else the newest one built from ``commit`` (no smoke version unless ``smoke``).
    """
    from mlgate.errors import NotFoundError
    from mlgate.registry.store import SMOKE_STATUS

    try:
        versions = reg.versions(name)
    except NotFoundError:
        return None, f"model {name!r} has no version in the registry"
    by_digest = {v.digest: v for v in versions}
    for stage, outcome, item in reversed(from_stages or []):
        mv = by_digest.get(item["digest"])
        if mv is None:
            continue  # registered into another registry (a fork's local one): look further
        if outcome == "ran":
            return mv.ref, f"{mv.ref}, registered by stage {stage!r} of this run"
        return mv.ref, f"{mv.ref}, restored from the run cache: stage {stage!r} registered it (same digest)"
    new = [v for v in versions if v.number not in before]
    if new:
        return new[-1].ref, f"{new[-1].ref}, registered by this run"
    same = [v for v in versions if commit and ((v.lineage or {}).get("git") or {}).get("commit") == commit]
    same = same if smoke else [v for v in same if v.status != SMOKE_STATUS]
    if same:
        return same[-1].ref, f"{same[-1].ref}, built from this commit earlier"
    return None, f"no version of {name!r} was registered by this run or from this commit"


def _gate(settings: Settings, reg: Any, result: CiResult, candidate: str | None, before: set[int], say: Say) -> None:
    def step() -> Step:
        from mlgate.gates.evaluate import gate

        name = _model_name(settings)
        if candidate is None and name is None:
            return Step("gate", "skip", "no model.name in mlgate.yaml")
        if candidate:
            ref, why = candidate, candidate
        else:
            stages = stage_versions(settings, result.pipeline, name or "")
            ref, why = pick_candidate(
                reg, name or "", result.git["commit"], before, from_stages=stages, smoke=bool(result.smoke)
            )
        if ref is None:
            return Step("gate", "skip", why)
        result.candidate = reg.get(ref).ref
        say(f"gating {result.candidate} against production")
        res = gate(result.candidate, against="production", config=settings, registry=reg, say=say)
        result.gate = res
        s = res.report["summary"]
        counts = f"{s['passed']} passed, {s['failed'] + s['errors']} failed, {s['skipped']} skipped"
        if s.get("undecided"):
            counts += f", {s['undecided']} undecided ({s.get('undecided_blocking', 0)} blocking)"
        first = "" if res.report.get("champion") else "; no production version yet: first model, change gates skipped"
        if not res.passed:
            return Step("gate", "fail", f"{why}: blocked ({counts}){first}", 1)
        return Step("gate", "pass", f"{why}: passed ({counts}){first}")

    _guard(result, "gate", step)


def _promote(settings: Settings, reg: Any, result: CiResult, alias: str) -> None:
    def step() -> Step:
        from mlgate.promotion import promote
        from mlgate.registry.store import SMOKE_STATUS

        if result.gate is None or not result.gate.passed or result.candidate is None:
            return Step("promotion", "skip", f"nothing promoted to {alias}: no candidate passed the gate")
        candidate = reg.get(result.candidate)  # resolved once, then handed to promote
        if candidate.status == SMOKE_STATUS:
            return Step(
                "promotion",
                "fail",
                f"{result.candidate} comes from a smoke run and is never promoted; run with --no-smoke to promote",
                1,
            )
        commit = result.git["commit"][:12]
        event = promote(candidate, alias, settings=settings, registry=reg, reason=f"mlgate ci at {commit}")
        result.promoted = event
        if not event.changed:
            return Step("promotion", "pass", f"{alias} already held {result.candidate}")
        return Step("promotion", "pass", f"{alias} → {result.candidate}")

    _guard(result, "promotion", step)


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

    _guard(result, "comment", step)


def _run_url(settings: Settings) -> str | None:
    env = settings.ci_env
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL") or "https://github.com"
        return f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return env.get("CI_PIPELINE_URL") or None
