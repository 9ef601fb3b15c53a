"""``mlgate promote`` and ``mlgate rollback``: a protected alias moves only through a gate or a recorded override."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.cli.conftest import Result

Cli = Callable[..., Result]


@pytest.fixture
def two_versions(cli: Cli, model_file: tuple[Path, Path], tmp_path: Path) -> Path:
    """bc:1 and bc:2 registered; mlgate.yaml gates production on accuracy >= 0.9. Returns the eval data."""
    path, data = model_file
    (tmp_path / "mlgate.yaml").write_text("data: {target: target}\ngates:\n  - {metric: accuracy, min: 0.9}\n")
    for _ in range(2):
        assert cli("model", "register", str(path), "--name", "bc", "--data", str(data)).code == 0
    return data


def _holder(cli: Cli, alias: str = "production") -> int | None:
    events = cli("model", "history", "bc", "--alias", alias, "--json").json()
    return events[-1]["to_number"] if events else None


def test_production_refuses_a_version_with_no_gate_report(cli: Cli, two_versions: Path) -> None:
    r = cli("promote", "bc:1", "--to", "production")
    assert r.code == 1
    assert "bc:1 has no gate report, and moving a protected alias needs a passing one" in r.err
    assert "mlgate promote bc:1 --to production --gate" in r.err  # the hint names the fix
    assert _holder(cli) is None


def test_gate_then_promote_in_one_step_records_the_report(cli: Cli, two_versions: Path) -> None:
    r = cli("promote", "bc:1", "--to", "production", "--gate", "--data", str(two_versions), "--json")
    assert r.code == 0, r.err
    event = r.json()
    assert (event["from_number"], event["to_number"], event["forced"]) == (None, 1, False)
    assert event["gate_report"].startswith("blake3:")
    assert _holder(cli) == 1


def test_a_failing_gate_leaves_production_where_it_was(cli: Cli, two_versions: Path, tmp_path: Path) -> None:
    (tmp_path / "mlgate.yaml").write_text("data: {target: target}\ngates:\n  - {metric: accuracy, min: 0.9999}\n")
    r = cli("promote", "bc:2", "--to", "production", "--gate", "--data", str(two_versions))
    assert r.code == 1
    assert "bc:2 did not pass the gate" in r.err and "accuracy >= 0.9999" in r.err
    assert _holder(cli) is None


def test_an_override_needs_a_reason_and_is_recorded_as_forced(cli: Cli, two_versions: Path) -> None:
    bare = cli("promote", "bc:1", "--to", "production", "--force")
    assert bare.code == 2 and "--force needs --reason" in bare.err
    r = cli("promote", "bc:1", "--to", "production", "--force", "--reason", "hotfix for incident 42")
    assert r.code == 0
    assert "promoted bc@production: nothing → bc:1 (1.0.0) (forced past the gate)" in r.out
    (event,) = cli("model", "history", "bc", "--alias", "production", "--json").json()
    assert (event["forced"], event["reason"]) == (True, "hotfix for incident 42")


def test_an_unprotected_alias_moves_by_any_reference_and_rolls_back(cli: Cli, two_versions: Path) -> None:
    assert cli("promote", "bc:1", "--to", "staging").code == 0
    r = cli("promote", "bc@staging", "--to", "canary")  # a reference through another alias
    assert r.code == 0 and "promoted bc@canary: nothing → bc:1" in r.out
    assert cli("promote", "bc:2", "--to", "staging", "--expect", "1").code == 0
    back = cli("rollback", "bc", "--alias", "staging", "--reason", "bad canary", "--json")
    assert back.code == 0
    assert (back.json()["from_number"], back.json()["to_number"], back.json()["kind"]) == (2, 1, "rollback")
    assert _holder(cli, "staging") == 1


def test_rollback_with_no_earlier_holder_says_what_to_do(cli: Cli, two_versions: Path) -> None:
    assert cli("promote", "bc:1", "--to", "staging").code == 0
    r = cli("rollback", "bc", "--alias", "staging")
    assert r.code == 2
    assert "bc@staging has had no other holder than bc:1, so there is nothing to roll back to" in r.err
    assert "mlgate promote bc:N --to staging" in r.err
