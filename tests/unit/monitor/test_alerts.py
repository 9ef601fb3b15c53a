"""Alert webhooks against a real loopback receiver: signatures, replay refusal, retries, dedupe, resolve."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest

from mlgate.config import load_settings
from mlgate.errors import EnvironmentProblem
from mlgate.monitor import monitor
from mlgate.monitor.actions import Retry, apply_rules
from mlgate.monitor.alerts import Alert, body, deliver, sign, verify_signature
from tests.unit.monitor.webhook_receiver import SECRET, webhook_receiver

UTC = dt.UTC
H0 = dt.datetime(2024, 5, 1, 9, tzinfo=UTC)
FAST = Retry(attempts=3, backoff=0.01, max_backoff=0.05, timeout=5)
ALERT = Alert(
    "firing", "inputs drifted", "drift.share > 0.3", "critical", "bc@production", "bc:1", 0.5, 2,
    "2024-05-01T11:00:00Z", "2024-05-01T12:00:00Z", "blake3:" + "0" * 64, ("rollback",), "drifted",
)  # fmt: skip


def hour(n: int) -> dt.datetime:
    return H0 + dt.timedelta(hours=n)


def test_a_signature_verifies_only_for_the_same_bytes_secret_and_a_fresh_time() -> None:
    payload = body(ALERT, "json")
    ts = int(time.time())
    signature = sign(SECRET, payload, ts)
    assert signature.startswith("v1=") and verify_signature(SECRET, payload, str(ts), signature)
    assert not verify_signature(SECRET, payload.replace(b"0.5", b"0.6"), str(ts), signature)  # tampered
    assert not verify_signature("another secret", payload, str(ts), signature)
    assert not verify_signature(SECRET, payload, str(ts + 1), signature)  # the time is signed too
    # a captured request replayed six minutes later is refused
    assert not verify_signature(SECRET, payload, str(ts), signature, now=ts + 360)
    assert not verify_signature(SECRET, payload, "yesterday", signature)


def test_slack_format_is_text() -> None:
    import json

    doc = json.loads(body(ALERT, "slack"))
    assert list(doc) == ["text"]
    assert "bc@production (bc:1): inputs drifted" in doc["text"] and "held for 2 window(s)" in doc["text"]


def test_delivery_retries_5xx_and_429_with_the_same_delivery_id() -> None:
    with webhook_receiver([503, 429]) as rx:
        d = deliver("oncall", rx.url, ALERT, secret=SECRET, attempts=4, backoff=0.01)
    assert d.delivered and d.attempts == 3 and d.status == 200
    assert [r["status"] for r in rx.received] == [503, 429, 200]
    assert all(r["verified"] for r in rx.received)
    assert len({r["delivery"] for r in rx.received}) == 1 and len(rx.accepted) == 1


def test_delivery_stops_at_a_client_error_and_gives_up_after_its_attempts() -> None:
    with webhook_receiver([404]) as rx:
        d = deliver("oncall", rx.url, ALERT, secret=SECRET, attempts=4, backoff=0.01)
    assert not d.delivered and d.attempts == 1 and d.status == 404 and "not retried" in d.detail
    with webhook_receiver([500, 500, 500]) as rx:
        d = deliver("oncall", rx.url, ALERT, secret=SECRET, attempts=3, backoff=0.01)
    assert not d.delivered and d.attempts == 3 and "gave up after 3 attempts" in d.detail
    with webhook_receiver() as rx:
        d = deliver("oncall", rx.url, ALERT, secret="wrong", attempts=3, backoff=0.01)
    assert not d.delivered and d.status == 401 and len(rx.received) == 1  # the receiver refuses a bad signature
    dead = deliver("oncall", "http://127.0.0.1:9/hook", ALERT, attempts=2, backoff=0.01, timeout=2)
    assert not dead.delivered and dead.status is None and "unreachable" in dead.detail


def _config(tmp_path: Path, url: str, *, for_windows: int = 2) -> Any:
    (tmp_path / "mlgate.yaml").write_text(
        f"""\
monitor:
  webhooks:
    oncall: {{url: "{url}", secret_env: HOOK_SECRET}}
    chat: {{url: "{url}", format: slack, secret_env: HOOK_SECRET}}
  rules:
    - {{name: out of range, when: quality.violations > 0, for: {for_windows}, severity: critical, actions: [alert]}}
"""
    )
    return load_settings(cwd=tmp_path, environ={}).monitor


def test_rules_alert_once_while_the_condition_holds_then_resolve(monitored: Any, log_hour: Any, tmp_path: Path) -> None:
    folder = tmp_path / "log"
    broken = monitored.test.copy()
    broken["mean radius"] = broken["mean radius"] * 3
    reg = monitored.registry
    env = {"HOOK_SECRET": SECRET}
    with webhook_receiver([503]) as rx:  # the first delivery is retried once
        config = _config(tmp_path, rx.url)
        log_hour(folder, monitored.served, monitored.test, hour(0))
        for n in (1, 2, 3):
            log_hour(folder, monitored.served, broken, hour(n))
        report = monitor("bc@production", folder, until=hour(4), registry=reg)
        ev = apply_rules(report, config, registry=reg, until=hour(4), environ=env, retry=FAST)
        assert ev.firing == ["out of range"]
        ok = [r for r in rx.received if r["status"] == 200 and r["verified"]]
        assert len(ok) == 2 and len(rx.received) == 3  # one per webhook (JSON, Slack text), one 503 retried
        assert len(rx.accepted) == 1  # both carry the alert's one delivery id: a receiver keeps one
        doc = next(r["body"] for r in ok if "format" in r["body"])
        assert "held for 2 window(s)" in next(r["body"]["text"] for r in ok if "text" in r["body"])
        assert doc["format"] == "mlgate.alert/1" and doc["rule"] == "out of range" and doc["windows"] == 2
        assert doc["window"]["end"] == "2024-05-01T12:00:00Z" and doc["evidence"] == ev.evidence
        assert doc["version"] == "bc:1" and doc["severity"] == "critical"
        assert reg.read_blob(doc["evidence"])  # the evidence is the stored report
        # the condition still holds in hour 3 and again on a rerun: nothing more is sent
        sent = len(rx.received)
        again = apply_rules(
            monitor("bc@production", folder, until=hour(4), registry=reg),
            config,
            registry=reg,
            until=hour(4),
            environ=env,
            retry=FAST,
        )
        assert again.firing == ["out of range"] and again.events == [] and len(rx.received) == sent
        # a clean hour: the rule resolves, and each webhook hears it once
        log_hour(folder, monitored.served, monitored.test, hour(4))
        report = monitor("bc@production", folder, until=hour(5), registry=reg)
        done = apply_rules(report, config, registry=reg, until=hour(5), environ=env, retry=FAST)
        assert done.firing == []
        resolved = [r for r in rx.received[sent:] if r["status"] == 200]
        assert len(resolved) == 2 and all(r["verified"] for r in resolved)
        assert any(r["body"].get("status") == "resolved" for r in resolved)
        assert any("resolved" in r["body"].get("text", "") for r in resolved)
    log = reg.monitor_events("bc@production")
    assert sorted((e.action, e.target, e.status) for e in log) == [
        ("alert", "chat", "delivered"),
        ("alert", "oncall", "delivered"),
        ("resolve", "chat", "delivered"),
        ("resolve", "oncall", "delivered"),
    ]
    assert sum(e.attempts for e in log) == 5  # the 503 cost one webhook a second attempt


def test_a_failed_delivery_is_logged_and_a_missing_secret_is_exit_3(
    monitored: Any, log_hour: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "log"
    log_hour(folder, monitored.served, monitored.test, hour(0), status=500)
    config = _config(tmp_path, "http://127.0.0.1:9/hook", for_windows=1)
    report = monitor("bc@production", folder, until=hour(1), registry=monitored.registry)
    with pytest.raises(EnvironmentProblem, match=r"monitor.webhooks.oncall is signed with \$HOOK_SECRET") as info:
        apply_rules(report, config, registry=monitored.registry, until=hour(1), environ={})
    assert info.value.exit_code == 3
    (tmp_path / "mlgate.yaml").write_text(
        "monitor:\n  webhooks: {oncall: 'http://127.0.0.1:9/hook'}\n"
        "  rules:\n    - {when: errors.rate > 0.5, actions: [alert]}\n"
    )
    config = load_settings(cwd=tmp_path, environ={}).monitor
    ev = apply_rules(report, config, registry=monitored.registry, until=hour(1), environ={}, retry=FAST)
    (event,) = ev.events
    assert (event.action, event.status, event.attempts) == ("alert", "failed", 3) and "unreachable" in event.detail
    assert monitored.registry.monitor_events("bc@production")[0].status == "failed"


def test_the_cli_lists_the_delivery_log(
    monitored: Any, log_hour: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from mlgate.cli import main

    folder = tmp_path / "log"
    log_hour(folder, monitored.served, monitored.test, hour(0), status=500)
    monkeypatch.setenv("MLGATE_REGISTRY", monitored.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(monitored.artifacts))
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    assert main(["monitor", "bc@production", "--events"]) == 0
    assert "no monitor rule has acted on bc@production yet" in capsys.readouterr().out
    with webhook_receiver() as rx:
        _config(tmp_path, rx.url, for_windows=1)
        (tmp_path / "mlgate.yaml").write_text(
            (tmp_path / "mlgate.yaml").read_text().replace("quality.violations > 0", "errors.rate > 0.5")
        )
        assert main(["monitor", "bc@production", "--log", str(folder), "--until", "2024-05-01T10:00"]) == 1
    assert len(rx.accepted) == 1 and len(rx.received) == 2
    capsys.readouterr()
    assert main(["monitor", "bc@production", "--events", "--json"]) == 0
    acts = json.loads(capsys.readouterr().out)
    assert sorted((a["action"], a["target"], a["status"]) for a in acts) == [
        ("alert", "chat", "delivered"),
        ("alert", "oncall", "delivered"),
    ]
    assert main(["monitor", "bc@production", "--events"]) == 0
    assert "delivered" in capsys.readouterr().out


def test_an_alert_a_webhook_missed_is_sent_again_on_the_next_pass_while_the_rule_holds(
    monitored: Any, log_hour: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "log"
    reg = monitored.registry
    env = {"HOOK_SECRET": SECRET}
    (tmp_path / "mlgate.yaml").write_text(
        "monitor:\n  webhooks:\n    oncall: {url: URL, secret_env: HOOK_SECRET}\n"
        "  rules:\n    - {name: failing, when: errors.rate > 0.5, for: 1}\n"
    )
    with webhook_receiver([500, 500, 500]) as rx:  # down for the first pass's three attempts
        (tmp_path / "mlgate.yaml").write_text((tmp_path / "mlgate.yaml").read_text().replace("URL", rx.url))
        config = load_settings(cwd=tmp_path, environ={}).monitor
        log_hour(folder, monitored.served, monitored.test, hour(0), status=500)
        report = monitor("bc@production", folder, until=hour(1), registry=reg)
        first = apply_rules(report, config, registry=reg, until=hour(1), environ=env, retry=FAST)
        assert [(e.action, e.status, e.attempts) for e in first.events] == [("alert", "failed", 3)]
        # the next hour still fails: no new firing, but the missed alert goes out now
        log_hour(folder, monitored.served, monitored.test, hour(1), status=500)
        report = monitor("bc@production", folder, until=hour(2), registry=reg)
        second = apply_rules(report, config, registry=reg, until=hour(2), environ=env, retry=FAST)
        assert [(e.action, e.status) for e in second.events] == [("alert", "delivered")]
        assert len({r["delivery"] for r in rx.received}) == 1  # the same alert, by its delivery id
        assert rx.accepted[0]["body"]["window"]["end"] == "2024-05-01T10:00:00Z"
        log_hour(folder, monitored.served, monitored.test, hour(2), status=500)
        report = monitor("bc@production", folder, until=hour(3), registry=reg)
        third = apply_rules(report, config, registry=reg, until=hour(3), environ=env, retry=FAST)
        assert third.events == [] and len(rx.received) == 4 and third.firing == ["failing"]
