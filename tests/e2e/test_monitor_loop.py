"""The monitor loop closed, under load: a version that starts failing is alerted and rolled back.

A real `mlgate serve` process follows bc@production with the prediction log on, sender threads post
requests without pause, and `mlgate monitor bc@production --follow` (2-second windows, a rule that
holds for 2 of them, passes every second) judges the log. A faulty bc:2 is promoted through its gate;
the monitor must alert a real webhook (signature verified), roll the alias back by compare-and-set with
the report's digest as the alias event's evidence, once, and the server must swap bc:1 back in, with no
request failed but those the faulty version failed itself. The loop is `tests/e2e/monitor_loop.py`,
shared with `benchmarks/monitor_loop.py`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from mlgate.monitor.rules import stamp
from tests.e2e.monitor_loop import FAULTS, RULES, run_loop

pytestmark = [
    pytest.mark.slow,  # a server, a monitor and a promotion, each its own process: about a minute per case
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore:.*ran code stored in its artifact:RuntimeWarning"),
]


@pytest.mark.parametrize("fault", FAULTS)
def test_a_failing_version_is_alerted_and_rolled_back_under_load(
    tmp_path: Path, breast_cancer: Any, fault: str
) -> None:
    X, y = breast_cancer
    r = run_loop(tmp_path / "project", fault, X, y, then_refuse=fault == "nan")

    # the alert reached the webhook, signed, naming the rule, the faulty version and the evidence
    alert = r.first_alert
    assert alert is not None, r.hook.received
    body = alert["body"]
    assert (body["rule"], body["condition"], body["severity"]) == (f"{fault} fault", RULES[fault], "critical")
    assert (body["subject"], body["version"], body["actions"]) == ("bc@production", "bc:2", ["rollback"])
    assert all(req["verified"] for req in r.hook.received)

    # one rollback, by compare-and-set from bc:2 to bc:1, with the monitor report's digest as evidence
    rollbacks = [e for e in r.alias_events if e.kind == "rollback"]
    assert len(rollbacks) == 1, r.alias_events
    back = rollbacks[0]
    assert (back.from_number, back.to_number, back.gate_report) == (2, 1, body["evidence"])
    assert back.reason.startswith(f"monitor: {fault} fault: {RULES[fault]} held for 2 window(s)")
    done = [e for e in r.monitor_events if e.action == "rollback" and e.status == "done"]
    assert [(e.evidence, e.detail) for e in done] == [(body["evidence"], "bc@production: bc:2 → bc:1")]
    # fired on the rule's windows: the window that fired ends at most `for` whole windows after the one
    # the promotion fell in (a window judged from the log, not a wall-clock timing)
    fired_end = dt.datetime.strptime(body["window"]["end"], "%Y-%m-%dT%H:%M:%S%z")
    assert fired_end.timestamp() - r.fault_at <= (r.windows + 1) * r.window_s, (body["window"], r.fault_at)
    assert f"in a row up to {stamp(fired_end)} " in back.reason  # to the second, with 2-second windows

    # the server swapped bc:1 back in: what it answered after the rollback (and a poll) was bc:1's
    assert r.rollback_at is not None
    after = [s.version for s in r.sent if s.at > r.rollback_at + 1.0 and s.at < _refusal_started(r)]
    assert after and set(after) == {"bc:1"}, sorted(set(after))

    # no request failed but those the faulty version answered itself: NaN outputs are its 500s
    failed = r.failed_by()
    assert failed["other"] == 0, [s for s in r.failed if s.version not in r.faulty][:5]
    if fault == "nan":
        assert failed["faulty version"] > 0 and {s.status for s in r.failed} == {500}
    else:
        assert failed["faulty version"] == 0
    assert not any(s.nan for s in r.sent)  # no 200 carried a NaN as a null

    if fault in ("nan", "slow"):  # bc:1's clean windows resolve the rule, and the webhook hears it
        resolved = r.hook.alerts("resolved")
        assert resolved and resolved[0]["body"]["version"] == "bc:1"
    else:  # the upstream shift stays: the rule stays open on bc:1, and nothing is rolled back again
        assert not r.hook.alerts("resolved")
        assert [e.status for e in r.monitor_events if e.action == "rollback"] == ["done"]

    if fault == "nan":
        # a person put bc:2 back and released bc:3 (NaN outputs too) on top: the monitor fires on bc:3
        # and refuses to roll back onto bc:2, which monitor evidence already rolled back
        assert r.refused_rollback is not None
        assert "was itself rolled back from production on monitor evidence" in r.refused_rollback.detail
        assert r.alias_events[-1].to_number == 3 and len(rollbacks) == 1


def _refusal_started(r: Any) -> float:
    """When the follow-up of ``then_refuse`` moved the alias again (or never)."""
    later = [e.created_at.timestamp() for e in r.alias_events if e.to_number in (2, 3) and e.kind != "rollback"]
    later = [t for t in later if r.rollback_at is not None and t > r.rollback_at]
    return min(later, default=float("inf"))
