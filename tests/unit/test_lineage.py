"""Lineage: git state of a real repository, params and data digests, the environment."""

from __future__ import annotations

import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest

from mlgate.errors import ConfigError, InputError, NotFoundError
from mlgate.hashing import digest_bytes, digest_json, digest_path
from mlgate.lineage import data_digests, effective_params, environment, git_state, lineage, load_params


def _git(root: Path, *args: str) -> str:
    cmd = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit on branch ``main``: train.py and data/train.csv."""
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    (root / "train.py").write_text("print('train')\n")
    (root / "data" / "train.csv").write_text("a,b\n1,2\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "first")
    return root


def test_a_clean_checkout_records_commit_and_branch(repo: Path) -> None:
    state = git_state(repo)
    assert state == {"commit": _git(repo, "rev-parse", "HEAD"), "branch": "main", "dirty": False}


def test_a_changed_tracked_file_is_dirty_with_a_digest_of_the_diff(repo: Path) -> None:
    (repo / "untracked.txt").write_text("not part of the state\n")
    assert git_state(repo)["dirty"] is False  # type: ignore[index]
    (repo / "train.py").write_text("print('train harder')\n")
    state = git_state(repo)
    assert state is not None and state["dirty"] is True
    assert state["diff_digest"] == digest_bytes((_git(repo, "diff", "HEAD") + "\n").encode())
    (repo / "train.py").write_text("print('train even harder')\n")
    assert git_state(repo)["diff_digest"] != state["diff_digest"]  # type: ignore[index]


def test_a_remote_token_is_masked(repo: Path) -> None:
    _git(repo, "remote", "add", "origin", "https://gitlab-ci-token:glcbt-SECRET123@gitlab.example.com/team/fraud.git")
    remote = git_state(repo)["remote"]  # type: ignore[index]
    assert "SECRET123" not in remote
    assert remote.startswith("https://gitlab-ci-token:") and remote.endswith("@gitlab.example.com/team/fraud.git")


def test_outside_a_repository_there_is_no_git_state(tmp_path: Path) -> None:
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    (lonely / ".git").write_text("gitdir: /nonexistent\n")  # stops git from finding an enclosing repository
    assert git_state(lonely) is None


def test_params_digest_depends_on_values_not_on_how_they_are_written(repo: Path) -> None:
    (repo / "params.yaml").write_text("train:\n  C: 0.5\n  max_iter: 100\n")
    (repo / "params.json").write_text('{"train": {"max_iter": 100, "C": 0.5}}')
    from_yaml = load_params("params.yaml", repo)
    assert from_yaml == ({"train": {"C": 0.5, "max_iter": 100}}, digest_json({"train": {"C": 0.5, "max_iter": 100}}))
    assert load_params(repo / "params.json", repo) == from_yaml
    assert load_params({"train": {"max_iter": 100, "C": 0.5}}, repo) == from_yaml
    assert load_params(None, repo) == (None, None)


def test_unusable_params_are_errors_naming_the_file(repo: Path) -> None:
    with pytest.raises(NotFoundError, match=r"params file .*missing\.yaml does not exist"):
        load_params("missing.yaml", repo)
    (repo / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"list\.yaml:1: the top level must be a mapping"):
        load_params("list.yaml", repo)  # YAML goes through the same checked reader as mlgate.yaml
    (repo / "list.json").write_text("[1, 2]")
    with pytest.raises(InputError, match=r"params file .*list\.json must hold a mapping"):
        load_params("list.json", repo)
    (repo / "broken.json").write_text("{not json")
    with pytest.raises(InputError, match=r"params file .*broken\.json cannot be parsed"):
        load_params("broken.json", repo)
    with pytest.raises(InputError, match="params must be JSON-serialisable"):
        load_params({"C": 1.0, 2: "mixed key types cannot be sorted"}, repo)


def test_data_digests_are_keyed_as_given_and_follow_the_content(repo: Path) -> None:
    digests = data_digests(["data/train.csv", repo / "data"], repo)
    assert digests == {
        "data/train.csv": digest_path(repo / "data" / "train.csv"),
        str(repo / "data"): digest_path(repo / "data"),
    }
    (repo / "data" / "train.csv").write_text("a,b\n1,3\n")
    assert data_digests("data/train.csv", repo)["data/train.csv"] != digests["data/train.csv"]
    assert data_digests(None, repo) == {}
    with pytest.raises(NotFoundError, match=r"data path .*nope\.csv does not exist"):
        data_digests("nope.csv", repo)


def test_environment_names_the_flavor_packages_by_any_spelling() -> None:
    env = environment(["scikit_learn", "NumPy", "not-installed-pkg"])
    assert env["packages"] == {
        "scikit_learn": version("scikit-learn"),
        "NumPy": version("numpy"),
        "not-installed-pkg": None,
    }
    assert env["distributions"]["scikit-learn"] == version("scikit-learn")
    assert list(env["distributions"]) == sorted(env["distributions"])


def test_a_smoke_run_records_the_merged_params_file(repo: Path) -> None:
    (repo / "params.yaml").write_text("C: 1.0\nsmoke:\n  C: 0.1\n")
    (repo / "smoke-params.yaml").write_text("C: 0.1\n")
    smoke_env = {"MLGATE_SMOKE": "1", "MLGATE_PARAMS_FILE": str(repo / "smoke-params.yaml")}
    assert effective_params("params.yaml", smoke_env) == repo / "smoke-params.yaml"
    assert effective_params({"C": 1.0}, smoke_env) == {"C": 1.0}  # what the script says it used is kept
    assert effective_params("params.yaml", {}) == "params.yaml"
    record = lineage(root=repo, data="data/train.csv", params="params.yaml", user="ana", stage_env=smoke_env)
    assert record["params"] == {"C": 0.1}
    assert record["smoke"] is True
    assert record["user"] == "ana"
    assert record["git"]["commit"] == _git(repo, "rev-parse", "HEAD")
    assert set(record["data"]) == {"data/train.csv"}
    assert "smoke" not in lineage(root=repo, params="params.yaml")
