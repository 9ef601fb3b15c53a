"""The steps of ``mlgate ci`` after validation: pipeline run, comparison with the base branch, gate, promotion.

Each step records its outcome in the :class:`~mlgate.ci.result.CiResult` through
:func:`~mlgate.ci.result.guard`, so a step that raises is an error step and the next one still runs.
The candidate is the version a stage of this run registered; a stage restored from the run cache names
the version its cached run registered (same digest), so main gates and promotes the very version the
pull request built and gated.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlgate.ci.result import CiResult, Say, Step, guard
from mlgate.config import Settings
from mlgate.errors import MlgateError

RUNS_SCANNED = 500


def model_name(settings: Settings) -> str | None:
    """The model ``mlgate ci`` gates: ``model.name`` in ``mlgate.yaml``."""
    return settings.model.name


# -- pipeline ----------------------------------------------------------------------------------


def pipeline_step(
    settings: Settings, reg: Any, result: CiResult, smoke: bool, say: Say, on_done: Callable[[Any], str | None]
) -> None:
    """Run the pipeline (smoke when ``params.yaml`` has a ``smoke:`` section); ``on_done`` may hold stages back."""

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

    guard(result, "pipeline", step)


def _stage_graph(settings: Settings, run_result: Any) -> str:
    from mlgate.pipeline.graph import mermaid
    from mlgate.pipeline.spec import load_pipeline

    outcomes = {s.name: s.outcome for s in run_result.stages}
    return mermaid(load_pipeline(settings), list(outcomes), outcomes=outcomes)


def _has_smoke_section(settings: Settings) -> bool:
    from mlgate.pipeline.spec import load_params_file, load_pipeline
    from mlgate.pipeline.status import SMOKE_KEY

    return bool(load_params_file(load_pipeline(settings)).get(SMOKE_KEY))


def base_comparison(settings: Settings, reg: Any, result: CiResult) -> None:
    """This run's metrics beside those of the base branch's last run (a note when there is none)."""
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


def model_numbers(reg: Any, name: str | None) -> set[int]:
    """The version numbers ``name`` has in the registry now (none without a name or a model)."""
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


def gate_step(
    settings: Settings, reg: Any, result: CiResult, candidate: str | None, before: set[int], say: Say
) -> None:
    """Gate the candidate (given, or the version this run's stages registered) against production."""

    def step() -> Step:
        from mlgate.gates.evaluate import gate

        name = model_name(settings)
        if candidate is None and name is None:
            return Step("gate", "skip", "no model.name in mlgate.yaml")
        ref: str | None
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

    guard(result, "gate", step)


def promotion_step(settings: Settings, reg: Any, result: CiResult, alias: str) -> None:
    """Point ``alias`` at the candidate when it passed the gate (never a smoke version)."""

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

    guard(result, "promotion", step)
