"""Secrets never printed: a password planted in the registry URL appears in no output and no state file.

Real commands: ``main()`` in-process for the one-shot errors, real ``mlgate`` processes for the run lock.
"""

# ruff: noqa: F811 - tests take the imported fixtures as arguments
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlgate.redact import MASK, mask_url, redact, redact_argv
from tests.unit.cli.conftest import data_cli  # noqa: F401 - the CLI fixtures, shared

PLANTED = "Pl4nted-s3cret"


def _clean(*texts: str, secret: str = PLANTED) -> None:
    for text in texts:
        assert secret not in text, f"the password leaked: {text!r}"


def test_masking_by_shape() -> None:
    assert mask_url(f"postgresq://postgres:{PLANTED}@db:5432/x") == f"postgresq://postgres:{MASK}@db:5432/x"
    assert mask_url(f"postgresql+psycopg://u:{PLANTED}@x@h/db") == f"postgresql+psycopg://u:{MASK}@h/db"
    assert mask_url("postgresql://postgres@127.0.0.1:5432/postgres") == "postgresql://postgres@127.0.0.1:5432/postgres"
    assert mask_url("sqlite:////tmp/a:b@c/registry.db") == "sqlite:////tmp/a:b@c/registry.db"
    assert redact(f"host=db password={PLANTED} user=x") == f"host=db password={MASK} user=x"
    assert redact(f"GITHUB_TOKEN={PLANTED} mlgate ci") == f"GITHUB_TOKEN={MASK} mlgate ci"
    assert redact(f"https://h/x?token={PLANTED}&a=1") == f"https://h/x?token={MASK}&a=1"
    assert redact(f"the value {PLANTED} here", secrets=[PLANTED]) == f"the value {MASK} here"
    argv = [
        "--registry",
        f"postgresql://u:{PLANTED}@h/db",
        "ci",
        "--token",
        PLANTED,
        f"--api-key={PLANTED}",
        "--pr",
        "7",
    ]
    shown = redact_argv(argv)
    _clean(*shown)
    assert shown[-2:] == ["--pr", "7"] and shown[4] == MASK


@pytest.mark.parametrize(
    ("url", "code", "match"),
    [
        (f"postgresq://postgres:{PLANTED}@127.0.0.1:5432/postgres", 2, "has the unsupported scheme 'postgresq'"),
        (f"mysql://root:{PLANTED}@127.0.0.1/db", 2, "has the unsupported scheme 'mysql'"),
        (f"https://user:{PLANTED}@registry.example.com", 2, "a remote HTTP registry is not supported"),
        (f"postgresql:/postgres:{PLANTED}@127.0.0.1/postgres", 2, "is mistyped"),
        (f"postgresql//postgres:{PLANTED}@127.0.0.1/postgres", 2, "is mistyped"),
        (f"postgresql://postgres:{PLANTED}@127.0.0.1:1/postgres", 3, "cannot use the registry database"),
    ],
    ids=["typo-scheme", "other-scheme", "http", "one-slash", "no-colon", "unreachable"],
)
@pytest.mark.parametrize("command", [["model", "list"], ["ci", "--report", "r.md"], ["gc"]])
def test_no_command_prints_the_password(data_cli, url: str, code: int, match: str, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    Path("mlgate.yaml").write_text("project: p\nstages:\n  s:\n    cmd: echo x > x.txt\n    outs: [x.txt]\n")
    Path("params.yaml").write_text("x: 1\n")
    if command[0] == "ci":  # ci needs a commit to report on
        for git in (
            ["init", "-q"],
            ["add", "mlgate.yaml", "params.yaml"],
            ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "c"],
        ):
            subprocess.run(["git", *git], check=True)
    r = data_cli("--registry", url, *command)
    reports = "".join(p.read_text() for p in Path.cwd().rglob("*.md"))
    _clean(r.out, r.err, reports)
    assert r.code == code, r.err
    assert match in r.err + r.out + reports
    assert not Path("postgresql:").exists() and not Path("postgresql").exists()  # no file named after the URL


def test_the_password_in_mlgate_yaml_or_the_environment_is_masked_too(data_cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    Path("mlgate.yaml").write_text(f"registry: postgresq://postgres:{PLANTED}@127.0.0.1/db\n")
    r = data_cli("model", "list")
    assert r.code == 2 and "unsupported scheme" in r.err
    _clean(r.out, r.err)
    monkeypatch.setenv("MLGATE_REGISTRY", f"postgresql://postgres:{PLANTED}@127.0.0.1:1/db")
    r = data_cli("model", "list")
    assert r.code == 3 and f"postgres:{MASK}@127.0.0.1:1" in r.err
    _clean(r.out, r.err)


SLOW = """\
stages:
  slow:
    cmd:
      - echo partial > out.txt
      - touch started
      - while [ -e hold ]; do sleep 0.05; done
    outs: [out.txt]
"""


def test_a_waiting_run_and_the_lock_file_never_show_the_password(postgres_url: str, tmp_path: Path) -> None:
    # the server may need a real password (CI): then that one is the secret to look for
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(postgres_url)
    secret = params.get("password") or PLANTED
    host, port, db = params.get("host", "127.0.0.1"), params.get("port", 5432), params["dbname"]
    url = f"postgresql://{params.get('user', 'postgres')}:{secret}@{host}:{port}/{db}"
    root = tmp_path / "p"
    root.mkdir()
    (root / "mlgate.yaml").write_text(SLOW)
    (root / "hold").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLGATE_")}
    env["MLGATE_ACTOR"] = "tester"
    log = tmp_path / "first.txt"
    with open(log, "wb") as out:
        first = subprocess.Popen(
            [sys.executable, "-m", "mlgate", "--registry", url, "run"], cwd=root, env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 120
        while not (root / "started").exists():
            assert first.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the first run never started its stage"
            time.sleep(0.05)
        lock_file = root / ".mlgate" / "pipeline" / "run.lock"
        held = lock_file.read_text()
        assert f"postgres:{MASK}@" in held
        _clean(held, secret=secret)
        second = subprocess.run(
            [sys.executable, "-m", "mlgate", "--registry", url, "run", "--lock-timeout", "1"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 3, second.stderr
        assert "holds the project lock" in second.stderr and f"pid {first.pid}" in second.stderr
        _clean(second.stdout, second.stderr, secret=secret)
    finally:
        (root / "hold").unlink(missing_ok=True)
        assert first.wait(timeout=120) == 0, log.read_text()
    _clean(log.read_text(), lock_file.read_text(), secret=secret)
    for path in (root / ".mlgate").rglob("*"):
        if path.is_file() and path.suffix in (".log", ".json", ".jsonl", ".lock", ".yaml", ""):
            _clean(path.read_text(errors="replace"), secret=secret)


def test_a_token_in_the_git_remote_is_not_recorded_in_lineage(tmp_path: Path) -> None:
    from mlgate.lineage import git_state

    remote = f"https://gitlab-ci-token:{PLANTED}@gitlab.example.com/team/fraud.git"
    for args in (["init", "-q"], ["remote", "add", "origin", remote]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True)
    (tmp_path / "f.txt").write_text("x")
    subprocess.run(["git", "add", "f.txt"], cwd=tmp_path, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "c"], cwd=tmp_path, check=True)
    state = git_state(tmp_path)
    assert state is not None
    assert state["remote"] == f"https://gitlab-ci-token:{MASK}@gitlab.example.com/team/fraud.git"


def test_resolved_tokens_are_masked_in_any_text(tmp_path: Path) -> None:
    from mlgate.config import load_settings

    token = "glpat-" + PLANTED
    load_settings(cwd=tmp_path, environ={"GITLAB_TOKEN": token, "MLGATE_REGISTRY": f"postgresql://u:{PLANTED}x@h/db"})
    assert redact(f"HTTP 401 for token {token}") == f"HTTP 401 for token {MASK}"
    assert redact(f"auth failed with {PLANTED}x") == f"auth failed with {MASK}"


def test_a_failing_stage_that_prints_a_secret_shows_it_masked(data_cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    token = "glpat-" + PLANTED
    monkeypatch.setenv("GITLAB_TOKEN", token)
    Path("mlgate.yaml").write_text(
        'stages:\n  s:\n    cmd: echo "calling the API with $GITLAB_TOKEN" && exit 1\n    outs: [o.txt]\n'
    )
    r = data_cli("run")
    assert r.code == 1, r.err
    assert f"calling the API with {MASK}" in r.out + r.err
    _clean(r.out, r.err)


def test_masking_a_huge_line_takes_linear_time() -> None:
    # a stage's log tail may hold a megabyte on one line; a quadratic pattern took seconds per 10 kB
    for text in ("a" * 1_000_000, "a-" * 500_000, "password" * 100_000, f"x://u:{'p' * 1_000_000}"):
        started = time.monotonic()
        redact(text)
        assert time.monotonic() - started < 5


def test_the_settings_repr_keeps_no_password(tmp_path: Path) -> None:
    from mlgate.config import load_settings

    (tmp_path / "mlgate.yaml").write_text(f"registry: postgresql://u:{PLANTED}@h/db\n")
    settings = load_settings(cwd=tmp_path, environ={"GITHUB_TOKEN": "ghp_" + PLANTED})
    shown = repr(settings)
    assert shown.startswith("Settings(root=") and f"u:{MASK}@h/db" in shown
    _clean(shown)


def test_the_ci_report_masks_secrets_inside_any_step_message() -> None:
    from mlgate.ci.report import render
    from mlgate.ci.run import CiResult, Step
    from mlgate.redact import remember

    token = "ghp_" + PLANTED  # a token this process resolved, quoted back by some step's error text
    remember(token)
    result = CiResult(git={"commit": "0123456789abcdef", "branch": "feature"}, base="main")
    result.steps.append(Step("pipeline", "error", f"stage 'push' failed: https://x:{PLANTED}@host/repo.git", 3))
    result.steps.append(Step("comment", "error", f"the forge refused the token {token}", 3))
    result.notes.append(f"retry with password={PLANTED}")
    text = render(result)
    _clean(text)
    assert text.count(MASK) >= 3


def test_a_debug_traceback_masks_the_password(data_cli, capsys) -> None:  # type: ignore[no-untyped-def]
    from mlgate.cli import _print_traceback

    Path("mlgate.yaml").write_text("project: p\n")
    r = data_cli("--debug", "--registry", f"postgresql://postgres:{PLANTED}@127.0.0.1:1/postgres", "model", "list")
    assert r.code == 3 and "Traceback (most recent call last)" in r.err, r.err[-500:]
    _clean(r.out, r.err)
    try:  # a library's own exception text, which mlgate did not word, still reaches --debug masked
        raise RuntimeError(f"could not open postgresql://postgres:{PLANTED}@db/x")
    except RuntimeError:
        _print_traceback()
    err = capsys.readouterr().err
    assert "RuntimeError: could not open postgresql://postgres:***@db/x" in err
    _clean(err)
