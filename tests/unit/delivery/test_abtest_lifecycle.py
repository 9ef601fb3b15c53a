"""``mlgate abtest start|status|stop`` on a real registry (SQLite and PostgreSQL): the record, its checks, what
the rollout controller leaves alone, and the migration that gave rollouts a kind (0007) over existing rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlgate.cli import main


@pytest.fixture
def cli(project: Any, registry_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Any:
    monkeypatch.setenv("MLGATE_REGISTRY", registry_url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setenv("COLUMNS", "200")
    (project.root / "logs").mkdir(exist_ok=True)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


START = ["abtest", "start", "bc:1", "bc:2", "--metric", "accuracy"]
PLAN = ["abtest", "plan", "--baseline", "0.9", "--mde", "0.02"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([*START, "--split", "0"], 2, "--split must be B's share in percent, strictly between 0 and 100; got 0"),
        ([*START, "--split", "100"], 2, "strictly between 0 and 100; got 100"),
        ([*START, "--split", "-5"], 2, "strictly between 0 and 100; got -5"),
        ([*START, "--split", "0.5"], 2, "--split is a percent: 0.5 would send 0.5% of the requests to B"),
        ([*START, "--split", "0.5"], 2, "did you mean 50? (--split 50)"),
        ([*PLAN, "--split", "0.5"], 2, "did you mean 50? (--split 50)"),
        ([*PLAN, "--split", "150"], 2, "strictly between 0 and 100; got 150"),
        ([*PLAN, "--split", "nan"], 2, "strictly between 0 and 100; got nan"),
        (["abtest", "start", "bc:1", "bc:2", "--metric", "revenue"], 2, "--metric 'revenue' is not a metric"),
        (["abtest", "start", "bc:2", "bc:1", "--metric", "accuracy"], 2, "A must be the version bc@production serves"),
        (["abtest", "start", "bc:1", "bc:1", "--metric", "accuracy"], 2, "A and B are both bc:1"),
        (["abtest", "start", "bc:1", "other:2", "--metric", "accuracy"], 2, "versions of different models"),
        ([*START, "--mde", "0.02"], 2, "--mde needs --baseline"),
        ([*START, "--baseline", "0.9"], 2, "--baseline and --sd plan the test for an --mde"),
        ([*START, "--mde", "0.02", "--baseline", "1.5"], 2, "--baseline 1.5 is not within (0, 1)"),
        ([*START, "--max-rows", "0"], 2, "--max-rows must be a positive number of rows"),
        ([*START, "--deadline", "soon"], 2, "--deadline must be a duration"),
        ([*START, "--missing", "zero"], 2, "--missing zero counts unlabelled rows as 0"),
        ([*START, "--alias", "nope!"], 2, "nope!"),
        ([*START, "--alias", "staging"], 2, "bc@staging points to no version, so nothing serves A"),
        (["abtest", "start", "bc:1", "bc:3", "--metric", "accuracy"], 1, "bc:3 has no passing gate report"),
        (["abtest", "status", "bc@production"], 2, "bc@production has no A/B test"),
        (["abtest", "status", "bc@staging"], 2, "bc@staging does not exist (the aliases of bc: bc@production)"),
        (["abtest", "stop", "bc@production"], 2, "bc@production has no active A/B test"),
    ],
)
def test_bad_input_is_one_message_and_changes_nothing(
    cli: Any, project: Any, args: list[str], code: int, message: str
) -> None:
    got, _, err = cli(*args)
    assert got == code and message in err, err
    assert "Traceback" not in err
    assert project.reg.rollouts("bc") == []
    assert project.reg.aliases("bc")["production"] == 1


def test_start_plans_records_and_holds_the_alias(cli: Any, project: Any) -> None:
    code, out, err = cli(*START, "--split", "30", "--mde", "0.02", "--baseline", "0.9", "--max-rows", "50000")
    assert code == 0, err
    assert "started A/B test #1 on bc@production: A = bc:1, B = bc:2 (30% of requests), metric accuracy" in out
    from mlgate.delivery.abtest import plan

    p = plan(0.9, 0.02, split=0.3)
    assert f"{p.fixed} rows read once at the end, {p.sequential} rows with the sequential test" in out
    r = project.reg.rollout("bc", "production")
    assert (r.kind, r.status, r.weight, r.steps, r.analysis) == ("abtest", "running", 30.0, (30.0,), "abtest")
    assert r.spec is not None and r.spec["plan"]["sequential"] == p.sequential and r.spec["max_rows"] == 50000
    assert r.gate_report is not None  # B's passing report against A, as a rollout records it
    # what every server following the alias routes: B at 30%
    assert project.reg.rollout_route("bc", "production")[0::2] == (2, 0.3)

    # one rollout or A/B test per alias
    code, _, err = cli(*START)
    assert code == 2 and "already has an active A/B test (#1, of bc:2)" in err and "abtest stop" in err
    code, _, err = cli("rollout", "start", "bc:2")
    assert code == 2 and "already has an active rollout" in err
    # the rollout controller leaves it alone; promoting it as a rollout is refused
    code, out, _ = cli("rollout", "run", "bc@production")
    assert code == 0 and "is an A/B test at 30%" in out
    code, _, err = cli("rollout", "promote", "bc@production")
    assert code == 2 and "is an A/B test; it is promoted on its own report" in err
    assert project.reg.rollout("bc", "production").revision == r.revision

    # no traffic yet: too few rows, no mismatch, not over
    code, out, err = cli("abtest", "status", "bc@production", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["a"], doc["b"], doc["split"], doc["done"], doc["srm"]) == ("bc:1", "bc:2", 0.3, False, False)
    assert doc["overall"]["decision"] == "too_few" and doc["spec"]["metric"] == "accuracy"

    # promoting B without evidence is refused (exit 1), and nothing changes
    code, _, err = cli("abtest", "stop", "bc@production", "--promote", "B")
    assert code == 1 and "the A/B report does not support promoting bc:2: too_few" in err
    assert project.reg.rollout("bc", "production").status == "running"
    code, _, err = cli("abtest", "stop", "bc@production", "--promote", "bc:7")
    assert code == 2 and "--promote takes A or B (bc:1 or bc:2), got 'bc:7'" in err
    code, _, err = cli("abtest", "stop", "bc@production", "--promote", "B", "--force")
    assert code == 2 and "--force needs a --reason" in err

    # stop: the split drops to 0, the alias stays on A
    code, out, err = cli("abtest", "stop", "bc@production", "--reason", "enough")
    assert code == 0 and "stopped; bc@production stays on A (bc:1)" in out, err
    r = project.reg.rollout("bc", "production")
    assert (r.status, r.weight) == ("stopped", 0.0) and project.reg.rollout_route("bc", "production") is None
    assert project.reg.aliases("bc")["production"] == 1
    assert [e.kind for e in project.reg.rollout_events(r)] == ["start", "stop"]
    # a stopped test still reports, over its whole life; a rollout may start again
    assert cli("abtest", "report", "bc@production")[0] == 0
    assert cli("rollout", "start", "bc:2")[0] == 0


def test_a_forced_promotion_moves_the_alias_by_compare_and_set_with_the_report_as_evidence(
    cli: Any, project: Any
) -> None:
    assert cli(*START)[0] == 0
    code, out, err = cli("abtest", "stop", "bc@production", "--promote", "B", "--force", "--reason", "launch day")
    assert code == 0, err
    assert "promoted bc:2 to bc@production" in out and "forced: launch day" in out
    assert project.reg.aliases("bc")["production"] == 2
    r = project.reg.rollout("bc", "production")
    assert (r.status, r.weight) == ("promoted", 100.0)
    event = project.reg.history("bc", "production")[-1]
    assert (event.from_number, event.to_number, event.gate_report is not None) == (1, 2, True)
    digest = project.reg.rollout_events(r)[-1].detail["evidence"]
    assert digest in (event.reason or "") and "A/B test #1: too_few" in (event.reason or "")
    evidence = json.loads(project.reg.read_blob(digest))
    assert evidence["abtest"]["b"] == "bc:2" and evidence["events"][0]["kind"] == "start"


def test_the_migration_gives_existing_rollouts_their_kind(project: Any) -> None:
    """0006 → 0007 over a database that already holds a rollout: it reads back as a rollout, no spec."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from mlgate.registry import db

    reg = project.reg
    reg.start_rollout("bc", "production", 2, stable=1, steps=[10, 100], analysis="default", pause_s=0)
    engine = reg._access.engine
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
        conn.commit()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("rollouts")}
        assert "kind" not in columns and "spec" not in columns
    db.ensure_schema(engine)
    r = reg.rollout("bc", "production")
    assert (r.kind, r.spec, r.candidate, r.steps) == ("rollout", None, 2, (10.0, 100.0))
    # the partial unique index survived the round trip: a second active rollout is still refused
    from mlgate.errors import UsageError

    with pytest.raises(UsageError, match="already has an active rollout"):
        reg.start_rollout("bc", "production", 3, stable=1, steps=[10], analysis="default", pause_s=0, kind="abtest")
