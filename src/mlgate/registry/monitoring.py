"""What the monitor's rules remember and what they did: rule state, the action log, evidence-bound rollbacks.

``monitor_rules`` keeps each rule's streak, whether it is open (fired, not yet resolved) and the last
window it judged, per monitored reference, so a restarted ``mlgate monitor --follow`` neither counts a
window twice nor alerts twice. ``monitor_events`` is the log of acts: every alert delivery (or failure),
resolve, rollback and retrain, unique per (subject, rule, action, target, evidence) so one report never
causes the same act twice. A rollback moves the alias by compare-and-set and records the monitor
report's digest as the alias event's evidence (its ``gate_report`` column: the report the move was
made on).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from mlgate.errors import CheckFailed, UsageError
from mlgate.refs import check_alias, check_name
from mlgate.registry.access import Access, now, utc
from mlgate.registry.aliases import history, set_alias
from mlgate.registry.rows import SMOKE_STATUS, model_id
from mlgate.registry.tables import gate_reports, monitor_events, monitor_rules, versions
from mlgate.registry.types import AliasEvent

ACTIONS = ("alert", "resolve", "rollback", "retrain")


@dataclass(frozen=True)
class RuleState:
    """One rule's memory for one monitored reference."""

    streak: int = 0
    open: bool = False
    last_window: datetime | None = None
    opened_at: datetime | None = None
    evidence: str | None = None


@dataclass(frozen=True)
class MonitorEvent:
    """One act of a rule: an alert delivery, a resolve, a rollback or a retrain, and how it went."""

    subject: str
    rule: str
    action: str
    target: str
    evidence: str
    status: str  # delivered, failed, done, refused
    attempts: int = 1
    detail: str | None = None
    actor: str = ""
    created_at: datetime | None = None
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d = asdict(self)
        d["created_at"] = None if self.created_at is None else self.created_at.isoformat()
        return d


def load_states(acc: Access, subject: str) -> dict[str, RuleState]:
    """``{rule name: state}`` for one monitored reference (empty the first time)."""
    with acc.read() as conn:
        rows = conn.execute(sa.select(monitor_rules).where(monitor_rules.c.subject == subject)).all()
    return {
        r.rule: RuleState(
            int(r.streak),
            bool(r.open),
            None if r.last_window is None else utc(r.last_window),
            None if r.opened_at is None else utc(r.opened_at),
            r.evidence,
        )
        for r in rows
    }


def save_states(acc: Access, subject: str, states: Mapping[str, RuleState]) -> None:
    """Write the rules' states of one reference in one transaction (rules no longer configured stay)."""
    when = now()
    with acc.write() as conn:
        for rule, st in states.items():
            values = {
                "streak": st.streak,
                "open": st.open,
                "last_window": st.last_window,
                "opened_at": st.opened_at,
                "evidence": st.evidence,
                "updated_at": when,
            }
            where = (monitor_rules.c.subject == subject) & (monitor_rules.c.rule == rule)
            if conn.execute(sa.update(monitor_rules).where(where).values(**values)).rowcount == 0:
                conn.execute(sa.insert(monitor_rules).values(subject=subject, rule=rule, **values))


def record_event(acc: Access, event: MonitorEvent) -> MonitorEvent | None:
    """Append one act to the log; None when this act on this evidence is logged already."""
    if event.action not in ACTIONS:
        raise UsageError(f"monitor action must be one of {', '.join(ACTIONS)}, got {event.action!r}")
    when = now()
    try:
        with acc.write() as conn:
            if _logged(conn, event):
                return None
            eid = conn.execute(
                sa.insert(monitor_events)
                .values(
                    subject=event.subject,
                    rule=event.rule,
                    action=event.action,
                    target=event.target,
                    evidence=event.evidence,
                    status=event.status,
                    attempts=event.attempts,
                    detail=event.detail,
                    actor=acc.actor,
                    created_at=when,
                )
                .returning(monitor_events.c.id)
            ).scalar_one()
    except sa.exc.IntegrityError:  # a second process logged the same act first
        return None
    return MonitorEvent(
        event.subject,
        event.rule,
        event.action,
        event.target,
        event.evidence,
        event.status,
        event.attempts,
        event.detail,
        acc.actor,
        when,
        int(eid),
    )


def _logged(conn: sa.Connection, e: MonitorEvent) -> bool:
    c = monitor_events.c
    q = sa.select(c.id).where(
        c.subject == e.subject, c.rule == e.rule, c.action == e.action, c.target == e.target, c.evidence == e.evidence
    )
    return conn.execute(q.limit(1)).first() is not None


def list_events(acc: Access, subject: str | None = None, *, limit: int = 100) -> list[MonitorEvent]:
    """The latest acts (of one reference, or all), newest first."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise UsageError(f"the number of monitor events to list must be a whole number of at least 1, got {limit!r}")
    q = sa.select(monitor_events).order_by(monitor_events.c.id.desc()).limit(min(limit, 2**62))
    if subject is not None:
        q = q.where(monitor_events.c.subject == subject)
    with acc.read() as conn:
        rows = conn.execute(q).all()
    return [
        MonitorEvent(
            r.subject,
            r.rule,
            r.action,
            r.target,
            r.evidence,
            r.status,
            int(r.attempts),
            r.detail,
            r.actor,
            utc(r.created_at),
            int(r.id),
        )
        for r in rows
    ]


def rollback_on_evidence(acc: Access, name: str, alias: str, *, expect: int, evidence: str, reason: str) -> AliasEvent:
    """Move ``alias`` from ``expect`` back to its previous holder, recording ``evidence`` on the alias event.

    Refused (CheckFailed) when a rollback of this alias was already made on the same evidence, when the
    alias has no earlier holder, and when the previous holder failed its own checks: its newest gate
    report failed, it is a smoke version, or an earlier evidence-bound rollback moved the alias away from
    it. The move is compare-and-set against ``expect`` (ConflictError when someone moved it first).
    """
    check_name(name)
    check_alias(alias)
    if not evidence:
        raise UsageError("a monitor rollback needs the digest of the report it acts on")
    events = history(acc, name, alias)
    if any(ev.kind == "rollback" and ev.gate_report == evidence for ev in events):
        raise CheckFailed(f"{name}@{alias} was already rolled back on the evidence {evidence}; not twice")
    target = _previous_holder(events)
    if target is None:
        raise CheckFailed(f"{name}@{alias} has no earlier holder to roll back to")
    why = _failed_checks(acc, name, alias, target, events)
    if why:
        raise CheckFailed(
            f"not rolling {name}@{alias} back to {name}:{target}: it {why}",
            hint=f"promote a version that passes its checks (`mlgate promote {name}:N --to {alias}`)",
        )
    return set_alias(acc, name, alias, target, expect=expect, reason=reason, gate_report=evidence, kind="rollback")


def _previous_holder(events: list[AliasEvent]) -> int | None:
    """The holder before the current one, undoing moves like a stack (the rule of ``aliases.rollback``)."""
    stack: list[int] = []
    for ev in events:
        if ev.kind == "rollback":
            if stack:
                stack.pop()
        elif ev.kind == "delete":
            stack.clear()
        elif ev.to_number is not None:
            stack.append(ev.to_number)
    return stack[-2] if len(stack) >= 2 else None


def _failed_checks(acc: Access, name: str, alias: str, number: int, events: list[AliasEvent]) -> str | None:
    """Why version ``number`` may not take the alias back, or None."""
    if any(ev.kind == "rollback" and ev.gate_report and ev.from_number == number for ev in events):
        return f"was itself rolled back from {alias} on monitor evidence"
    with acc.read() as conn:
        mid = model_id(conn, name)
        row = conn.execute(
            sa.select(versions.c.id, versions.c.status).where(versions.c.model_id == mid, versions.c.number == number)
        ).one()
        if row.status == SMOKE_STATUS:
            return "is a smoke version"
        passed = conn.execute(
            sa.select(gate_reports.c.passed)
            .where(gate_reports.c.version_id == row.id)
            .order_by(gate_reports.c.created_at.desc(), gate_reports.c.id.desc())
            .limit(1)
        ).scalar()
    if passed is not None and not passed:
        return "failed its newest gate report"
    return None


def evidence_rollbacks(acc: Access, name: str) -> list[AliasEvent]:
    """The alias events of ``name`` made on monitor evidence (rollbacks with a report digest)."""
    return [ev for ev in history(acc, name) if ev.kind == "rollback" and ev.gate_report]


__all__ = [
    "MonitorEvent",
    "RuleState",
    "evidence_rollbacks",
    "list_events",
    "load_states",
    "record_event",
    "rollback_on_evidence",
    "save_states",
]
