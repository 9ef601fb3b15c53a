"""``--debug`` works wherever it is typed on the line (before ``--``): the README says to add it."""

from __future__ import annotations

import pytest

from mlgate.cli import debug_first


@pytest.mark.parametrize(
    "argv",
    [
        ["--debug", "model", "show", "bc:9"],
        ["model", "show", "bc:9", "--debug"],
        ["model", "--debug", "show", "bc:9"],
    ],
    ids=["before", "after", "between"],
)
def test_debug_anywhere_shows_the_traceback_and_keeps_the_exit_code(cli, argv: list[str]) -> None:  # type: ignore[no-untyped-def]
    plain = cli("model", "show", "bc:9")
    assert plain.code == 2 and "Traceback" not in plain.err
    r = cli(*argv)
    assert r.code == 2, r.err
    assert "No such option" not in r.err
    assert "Traceback" in r.err and "model 'bc' is not registered" in r.err


def test_debug_on_a_successful_command_changes_nothing(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("model", "list", "--json", "--debug")
    assert r.code == 0 and r.json() == [] and r.err == ""


@pytest.mark.parametrize(
    ("argv", "moved"),
    [
        (["run", "train"], ["run", "train"]),
        (["run", "--debug", "train"], ["--debug", "run", "train"]),
        (["--debug", "status", "--debug"], ["--debug", "status"]),
        (["ci", "--", "--debug"], ["ci", "--", "--debug"]),
        (["ci", "--debug", "--", "x", "--debug"], ["--debug", "ci", "--", "x", "--debug"]),
    ],
)
def test_only_debug_before_a_separator_moves_to_the_front(argv: list[str], moved: list[str]) -> None:
    assert debug_first(argv) == moved
