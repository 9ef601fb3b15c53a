"""``mlgate run`` and ``mlgate status`` parsed without Typer: the same calls as Typer's, or Typer takes the line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgate.cli import debug_first, fastpath, main, pipeline_output
from tests.unit.pipeline.conftest import PARAMS, TWO_STAGES

# Mostly well-formed pieces, so that most lines are taken; odd ones mixed in, so that the edges are tried.
_GLOBAL_PLAIN = [["--debug"], ["--registry", "sqlite:///x.db"], ["--registry=sqlite:///y.db"], ["--artifacts", "a"]]
_GLOBAL_PLAIN += [["--config", "c.yaml"], ["--artifacts="]]
_GLOBAL_ODD = [["--version"], ["--bogus"], ["--registry"], ["--config", "--debug"]]
_PLAIN = [["train"], ["prepare"], ["--force"], ["-f"], ["--dry-run"], ["-n"], ["--jobs", "2"], ["-j", "3"]]
_PLAIN += [["--jobs=12"], ["--lock-timeout", "7"], ["--lock-timeout=2.5"], ["--lock-timeout", ".5"], ["--smoke"]]
_PLAIN += [["--executor", "ray"], ["--executor=local"], ["--executor="], ["--json"], [""], ["٣"], ["run"]]
_ODD = [["--jobs", "0"], ["--jobs", "x"], ["-j", "-1"], ["-j4"], ["-j=2"], ["--jobs="], ["--lock-timeout", "1e3"]]
_ODD += [["--jobs", "٣"], ["--executor"], ["--help"], ["--"], ["-fn"], ["--debug"], ["--registry", "r"], ["-"]]
_ODD += [["--force=1"], ["--lock-timeout", "-2"]]


def _pieces(plain: list[list[str]], odd: list[list[str]], max_size: int) -> st.SearchStrategy[list[str]]:
    piece = st.one_of(st.sampled_from(plain), st.sampled_from(plain), st.sampled_from(plain), st.sampled_from(odd))
    return st.lists(piece, max_size=max_size).map(lambda ps: [a for p in ps for a in p])


argv_strategy = st.builds(
    lambda pre, cmd, rest: [*pre, cmd, *rest],
    _pieces(_GLOBAL_PLAIN, _GLOBAL_ODD, 3),
    st.sampled_from(["run", "status", "run", "status", "runs", "gc"]),
    _pieces(_PLAIN, _ODD, 6),
)


def _calls(argv: list[str], *, typer_only: bool) -> tuple[int, list[Any]]:
    """Exit code and the (command, settings arguments, stages, options) the command was called with."""
    calls: list[Any] = []
    cfg: dict[str, Any] = {}

    def load_settings(**kw: Any) -> dict[str, Any]:
        cfg.clear()
        cfg.update(kw)
        return kw

    def record(name: str) -> Any:
        def command(settings: Any, stages: Any, **options: Any) -> int:
            calls.append((name, dict(settings), tuple(stages), options))
            return 0

        return command

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("mlgate.config.load_settings", load_settings)
        mp.setattr(pipeline_output, "run_command", record("run"))
        mp.setattr(pipeline_output, "status_command", record("status"))
        if typer_only:
            mp.setattr(fastpath, "dispatch", lambda args: None)
        code = main(list(argv))
    return code, calls


@given(argv_strategy)
def test_every_line_the_fast_path_takes_reaches_the_command_as_typer_would_pass_it(argv: list[str]) -> None:
    if fastpath.parse(debug_first(argv)) is None:  # main() moves a trailing --debug to the front first
        return  # Typer parses it: help, usage errors and their exit codes are Typer's own
    fast = _calls(argv, typer_only=False)
    assert fast[0] == 0 and len(fast[1]) == 1
    assert fast == _calls(argv, typer_only=True), argv


@pytest.mark.parametrize(
    "argv",
    [
        ["status"],
        ["run"],
        ["status", "--json", "train"],
        ["run", "-j", "2", "train", "--force", "--lock-timeout=30"],
        ["--registry", "sqlite:///r.db", "--debug", "--artifacts=arts", "run", "--smoke", "--executor", "ray"],
        ["run", "train", "--debug"],
        ["status", "--debug", "--json"],
    ],
)
def test_the_lines_ci_jobs_type_take_the_fast_path(argv: list[str]) -> None:
    assert fastpath.parse(debug_first(argv)) is not None
    assert _calls(argv, typer_only=False) == _calls(argv, typer_only=True)


@pytest.mark.parametrize(
    "argv", [["run", "--help"], ["run", "-fn"], ["run", "--jobs", "0"], ["status", "--force"], ["--version", "run"]]
)
def test_help_and_doubtful_lines_are_left_to_typer(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert fastpath.parse(argv) is None
    code, calls = _calls(argv, typer_only=False)
    if argv[-1] == "--help" or argv[0] == "--version":
        assert code == 0 and not calls and capsys.readouterr().out
    elif argv == ["run", "-fn"]:
        assert code == 0 and calls[0][3]["force"] and calls[0][3]["dry_run"]
    else:
        assert code == 2 and not calls


def test_a_noop_status_and_run_import_neither_typer_nor_rich(tmp_path: Path) -> None:
    """What keeps them fast: a fresh process, a real project, nothing heavier than YAML loaded."""
    (Path.cwd() / "mlgate.yaml").write_text(TWO_STAGES)
    (Path.cwd() / "params.yaml").write_text(PARAMS)
    (Path.cwd() / "raw.txt").write_text("hello\n")
    (Path.cwd() / "train.sh").write_text("#\n")
    env = {**os.environ, "MLGATE_REGISTRY": f"sqlite:///{tmp_path / 'r.db'}", "MLGATE_ARTIFACTS": str(tmp_path / "a")}
    probe = (
        "import sys; from mlgate.cli import main; code = main(sys.argv[1:]); "
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'click', 'rich', 'pydantic', 'numpy'}); "
        "print(code, ','.join(heavy) or '-', file=sys.stderr)"
    )

    def probe_run(*argv: str) -> str:
        proc = subprocess.run([sys.executable, "-c", probe, *argv], env=env, capture_output=True, text=True)
        return proc.stderr.strip().splitlines()[-1]

    assert probe_run("run").startswith("0 ")  # runs both stages: its table is Rich's
    assert probe_run("run") == "0 -"  # a no-op: kept in the project until the registry is next opened
    assert probe_run("status") == "0 -"
    assert probe_run("status", "--json") == "0 -"
