"""The controller on a real registry (SQLite and PostgreSQL) with real gate reports; synthetic traffic per tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from mlgate.delivery import rollout as ro
from mlgate.delivery.analysis import Arm
from mlgate.errors import CheckFailed, UsageError
from tests.unit.delivery.conftest import traffic


def observer(canary: dict[str, float] | None = None, n: int = 2000) -> Any:
    rng = np.random.default_rng(0)

    def observe(r: Any, since: datetime, until: datetime) -> tuple[Arm, Arm]:
        return traffic(rng, n, **(canary or {})), traffic(rng, 10 * n)

    return observe


def test_start_needs_a_passing_gate_report(project: Any) -> None:
    r = ro.start("bc:2", settings=project.settings, registry=project.reg)
    assert (r.candidate, r.stable, r.steps, r.weight, r.status) == (2, 1, (10.0, 50.0, 100.0), 10.0, "running")
    assert r.gate_report == project.reg.gate_reports("bc:2")[0].report_digest


@pytest.mark.parametrize(
    ("ref", "kwargs", "error", "message"),
    [
        ("bc:3", {}, CheckFailed, "bc:3 has no passing gate report for the current inputs"),
        ("bc:2", {"steps": [50, 25]}, UsageError, r"steps must increase: step 2 \(25%\) is not above step 1"),
        ("bc:2", {"steps": [5, 120]}, UsageError, "step 2 is 120%"),
        ("bc:2", {"steps": [100]}, UsageError, "the first step is 100%"),
        ("bc:2", {"analysis": "nope"}, UsageError, "unknown analysis 'nope': mlgate.yaml defines default, strict"),
        ("bc:1", {}, UsageError, "bc@production already points to bc:1"),
        ("bc:2", {"alias": "staging"}, UsageError, "bc@staging points to no version yet"),
    ],
)
def test_bad_starts_change_nothing(project: Any, ref: str, kwargs: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        ro.start(ref, settings=project.settings, registry=project.reg, **kwargs)
    assert project.reg.rollouts("bc") == []


def test_two_rollouts_on_one_alias_are_refused(project: Any) -> None:
    first = ro.start("bc:2", settings=project.settings, registry=project.reg)
    with pytest.raises(UsageError, match=rf"already has an active rollout \(#{first.id}, of bc:2\)"):
        ro.start("bc:2", settings=project.settings, registry=project.reg)
    assert len(project.reg.rollouts("bc")) == 1


def test_a_healthy_canary_steps_up_and_is_promoted_through_the_gate(project: Any) -> None:
    reg = project.reg
    ro.start("bc:2", settings=project.settings, registry=reg)
    kw = {"settings": project.settings, "registry": reg, "observe": observer()}
    first = ro.step("bc@production", **kw)
    assert first.action == "advance" and first.rollout.weight == 50.0
    second = ro.step("bc@production", **kw)
    assert second.action == "promote" and second.rollout.status == "promoted" and second.rollout.weight == 100.0
    assert reg.aliases("bc")["production"] == 2
    event = reg.history("bc", "production")[-1]
    assert event.gate_report == reg.gate_reports("bc:2")[0].report_digest  # the promotion rule held
    assert f"rollout #{second.rollout.id}: analysis passed" in event.reason and "(analysis blake3:" in event.reason
    evidence = event.reason.rsplit("(analysis ", 1)[1].rstrip(")")
    assert b'"decision": "pass"' in reg.read_blob(evidence)
    assert [e.kind for e in reg.rollout_events(second.rollout)] == ["start", "step", "promote"]
    assert ro.step("bc@production", **kw).action == "done"


def test_a_failing_analysis_aborts_at_once_with_weight_zero(project: Any) -> None:
    reg = project.reg
    ro.start("bc:2", settings=project.settings, registry=reg, pause_s=3600)
    out = ro.step("bc@production", settings=project.settings, registry=reg, observe=observer({"errors": 0.05}))
    assert out.action == "abort" and "error rate" in out.message
    assert (out.rollout.status, out.rollout.weight) == ("aborted", 0.0)
    assert reg.aliases("bc")["production"] == 1 and reg.rollout_route("bc", "production") is None
    abort = reg.rollout_events(out.rollout)[-1]
    assert abort.kind == "abort" and abort.detail["decision"] == "fail" and abort.detail["metrics"]


def test_follow_starts_its_ticks_an_interval_apart_however_long_each_takes(
    project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a fake clock: ticks of 0.3 s and 1.5 s at a 1 s interval start at 0, 1 and 2.5 s (not 0, 1.3 and 3.8)."""
    from types import SimpleNamespace

    reg = project.reg
    ro.start("bc:2", settings=project.settings, registry=reg, pause_s=3600)
    clock = {"now": 100.0}
    starts: list[float] = []
    ticks = iter([(0.3, observer()), (1.5, observer()), (0.3, observer({"errors": 0.05}))])  # wait, wait, abort
    real_step = ro.step

    def timed_step(target: str, **kwargs: Any) -> Any:
        took, observe = next(ticks)
        starts.append(clock["now"])
        clock["now"] += took
        return real_step(target, observe=observe, **kwargs)

    def sleep(seconds: float) -> None:
        assert seconds >= 0
        clock["now"] += seconds

    monkeypatch.setattr(ro, "step", timed_step)
    monkeypatch.setattr(ro, "time", SimpleNamespace(monotonic=lambda: clock["now"], sleep=sleep))
    out = ro.follow("bc@production", interval_s=1.0, settings=project.settings, registry=reg)
    assert out.action == "abort"
    assert starts == pytest.approx([100.0, 101.0, 102.5])


def test_no_data_waits_then_aborts_at_the_deadline(project: Any) -> None:
    reg = project.reg
    r = ro.start("bc:2", settings=project.settings, registry=reg, analysis="strict")

    def nothing(r: Any, since: datetime, until: datetime) -> tuple[Arm, Arm]:
        return Arm.empty(), Arm.empty()

    kw = {"settings": project.settings, "registry": reg, "observe": nothing}
    waiting = ro.step("bc@production", now=r.step_started_at + timedelta(minutes=4), **kw)
    assert waiting.action == "wait" and waiting.message.startswith("no data")
    late = ro.step("bc@production", now=r.step_started_at + timedelta(minutes=6), **kw)
    assert late.action == "abort" and "still inconclusive at the deadline" in late.message
    assert reg.aliases("bc")["production"] == 1


def test_a_pause_holds_a_passing_step(project: Any) -> None:
    reg = project.reg
    r = ro.start("bc:2", settings=project.settings, registry=reg, pause_s=600)
    out = ro.step("bc@production", settings=project.settings, registry=reg, observe=observer())
    assert out.action == "wait" and "pause ends in" in out.message and out.rollout.weight == 10.0
    later = r.step_started_at + timedelta(seconds=601)
    out = ro.step("bc@production", settings=project.settings, registry=reg, observe=observer(), now=later)
    assert out.action == "advance"


def test_pause_resume_abort_by_hand(project: Any) -> None:
    kw = {"settings": project.settings, "registry": project.reg}
    ro.start("bc:2", **kw)
    assert ro.pause("bc@production", **kw).status == "paused"
    assert ro.step("bc@production", observe=observer({"errors": 0.5}), **kw).action == "paused"
    assert ro.resume("bc@production", **kw).status == "running"
    ended = ro.abort("bc@production", reason="wrong build", **kw)
    assert (ended.status, ended.weight) == ("aborted", 0.0)
    assert project.reg.rollout_events(ended)[-1].detail == {"reason": "wrong build"}
    with pytest.raises(Exception, match="has no active rollout"):
        ro.pause("bc@production", **kw)


def test_a_controller_killed_after_the_alias_moved_resumes(project: Any) -> None:
    """The alias moved, the rollout was not yet marked: the next controller only records the promotion."""
    from mlgate.promotion import promote

    reg = project.reg
    ro.start("bc:2", settings=project.settings, registry=reg, steps=[50])
    promote("bc:2", "production", settings=project.settings, registry=reg)  # what the dead controller did
    out = ro.step("bc@production", settings=project.settings, registry=reg, observe=observer())
    assert out.action == "promote" and out.rollout.status == "promoted"
    assert [e.kind for e in reg.history("bc", "production")].count("set") == 2  # no second move


def test_next_action_is_pure() -> None:
    from mlgate.delivery.analysis import AnalysisResult

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    ok = AnalysisResult("pass", "fine", "default", 500, 5000)
    assert ro.next_action((5, 50, 100), 0, t0, 60, 600, ok, t0 + timedelta(seconds=61))[0] == "advance"
    assert ro.next_action((5, 50, 100), 1, t0, 60, 600, ok, t0 + timedelta(seconds=61))[0] == "promote"
    assert ro.next_action((5, 50), 1, t0, 60, 600, ok, t0 + timedelta(seconds=61))[0] == "promote"
    wait = AnalysisResult("wait", "inconclusive: x", "default", 500, 5000)
    assert ro.next_action((5, 50), 0, t0, 60, 600, wait, t0 + timedelta(seconds=659))[0] == "wait"
    assert ro.next_action((5, 50), 0, t0, 60, 600, wait, t0 + timedelta(seconds=660))[0] == "abort"


def test_a_promotion_the_gate_now_refuses_leaves_the_rollout_at_its_last_step(project: Any) -> None:
    """The gate config changed mid-rollout: the report no longer binds, so the alias does not move."""
    from mlgate.config import load_settings

    reg = project.reg
    ro.start("bc:2", settings=project.settings, registry=reg, steps=[50])
    path = project.root / "mlgate.yaml"
    path.write_text(path.read_text().replace("min: 0.8", "min: 0.85"), encoding="utf-8")
    changed = load_settings(config=path)
    with pytest.raises(CheckFailed, match=r"the gates or waivers in mlgate\.yaml changed since the newest report"):
        ro.step("bc@production", settings=changed, registry=reg, observe=observer())
    left = reg.rollout("bc", "production")
    assert (left.status, left.weight) == ("running", 50.0) and reg.aliases("bc")["production"] == 1


def test_every_tick_stores_its_analysis_and_time_while_events_stay_change_only(project: Any) -> None:
    reg = project.reg
    r = ro.start("bc:2", settings=project.settings, registry=reg, pause_s=600)
    kw = {"settings": project.settings, "registry": reg}
    first = r.step_started_at + timedelta(seconds=10)
    before = ro.step("bc@production", now=first, observe=observer(), **kw).analysis
    later = r.step_started_at + timedelta(seconds=70)
    out = ro.step("bc@production", now=later, observe=observer({"slow": 1.02}), **kw)  # same verdict, new figures
    assert out.action == "wait" and out.analysis != before and out.analysis.reason == before.reason
    stored = reg.rollout("bc", "production").last_analysis
    assert stored["at"] == later.isoformat() and stored == {**out.analysis.to_dict(), "at": later.isoformat()}
    assert [e.kind for e in reg.rollout_events(r)] == ["start", "analysis"]  # the second tick said nothing new


@pytest.mark.parametrize("action", ["pause", "abort"])
def test_a_pause_or_abort_racing_a_controller_tick_reads_again_and_lands(
    project: Any, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    reg = project.reg
    kw = {"settings": project.settings, "registry": reg}
    r = ro.start("bc:2", pause_s=600, **kw)
    update = reg.update_rollout
    ticked: list[bool] = []

    def tick_first(stale: Any, **changes: Any) -> Any:
        if not ticked:  # a controller's tick lands between the person's read and write
            ticked.append(True)
            ro.step("bc@production", now=r.step_started_at + timedelta(seconds=10), observe=observer(), **kw)
        return update(stale, **changes)

    monkeypatch.setattr(reg, "update_rollout", tick_first)
    done = getattr(ro, action)("bc@production", **kw)
    assert ticked and done.status == {"pause": "paused", "abort": "aborted"}[action]
    assert [e.kind for e in reg.rollout_events(done)] == ["start", "analysis", action]
