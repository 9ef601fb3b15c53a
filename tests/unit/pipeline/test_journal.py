"""A no-op run is deferred (no registry, no git subprocess) and reaches the registry on the next flush, once."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mlgate.errors import EnvironmentProblem
from mlgate.lineage import git_state
from mlgate.pipeline import flush_runs
from mlgate.pipeline.journal import defer_run, git_head, pending_runs
from mlgate.registry.store import Registry

from .conftest import Project, outcomes


def _runs(p: Project) -> list[str]:
    with Registry(settings=p.settings()) as reg:
        return [r.id for r in reg.runs()]


def test_a_noop_run_is_deferred_then_flushed_once(make_project: Callable[..., Project]) -> None:
    p = make_project()
    first = p.run()
    assert not first.noop and _runs(p) == [first.run_id]
    noop = p.run()
    assert noop.noop and outcomes(noop) == {"prepare": "cached", "train": "cached"}
    assert [f.stem for f in pending_runs(p.settings())] == [noop.run_id]
    assert _runs(p) == [first.run_id]  # not in the registry yet

    assert flush_runs(p.settings()) == 1
    assert pending_runs(p.settings()) == [] and flush_runs(p.settings()) == 0
    with Registry(settings=p.settings()) as reg:
        stored = reg.get_run(noop.run_id)
        assert [r.id for r in reg.runs()] == [noop.run_id, first.run_id]
        # the same record written again (a crash after inserting, before unlinking) is not inserted twice
        defer_run(p.settings(), stored.to_dict())
    assert flush_runs(p.settings()) == 0 and len(_runs(p)) == 2
    assert stored.params == first.params and stored.metrics == first.metrics and stored.cache_hits == 2


def test_the_next_real_run_flushes_the_deferred_ones_first(make_project: Callable[..., Project]) -> None:
    p = make_project()
    first, noop = p.run(), p.run()
    p.write("train.sh", "# changed\n")
    real = p.run()
    assert not real.noop and pending_runs(p.settings()) == []
    assert _runs(p) == [real.run_id, noop.run_id, first.run_id]


def test_a_damaged_deferred_run_is_set_aside(make_project: Callable[..., Project]) -> None:
    p = make_project()
    p.run()
    p.run()
    (bad,) = pending_runs(p.settings())
    bad.write_text("{not json")
    assert flush_runs(p.settings()) == 0
    assert pending_runs(p.settings()) == [] and bad.with_suffix(".damaged").exists()


def test_restoring_from_the_cache_is_not_a_noop(make_project: Callable[..., Project]) -> None:
    p = make_project()
    p.run()
    (p.root / "model.txt").unlink()
    result = p.run()
    assert not result.noop and result.stages[1].restored == 1 and pending_runs(p.settings()) == []


def _git(root: Path, *args: str) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env={"PATH": "/usr/bin:/bin", **env})


def test_git_head_reads_what_git_says(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    sub = root / "project"
    sub.mkdir(parents=True)
    assert git_head(sub) is None
    _git(root, "init", "-q", "-b", "work")
    assert git_head(sub) is None  # an unborn branch has no commit, as git_state says
    (sub / "a.txt").write_text("a")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "one")
    state = git_state(sub)
    assert state is not None
    assert git_head(sub) == {"commit": state["commit"], "branch": "work", "dirty": None}
    _git(root, "pack-refs", "--all")  # the branch now lives in packed-refs only
    assert not (root / ".git" / "refs" / "heads" / "work").exists()
    assert git_head(sub) == {"commit": state["commit"], "branch": "work", "dirty": None}
    _git(root, "checkout", "-q", "--detach")
    assert git_head(sub) == {"commit": state["commit"], "branch": "HEAD", "dirty": None}


def test_git_head_in_a_linked_worktree(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    (root / "a.txt").write_text("a")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "one")
    _git(root, "worktree", "add", "-q", "-b", "side", str(tmp_path / "wt"))
    head = git_head(tmp_path / "wt")
    assert head is not None and head["branch"] == "side"
    assert head["commit"] == (git_state(tmp_path / "wt") or {})["commit"]


@pytest.mark.parametrize("noop", [True, False])
def test_recording_a_noop_run_never_opens_the_registry(make_project: Callable[..., Project], noop: bool) -> None:
    p = make_project()
    p.run()
    # a registry URL that cannot be opened: only a run that must record at once would fail on it
    p.registry = "postgresql://nobody@127.0.0.1:1/none"
    if not noop:
        p.write("raw.txt", "changed\n")
        with pytest.raises(EnvironmentProblem, match=r"(?i)connect|refused|registry|database"):
            p.run()
    else:
        assert p.run().noop
