"""Faulty canaries, and a healthy one, on two real `mlgate serve` replicas under load (issue 17, parts 3 and 6).

Each test rolls one candidate out with ``mlgate rollout start`` and ``mlgate rollout run --follow`` while a
load generator sends random 5-row requests to both replicas (:mod:`tests.e2e.rollout_harness`). The four
faults of the issue: a canary failing 5% of its requests, one returning NaN for a slice of the rows, one
twice as slow as the stable, one whose predictions are shifted by about half a standard deviation
(:mod:`tests.e2e.rollout_models`). Each is aborted on its first step's analysis (how many
intervals that took is the benchmark's figure: ``benchmarks/delivery.py --section e2e``), the abort alert
reaches a real webhook receiver with the analysis as its evidence, both replicas stop routing to it
within about a poll, the alias stays on the stable version, and every failed request is one the canary
itself failed before it stopped. A healthy canary is promoted with no failed request.

The replicas, the receiver and the project are shared by the module's tests (starting two servers costs
more than a rollout); each test moves the log aside and rolls out a new version.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.rollout_harness import FAILS, SCHEDULER_SLACK_S, RolloutRun, Stage

pytestmark = [
    pytest.mark.slow,  # two spawned servers import the stack, then a rollout of 10 to 40 s each
    pytest.mark.filterwarnings("ignore:.*ran code stored in its artifact:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory, breast_cancer: Any) -> Iterator[Stage]:
    with Stage(tmp_path_factory.mktemp("rollouts"), breast_cancer) as s:
        yield s


def _explain(run: RolloutRun) -> str:
    return f"{run.figures()}\ncontroller:\n{run.output}\nevents: {[(e['kind'], e['at']) for e in run.events]}"


@pytest.mark.parametrize("mode", ["flaky", "nan", "slow", "shifted"])
def test_a_faulty_canary_is_aborted_on_its_first_step_failing_nothing_else(stage: Stage, mode: str) -> None:
    run = stage.rollout(mode)
    why = _explain(run)
    stable = f"bc:{run.rollout['stable']}"

    # the controller aborted on the analysis, and the metric the fault moves is the one that failed
    assert run.code == 1, why
    assert f"aborted {run.candidate} on bc@production: analysis failed" in run.output, why
    abort = run.event("abort")
    assert abort is not None and abort["weight"] == 0.0, why
    failed_metrics = {m["name"] for m in abort["detail"]["metrics"] if m["decision"] == "fail"}
    assert FAILS[mode] in failed_metrics, why
    assert (run.rollout["status"], run.rollout["weight"]) == ("aborted", 0.0)
    assert run.holder == run.rollout["stable"], "the alias left the stable version"

    # on the first step's evidence: the canary never advanced (how many intervals it took is the
    # benchmark's figure, `benchmarks/delivery.py --section e2e`, not a timing assertion here)
    assert run.event("step") is None and run.abort_intervals is not None, why

    # both replicas stopped routing to it within a poll (plus one for the poll's own read), and kept serving
    assert run.abort_at is not None
    for replica in range(2):
        last = run.last_canary_at(replica)
        assert last is not None, f"replica {replica} never routed to the canary: {why}"
        late = last - run.abort_at
        stop = 2 * run.poll + SCHEDULER_SLACK_S
        assert late <= stop, f"replica {replica} routed to the canary {late:.2f} s after the abort"
        after = {s.version for s in run.sent if s.replica == replica and s.at > run.abort_at + stop}
        assert after == {stable}, f"replica {replica} after the abort: {after}"

    # the only failed requests (and NaN answers) are the canary's own, before it stopped serving
    beyond = [(s.version, s.variant, s.status, s.failure) for s in run.failed_beyond_canary]
    assert beyond == [], beyond
    assert all(s.version == run.candidate and s.variant == "canary" for s in run.bad_answers)
    if mode in ("flaky", "nan"):  # a NaN is a 500 now, or a null prediction: the canary's either way
        assert run.failed or run.bad_answers, why
    else:
        assert run.failed == [], why

    # the abort alert reached the receiver, signed, with the analysis as its evidence
    assert len(run.alerts) == 1, run.alerts
    body = run.alerts[0]["body"]
    assert (body["status"], body["subject"], body["version"]) == ("firing", "bc@production", run.candidate)
    assert run.evidence is not None and run.evidence["analysis"]["decision"] == "fail"
    assert FAILS[mode] in {m["name"] for m in run.evidence["analysis"]["metrics"] if m["decision"] == "fail"}
    sent = run.event("alert")
    assert sent is not None and [d["delivered"] for d in sent["detail"]["deliveries"]] == [True]


def test_a_healthy_canary_on_two_replicas_is_promoted_failing_nothing(stage: Stage) -> None:
    run = stage.rollout("healthy")
    why = _explain(run)
    assert run.code == 0, why
    assert f"promoted {run.candidate} to bc@production" in run.output, why
    promote = run.event("promote")
    assert promote is not None and promote["detail"]["evidence"], why
    assert f"bc:{run.holder}" == run.candidate
    assert run.failed == [] and run.bad_answers == [], [s.failure for s in run.failed][:3]
    assert run.alerts == []
    for replica in range(2):  # each replica serves the candidate as its primary once the alias moved
        assert any(s.replica == replica and s.version == run.candidate and s.variant == "primary" for s in run.sent)
