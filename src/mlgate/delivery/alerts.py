"""An aborted rollout alerts the webhooks of ``monitor.webhooks``, with the analysis stored as evidence.

The abort is recorded first and the alert goes after it: a webhook that is down, slow or refuses never
delays or undoes an abort. What each webhook answered is recorded as the rollout's ``alert`` event.
The body is the monitoring alert's (``mlgate.alert/1``, or Slack text), signed the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlgate.config import Settings
    from mlgate.delivery.analysis import AnalysisResult
    from mlgate.registry.rollouts import Rollout
    from mlgate.registry.store import Registry


def alert_abort(
    reg: Registry,
    settings: Settings,
    rollout: Rollout,
    result: AnalysisResult | None,
    why: str,
    environ: Mapping[str, str],
    *,
    attempts: int = 3,
) -> list[dict[str, Any]]:
    """Send one firing alert per webhook for an aborted rollout; returns (and records) how each went."""
    hooks = settings.monitor.webhooks
    if not hooks:
        return []
    from mlgate.monitor.alerts import Alert, deliver

    evidence = reg.put_blob(
        json.dumps(
            {"rollout": rollout.to_dict(), "analysis": result.to_dict() if result else None, "why": why},
            sort_keys=True,
        ).encode()
    )
    alert = Alert(
        status="firing",
        rule=f"rollout #{rollout.id} aborted",
        condition=why[:500],
        severity="critical",
        subject=f"{rollout.name}@{rollout.alias}",
        version=rollout.candidate_ref,
        value=float(result.canary_requests) if result else 0.0,
        windows=1,
        window_start=(result.since if result and result.since else rollout.created_at.isoformat()),
        window_end=(result.until if result and result.until else rollout.updated_at.isoformat()),
        evidence=evidence,
        actions=("abort",),
        summary=f"the rollout of {rollout.candidate_ref} was aborted; {rollout.name}@{rollout.alias} stays on "
        f"{rollout.stable_ref}",
    )
    sent = []
    for hook in hooks:
        secret = environ.get(hook.secret_env) if hook.secret_env else None
        if hook.secret_env and not secret:
            sent.append({"webhook": hook.name, "delivered": False, "detail": f"${hook.secret_env} is not set"})
            continue
        d = deliver(hook.name, hook.url, alert, fmt=hook.format, secret=secret, attempts=attempts, timeout=5.0)
        sent.append({"webhook": d.webhook, "delivered": d.delivered, "status": d.status, "detail": d.detail})
    reg.record_rollout_event(rollout, "alert", {"evidence": evidence, "deliveries": sent})
    return sent
