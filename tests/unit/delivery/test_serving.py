"""Real servers following a rollout: every replica takes its weight within one poll, an abort drops it to 0."""

from __future__ import annotations

import json
from typing import Any

import httpx

from mlgate.serve.app import VARIANT_HEADER, VERSION_HEADER
from tests.unit.serve.conftest import wait_for


def _variants(base: str, body: Any, n: int = 40) -> list[tuple[str, str]]:
    with httpx.Client(base_url=base) as http:
        out = []
        for _ in range(n):
            r = http.post("/predict", json=body)
            assert r.status_code == 200
            out.append((r.headers[VERSION_HEADER], r.headers[VARIANT_HEADER]))
        return out


def test_replicas_follow_the_rollout_weight_and_its_abort(start_server: Any, seeded: Any, seeded_registry: Any) -> None:
    body = json.loads(seeded.X.iloc[:2].to_json(orient="records"))
    replicas = [start_server(poll_s=0.2), start_server(poll_s=0.2)]
    assert all(_variants(s.base, body, 5) == [("bc:1", "primary")] * 5 for s in replicas)

    r = seeded_registry.start_rollout("bc", "production", 2, stable=1, steps=[25, 50], analysis="default", pause_s=0)
    for s in replicas:  # the candidate is loaded, then its weight applies
        wait_for(lambda s=s: s.app.state.canary.current is not None and s.holder.follower.split.weight == 0.25)
    for s in replicas:
        seen = _variants(s.base, body)
        assert seen.count(("bc:2", "canary")) == 10 and seen.count(("bc:1", "primary")) == 30

    r = seeded_registry.update_rollout(r, kind="step", step=1, weight=50.0)
    for s in replicas:
        wait_for(lambda s=s: s.holder.follower.split.weight == 0.5, timeout=2.0)

    seeded_registry.update_rollout(r, kind="abort", status="aborted", weight=0.0)
    for s in replicas:
        wait_for(lambda s=s: s.holder.follower.split.weight == 0.0, timeout=2.0)
        assert _variants(s.base, body, 20) == [("bc:1", "primary")] * 20
        assert s.app.state.canary.current is None


def test_a_promoted_canary_is_logged_as_promoted_not_as_dropped(
    start_server: Any, seeded: Any, seeded_registry: Any, capfd: Any
) -> None:
    server = start_server(poll_s=0.2, log_level="info")
    r = seeded_registry.start_rollout("bc", "production", 2, stable=1, steps=[25, 50], analysis="default", pause_s=0)
    wait_for(lambda: server.app.state.canary.current is not None)
    seeded_registry.set_alias("bc", "production", 2, reason="rollout promoted")
    seeded_registry.update_rollout(r, kind="promote", status="promoted", weight=100.0)
    wait_for(lambda: server.app.state.canary.current is None and server.holder.current.number == 2)
    err = capfd.readouterr().err
    assert "the rollout on bc@production promoted bc:2: it is now the primary; its canary copy stops serving" in err
    assert "no active rollout" not in err

    r = seeded_registry.start_rollout("bc", "production", 3, stable=2, steps=[25, 50], analysis="default", pause_s=0)
    wait_for(lambda: server.app.state.canary.current is not None)
    seeded_registry.update_rollout(r, kind="abort", status="aborted", weight=0.0)
    wait_for(lambda: server.app.state.canary.current is None)
    assert (
        "the rollout on bc@production ended without promoting bc:3 (aborted or stopped), the alias stays on bc:2; "
        "the canary bc:3 stops serving"
    ) in capfd.readouterr().err
