"""Rollouts on SQLite and PostgreSQL: one active per alias (the database says so), compare-and-set updates, events."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from mlgate.errors import ConflictError, NotFoundError, UsageError
from mlgate.registry.rollouts import check_steps
from tests.unit.registry.helpers import reg_version


@pytest.fixture
def two(registry, tmp_path):
    """fraud:1 on production, fraud:2 the candidate."""
    reg_version(registry, tmp_path, "one")
    reg_version(registry, tmp_path, "two")
    registry.set_alias("fraud", "production", 1)
    return registry


def start(reg, **kw):
    args = {"stable": 1, "steps": [5, 25, 50, 100], "analysis": "default", "pause_s": 600.0} | kw
    return reg.start_rollout("fraud", "production", 2, **args)


def test_start_records_the_first_step_and_an_event(two):
    r = start(two, gate_report="blake3:abc")
    assert (r.candidate, r.stable, r.status, r.step, r.weight) == (2, 1, "running", 0, 5.0)
    assert r.steps == (5.0, 25.0, 50.0, 100.0) and r.gate_report == "blake3:abc" and r.active
    assert two.rollout("fraud", "production") == r
    assert two.rollout_route("fraud", "production") == (2, two.get("fraud:2").digest, 0.05)
    [ev] = two.rollout_events(r)
    assert ev.kind == "start" and ev.detail["candidate"] == 2 and ev.actor == "tester"


def test_one_active_rollout_per_alias(two):
    first = start(two)
    with pytest.raises(UsageError, match=rf"fraud@production already has an active rollout \(#{first.id}"):
        start(two)
    assert len(two.rollouts("fraud")) == 1


def test_the_database_itself_refuses_a_second_active_rollout(two):
    """The partial unique index, not only the check before the insert, holds the rule."""
    from mlgate.registry.tables import rollouts

    r = start(two)
    row = {c: v for c, v in two.engine.connect().execute(sa.select(rollouts)).one()._mapping.items() if c != "id"}
    with pytest.raises(sa.exc.IntegrityError), two.engine.begin() as conn:
        conn.execute(sa.insert(rollouts).values(**row))
    two.update_rollout(r, kind="abort", status="aborted", weight=0.0)
    with two.engine.begin() as conn:  # an ended rollout no longer holds the alias
        conn.execute(sa.insert(rollouts).values(**row))


def test_racing_starts_leave_one_rollout(two):
    outcomes: list[str] = []

    def go() -> None:
        try:
            start(two)
            outcomes.append("ok")
        except UsageError:
            outcomes.append("refused")

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "refused", "refused", "refused"]


def test_start_compares_the_stable_version(two):
    with pytest.raises(ConflictError, match="now points to fraud:1, not fraud:2"):
        two.start_rollout("fraud", "production", 2, stable=2, steps=[50], analysis="default", pause_s=0)
    with pytest.raises(NotFoundError, match="fraud:9 does not exist"):
        two.start_rollout("fraud", "production", 9, stable=1, steps=[50], analysis="default", pause_s=0)
    assert two.rollouts("fraud") == []


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "at least one step"),
        ([5, 5, 100], r"steps must increase: step 2 \(5%\) is not above step 1 \(5%\)"),
        ([50, 25], "steps must increase"),
        ([0, 50], "step 1 is 0%"),
        ([5, 150], "step 2 is 150%"),
    ],
)
def test_bad_steps_are_refused(two, steps, message):
    with pytest.raises(UsageError, match=message):
        start(two, steps=steps)
    assert two.rollouts("fraud") == []
    with pytest.raises(UsageError, match=message):
        check_steps(steps)


def test_updates_compare_and_set_the_revision(two):
    r = start(two)
    moved = two.update_rollout(r, kind="step", step=1, weight=25.0, detail={"why": "analysis passed"})
    assert (moved.step, moved.weight, moved.revision) == (1, 25.0, r.revision + 1)
    with pytest.raises(ConflictError, match="changed while this change was made"):
        two.update_rollout(r, kind="pause", status="paused")  # a stale read loses
    paused = two.update_rollout(moved, kind="pause", status="paused")
    assert two.rollout_route("fraud", "production") == (2, two.get("fraud:2").digest, 0.25)  # paused holds its weight
    ended = two.update_rollout(paused, kind="abort", status="aborted", weight=0.0)
    assert not ended.active and two.rollout_route("fraud", "production") is None
    with pytest.raises(UsageError, match="is aborted already"):
        two.update_rollout(ended, kind="resume", status="running")
    assert [e.kind for e in two.rollout_events(r)] == ["start", "step", "pause", "abort"]
    assert two.rollout("fraud", "production") == ended  # the latest, once none is active
    with pytest.raises(NotFoundError, match="has no active rollout"):
        two.rollout("fraud", "production", active_only=True)


def test_no_rollout(two):
    assert two.rollout_route("fraud", "production") is None
    with pytest.raises(NotFoundError, match="fraud@production has no rollout"):
        two.rollout("fraud", "production")
