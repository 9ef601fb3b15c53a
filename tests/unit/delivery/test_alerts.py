"""An aborted rollout alerts monitor.webhooks (a real loopback receiver verifying the signature); a webhook
that is down is recorded and never undoes or delays the abort."""

from __future__ import annotations

from typing import Any

from mlgate.config import load_settings
from mlgate.delivery import rollout as ro
from tests.unit.delivery.test_rollout import observer
from tests.unit.monitor.webhook_receiver import SECRET, webhook_receiver


def _with_webhook(project: Any, url: str) -> Any:
    path = project.root / "mlgate.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + f"monitor:\n  webhooks:\n    oncall: {{url: {url}, secret_env: HOOK_SECRET}}\n")
    return load_settings(config=path)


def test_an_abort_alerts_the_webhooks_with_the_analysis_as_evidence(project: Any) -> None:
    with webhook_receiver() as rx:
        settings = _with_webhook(project, rx.url)
        ro.start("bc:2", settings=settings, registry=project.reg)
        out = ro.step(
            "bc@production",
            settings=settings,
            registry=project.reg,
            observe=observer({"errors": 0.05}),
            environ={"HOOK_SECRET": SECRET},
        )
    assert out.action == "abort"
    [got] = rx.accepted
    body = got["body"]
    assert body["format"] == "mlgate.alert/1" and body["status"] == "firing" and body["severity"] == "critical"
    assert (body["subject"], body["version"], body["actions"]) == ("bc@production", "bc:2", ["abort"])
    assert "error rate" in body["condition"]
    assert b'"decision": "fail"' in project.reg.read_blob(body["evidence"])
    event = project.reg.rollout_events(out.rollout)[-1]
    assert event.kind == "alert" and event.detail["deliveries"][0]["delivered"] is True


def test_a_webhook_that_fails_is_recorded_and_the_abort_stands(project: Any) -> None:
    with webhook_receiver([500, 500, 500]) as rx:
        settings = _with_webhook(project, rx.url)
        ro.start("bc:2", settings=settings, registry=project.reg)
        out = ro.step(
            "bc@production",
            settings=settings,
            registry=project.reg,
            observe=observer({"slow": 2.0}),
            environ={"HOOK_SECRET": SECRET},
        )
    assert (out.action, out.rollout.status, out.rollout.weight) == ("abort", "aborted", 0.0)
    assert len(rx.received) == 3 and rx.accepted == []
    [delivery] = project.reg.rollout_events(out.rollout)[-1].detail["deliveries"]
    assert (delivery["delivered"], delivery["status"]) == (False, 500)


def test_a_missing_secret_sends_nothing_unsigned(project: Any) -> None:
    with webhook_receiver() as rx:
        settings = _with_webhook(project, rx.url)
        ro.start("bc:2", settings=settings, registry=project.reg)
        out = ro.step(
            "bc@production", settings=settings, registry=project.reg, observe=observer({"slow": 2.0}), environ={}
        )
    assert out.rollout.status == "aborted" and rx.received == []
    [delivery] = project.reg.rollout_events(out.rollout)[-1].detail["deliveries"]
    assert delivery == {"webhook": "oncall", "delivered": False, "detail": "$HOOK_SECRET is not set"}
