"""Rollouts: the state of a progressive delivery, kept in the registry so every replica and controller reads one truth.

A rollout moves a candidate towards an alias in steps of canary weight (percent). Its row holds the
candidate, the stable version it started against, the steps, the current step and weight, the status
(``running``, ``paused``, ``aborted``, ``promoted``), the name of its analysis and the last analysis
result; ``rollout_events`` keeps every change, oldest first. The database allows one active (running or
paused) rollout per alias: a partial unique index, so two starters racing cannot both win. Every update
compares and sets ``revision``, so two controllers (or a controller and a person pausing it) cannot
overwrite each other: the loser gets a ConflictError and reads the state again.

The registry only stores the state; what decides a step (the analysis, the promotion) lives in
:mod:`mlgate.delivery`, above the gates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa

from mlgate.errors import ConflictError, NotFoundError, UsageError
from mlgate.refs import check_alias, check_name
from mlgate.registry.access import Access, now, utc
from mlgate.registry.rows import model_id
from mlgate.registry.tables import ACTIVE_ROLLOUT, aliases, rollout_events, rollouts, versions

ACTIVE: Final = ("running", "paused")
STATUSES: Final = ("running", "paused", "aborted", "promoted", "stopped")  # stopped: an A/B test ended on A
KINDS: Final = ("rollout", "abtest")
_CHANGEABLE: Final = frozenset(("step", "weight", "status", "last_analysis", "step_started_at"))


@dataclass(frozen=True)
class Rollout:
    """One rollout as stored; ``weight`` and ``steps`` are percentages of the traffic the candidate takes."""

    id: int
    name: str
    alias: str
    candidate: int
    stable: int
    steps: tuple[float, ...]
    step: int
    weight: float
    status: str
    analysis: str
    pause_s: float
    gate_report: str | None
    last_analysis: dict[str, Any] | None
    revision: int
    created_by: str
    created_at: datetime
    step_started_at: datetime
    updated_at: datetime
    kind: str = "rollout"  # or abtest: a split held at its weight until `mlgate abtest stop`
    spec: dict[str, Any] | None = None  # an A/B test's metric, plan and bounds

    @property
    def active(self) -> bool:
        """Running or paused: it holds its alias, and servers route its weight to the candidate."""
        return self.status in ACTIVE

    @property
    def candidate_ref(self) -> str:
        """``fraud:8``."""
        return f"{self.name}:{self.candidate}"

    @property
    def stable_ref(self) -> str:
        """``fraud:7``."""
        return f"{self.name}:{self.stable}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO strings)."""
        d = asdict(self)
        d["steps"] = list(self.steps)
        for key in ("created_at", "step_started_at", "updated_at"):
            d[key] = getattr(self, key).isoformat()
        return d


@dataclass(frozen=True)
class RolloutEvent:
    """One recorded change of a rollout: ``kind`` (start, step, analysis, pause, resume, abort, promote)."""

    rollout_id: int
    kind: str
    step: int
    weight: float
    detail: dict[str, Any]
    actor: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        return d


def check_steps(steps: Sequence[float]) -> tuple[float, ...]:
    """Steps as stored: strictly increasing percentages in (0, 100]; UsageError naming the bad one otherwise."""
    out = tuple(float(s) for s in steps)
    if not out:
        raise UsageError("a rollout needs at least one step, e.g. --steps 5,25,50,100")
    for i, s in enumerate(out):
        if not 0 < s <= 100:
            raise UsageError(f"step {i + 1} is {s:g}%: each step must be a canary weight above 0 and at most 100")
        if i and s <= out[i - 1]:
            raise UsageError(
                f"steps must increase: step {i + 1} ({s:g}%) is not above step {i} ({out[i - 1]:g}%)",
                hint="for example --steps 5,25,50,100",
            )
    return out


def _number_of(conn: sa.Connection, vid: int) -> int:
    return int(conn.execute(sa.select(versions.c.number).where(versions.c.id == vid)).scalar_one())


def _build(conn: sa.Connection, name: str, row: sa.Row[Any]) -> Rollout:
    return Rollout(
        id=int(row.id),
        name=name,
        alias=row.alias,
        candidate=_number_of(conn, row.candidate_version_id),
        stable=_number_of(conn, row.stable_version_id),
        steps=tuple(float(s) for s in row.steps),
        step=int(row.step),
        weight=float(row.weight),
        status=row.status,
        analysis=row.analysis,
        pause_s=float(row.pause_s),
        gate_report=row.gate_report,
        last_analysis=row.last_analysis,
        revision=int(row.revision),
        created_by=row.created_by,
        created_at=utc(row.created_at),
        step_started_at=utc(row.step_started_at),
        updated_at=utc(row.updated_at),
        kind=str(row.kind),
        spec=row.spec,
    )


def _event(
    conn: sa.Connection, rid: int, kind: str, step: int, weight: float, detail: dict[str, Any], actor: str
) -> None:
    conn.execute(
        sa.insert(rollout_events).values(
            rollout_id=rid, kind=kind, step=step, weight=weight, detail=detail, actor=actor, created_at=now()
        )
    )


def _version_id(conn: sa.Connection, mid: int, number: int, name: str) -> int:
    vid = conn.execute(sa.select(versions.c.id).where(versions.c.model_id == mid, versions.c.number == number)).scalar()
    if vid is None:
        raise NotFoundError(f"version {name}:{number} does not exist")
    return int(vid)


def _already(name: str, alias: str, rid: int, candidate: int) -> UsageError:
    return UsageError(
        f"{name}@{alias} already has an active rollout (#{rid}, of {name}:{candidate}); one alias takes one rollout",
        hint=f"see `mlgate rollout status {name}@{alias}`; `mlgate rollout abort {name}@{alias}` ends it",
    )


def start_rollout(
    acc: Access,
    name: str,
    alias: str,
    candidate: int,
    *,
    stable: int,
    steps: Sequence[float],
    analysis: str,
    pause_s: float,
    gate_report: str | None = None,
    kind: str = "rollout",
    spec: dict[str, Any] | None = None,
) -> Rollout:
    """Record a running rollout of ``name:candidate`` on ``alias``, at its first step.

    ``kind="abtest"`` records an A/B test: one step (B's share), held until it is stopped, ``spec``
    holding its metric, plan and bounds.

    ``stable`` is the version the alias holds; it is compared with the alias in the same transaction
    (ConflictError when someone moved it). A second active rollout on the alias is a UsageError, backed
    by the database's unique index when two starts race.
    """
    check_name(name)
    check_alias(alias)
    steps = check_steps(steps)
    if kind not in KINDS:
        raise UsageError(f"{kind!r} is not a kind of rollout ({', '.join(KINDS)})")
    if pause_s < 0:
        raise UsageError(f"the pause between steps cannot be negative, got {pause_s:g} s")
    when = now()
    try:
        with acc.write() as conn:
            mid = model_id(conn, name)
            cand_vid = _version_id(conn, mid, candidate, name)
            stable_vid = _version_id(conn, mid, stable, name)
            held = conn.execute(
                sa.select(aliases.c.version_id).where(aliases.c.model_id == mid, aliases.c.alias == alias)
            ).scalar()
            if held != stable_vid:
                now_held = f"{name}:{_number_of(conn, held)}" if held is not None else "nothing"
                raise ConflictError(f"{name}@{alias} now points to {now_held}, not {name}:{stable}; someone moved it")
            other = conn.execute(
                sa.select(rollouts.c.id, rollouts.c.candidate_version_id).where(
                    rollouts.c.model_id == mid, rollouts.c.alias == alias, ACTIVE_ROLLOUT
                )
            ).first()
            if other is not None:
                raise _already(name, alias, int(other.id), _number_of(conn, other.candidate_version_id))
            rid = conn.execute(
                sa.insert(rollouts)
                .values(
                    model_id=mid,
                    alias=alias,
                    candidate_version_id=cand_vid,
                    stable_version_id=stable_vid,
                    steps=list(steps),
                    step=0,
                    weight=steps[0],
                    status="running",
                    analysis=analysis,
                    pause_s=float(pause_s),
                    gate_report=gate_report,
                    last_analysis=None,
                    revision=1,
                    created_by=acc.actor,
                    created_at=when,
                    step_started_at=when,
                    updated_at=when,
                    kind=kind,
                    spec=spec,
                )
                .returning(rollouts.c.id)
            ).scalar_one()
            detail = {"candidate": candidate, "stable": stable, "steps": list(steps), "analysis": analysis}
            if kind != "rollout":
                detail.update(kind=kind, spec=spec)
            _event(conn, int(rid), "start", 0, steps[0], detail, acc.actor)
            row = conn.execute(sa.select(rollouts).where(rollouts.c.id == rid)).one()
            return _build(conn, name, row)
    except sa.exc.IntegrityError as exc:  # a concurrent start won the unique index
        raise UsageError(
            f"{name}@{alias} already has an active rollout, started at the same time; one alias takes one rollout",
            hint=f"see `mlgate rollout status {name}@{alias}`",
        ) from exc


def get_rollout(acc: Access, name: str, alias: str, *, active_only: bool = False) -> Rollout:
    """The active rollout of ``name@alias``, else (unless ``active_only``) its latest one; NotFoundError if none."""
    check_name(name)
    check_alias(alias)
    with acc.read() as conn:
        mid = model_id(conn, name)
        q = sa.select(rollouts).where(rollouts.c.model_id == mid, rollouts.c.alias == alias)
        row = conn.execute(q.where(ACTIVE_ROLLOUT)).first()
        if row is None and not active_only:
            row = conn.execute(q.order_by(rollouts.c.id.desc()).limit(1)).first()
        if row is None:
            which = "an active rollout" if active_only else "a rollout"
            raise NotFoundError(
                f"{name}@{alias} has no {which.split(' ', 1)[1]}",
                hint=f"start one with `mlgate rollout start {name}:VERSION --alias {alias}`",
            )
        return _build(conn, name, row)


def list_rollouts(acc: Access, name: str) -> list[Rollout]:
    """Every rollout of a model, newest first."""
    check_name(name)
    with acc.read() as conn:
        mid = model_id(conn, name)
        rows = conn.execute(sa.select(rollouts).where(rollouts.c.model_id == mid).order_by(rollouts.c.id.desc())).all()
        return [_build(conn, name, r) for r in rows]


def update_rollout(
    acc: Access,
    rollout: Rollout,
    *,
    kind: str,
    detail: dict[str, Any] | None = None,
    event: bool = True,
    **changes: Any,
) -> Rollout:
    """Apply ``changes`` to ``rollout`` if nobody changed it since it was read, recording one event of ``kind``.

    Only an active rollout changes; ConflictError (exit 1) when its revision moved meanwhile. ``event=False``
    records no event (the latest analysis of a tick that says nothing new).
    """
    unknown = set(changes) - _CHANGEABLE
    if unknown:
        raise TypeError(f"update_rollout cannot change {sorted(unknown)}")
    if "status" in changes and changes["status"] not in STATUSES:
        raise UsageError(f"{changes['status']!r} is not a rollout status ({', '.join(STATUSES)})")
    when = now()
    with acc.write() as conn:
        done = conn.execute(
            sa.update(rollouts)
            .where(rollouts.c.id == rollout.id, rollouts.c.revision == rollout.revision, ACTIVE_ROLLOUT)
            .values(revision=rollout.revision + 1, updated_at=when, **changes)
        ).rowcount
        if done != 1:
            status = conn.execute(sa.select(rollouts.c.status).where(rollouts.c.id == rollout.id)).scalar_one()
            if status not in ACTIVE:
                raise UsageError(
                    f"rollout #{rollout.id} of {rollout.candidate_ref} on {rollout.name}@{rollout.alias} is "
                    f"{status} already; it cannot change any more"
                )
            raise ConflictError(
                f"rollout #{rollout.id} on {rollout.name}@{rollout.alias} changed while this change was made",
                hint=f"see `mlgate rollout status {rollout.name}@{rollout.alias}` and try again",
            )
        step = int(changes.get("step", rollout.step))
        weight = float(changes.get("weight", rollout.weight))
        if event:
            _event(conn, rollout.id, kind, step, weight, detail or {}, acc.actor)
        row = conn.execute(sa.select(rollouts).where(rollouts.c.id == rollout.id)).one()
        return _build(conn, rollout.name, row)


def record_rollout_event(acc: Access, rollout: Rollout, kind: str, detail: dict[str, Any]) -> None:
    """Append an event that changes nothing (an analysis that waits for more data)."""
    with acc.write() as conn:
        _event(conn, rollout.id, kind, rollout.step, rollout.weight, detail, acc.actor)


def rollout_events_of(acc: Access, rollout_id: int) -> list[RolloutEvent]:
    """Every event of one rollout, oldest first."""
    with acc.read() as conn:
        rows = conn.execute(
            sa.select(rollout_events).where(rollout_events.c.rollout_id == rollout_id).order_by(rollout_events.c.id)
        ).all()
    return [
        RolloutEvent(
            int(r.rollout_id), r.kind, int(r.step), float(r.weight), dict(r.detail), r.actor, utc(r.created_at)
        )
        for r in rows
    ]


def rollout_route(acc: Access, name: str, alias: str) -> tuple[int, str, float] | None:
    """What a server following ``name@alias`` routes: ``(candidate number, digest, weight in [0, 1])``, or None.

    One indexed query, read on every poll; None when no rollout is active on the alias.
    """
    with acc.read() as conn:
        mid = model_id(conn, name)
        row = conn.execute(
            sa.select(versions.c.number, versions.c.digest, rollouts.c.weight)
            .join(versions, versions.c.id == rollouts.c.candidate_version_id)
            .where(rollouts.c.model_id == mid, rollouts.c.alias == alias, ACTIVE_ROLLOUT)
        ).first()
    if row is None:
        return None
    return int(row.number), str(row.digest), float(row.weight) / 100.0
