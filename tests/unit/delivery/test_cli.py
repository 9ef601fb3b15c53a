"""``mlgate rollout`` through ``main()``: one message and the documented exit code, nothing changed on bad input."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mlgate.cli import main


@pytest.fixture
def cli(project: Any, registry_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Any:
    monkeypatch.setenv("MLGATE_REGISTRY", registry_url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["rollout", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["start", "bc:3"], 1, "bc:3 has no passing gate report for the current inputs"),
        (["start", "bc:2", "--steps", "5,5"], 2, "steps must increase"),
        (["start", "bc:2", "--steps", "5,x"], 2, "--steps must be percentages separated by commas"),
        (["start", "bc:2", "--steps", "0,100"], 2, "step 1 is 0%"),
        (["start", "bc:2", "--analysis", "nope"], 2, "unknown analysis 'nope'"),
        (["start", "bc:2", "--pause", "soon"], 2, "--pause must be a duration"),
        (["status", "bc"], 2, "names no alias: a rollout is named by MODEL@ALIAS"),
        (["status", "bc@production"], 2, "bc@production has no rollout"),
        (["status", "bc@staging"], 2, "bc@staging does not exist (the aliases of bc: bc@production)"),
        (["pause", "bc@staging"], 2, "bc@staging does not exist"),
    ],
)
def test_bad_input_is_one_message_and_changes_nothing(
    cli: Any, project: Any, args: list[str], code: int, message: str
) -> None:
    got, _, err = cli(*args)
    assert got == code and message in err, err
    assert "Traceback" not in err
    assert project.reg.rollouts("bc") == []


def test_start_status_pause_resume_run_abort(cli: Any, project: Any) -> None:
    code, out, err = cli("start", "bc:2", "--steps", "5,50,100", "--pause", "10m", "--json")
    assert code == 0, err
    assert json.loads(out)["weight"] == 5.0 and json.loads(out)["pause_s"] == 600.0
    code, _, err = cli("start", "bc:2")
    assert code == 2 and "already has an active rollout" in err
    code, out, _ = cli("status", "bc@production")
    assert code == 0 and "bc:2 on bc@production (stable bc:1) — running" in out
    assert cli("pause", "bc@production")[0] == 0
    assert "paused" in cli("run", "bc@production")[1]
    assert cli("resume", "bc@production")[0] == 0
    code, out, _ = cli("run", "bc@production")  # the server has logged nothing: no data, so it waits
    assert code == 0 and out.startswith("wait no data")
    code, out, _ = cli("status", "bc@production")
    assert code == 0 and re.search(r"last analysis \d\d:\d\d:\d\d, \d+ s ago: wait — no data", out), out
    code, out, _ = cli("abort", "bc@production", "--reason", "by hand")
    assert code == 0 and "aborted" in out
    code, out, _ = cli("status", "bc@production", "--json")
    assert [e["kind"] for e in json.loads(out)["events"]] == ["start", "pause", "resume", "analysis", "abort"]
    assert json.loads(out)["events"][-1]["detail"] == {"reason": "by hand"}
    assert "abort" in cli("status", "bc@production")[1] and "by hand" in cli("status", "bc@production")[1]
    code, out, _ = cli("run", "bc@production", "--json")
    assert code == 1 and json.loads(out)["action"] == "done"
    assert project.reg.aliases("bc")["production"] == 1
