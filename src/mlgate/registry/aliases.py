"""Aliases: compare-and-set moves, each recorded as an event, and what the events answer (history, rollback).

A move reads the current holder, compares it with ``expect`` and updates with ``WHERE version_id =
<current>``, inserting the event in the same transaction; a lost race is a ConflictError. The first
move to ``production`` gives a candidate its stable semantic version.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Final

import sqlalchemy as sa

from mlgate.errors import ConflictError, NotFoundError, UsageError
from mlgate.refs import Ref, check_alias, check_name, parse_ref
from mlgate.registry.access import Access, now, utc
from mlgate.registry.rows import build, model_id, record_event, resolve_row, semver_tuple
from mlgate.registry.tables import alias_events, aliases, versions
from mlgate.registry.types import RELEASE_ALIAS, AliasEvent, ModelVersion

VersionLike = int | str | ModelVersion


class Unset:
    """The type of :data:`UNSET`: ``expect`` left out (no compare), as opposed to ``expect=None``."""


UNSET: Final = Unset()
Expect = VersionLike | None | Unset


class _Retry(Exception):
    """Internal: an unconditional alias move raced and should run again."""


def aliases_of_model(acc: Access, name: str) -> dict[str, int]:
    """``{alias: version number}`` for one model."""
    check_name(name)
    with acc.read() as conn:
        mid = model_id(conn, name)
        rows = conn.execute(
            sa.select(aliases.c.alias, versions.c.number)
            .join(versions, versions.c.id == aliases.c.version_id)
            .where(aliases.c.model_id == mid)
            .order_by(aliases.c.alias)
        ).all()
        return {a: int(n) for a, n in rows}


def _number_to_vid(conn: sa.Connection, name: str, version: VersionLike) -> tuple[int, int]:
    if isinstance(version, ModelVersion):
        version = version.number
    if isinstance(version, bool):
        raise UsageError(f"version must be a number or a reference, got {version!r}")
    if isinstance(version, int):
        ref = Ref(name, number=version)
    else:
        text = str(version)
        ref = parse_ref(f"{name}:{text}") if text.isascii() and text.isdigit() else parse_ref(text)
        if ref.name != name:
            raise UsageError(f"{text!r} refers to model {ref.name!r}, not {name!r}")
    row = resolve_row(conn, ref)
    return int(row.id), int(row.number)


def set_alias(
    acc: Access,
    name: str,
    alias: str,
    version: VersionLike,
    *,
    expect: Expect = UNSET,
    reason: str | None = None,
    forced: bool = False,
    gate_report: str | None = None,
    kind: str = "set",
    signer: str | None = None,
) -> AliasEvent:
    """Point ``alias`` at ``version``; with ``expect``, only if it still points at that one."""
    check_name(name)
    check_alias(alias)
    attempts = 0
    while True:
        attempts += 1
        try:
            return _set_alias_once(acc, name, alias, version, expect, reason, forced, gate_report, kind, signer)
        except _Retry:
            if attempts >= 20:
                raise ConflictError(f"alias {name}@{alias} kept changing while it was being moved; try again") from None
            time.sleep(0.01 * attempts)


def _set_alias_once(
    acc: Access,
    name: str,
    alias: str,
    version: VersionLike,
    expect: Expect,
    reason: str | None,
    forced: bool,
    gate_report: str | None,
    kind: str,
    signer: str | None,
) -> AliasEvent:
    when = now()
    try:
        with acc.write() as conn:
            mid = model_id(conn, name)
            to_vid, to_number = _number_to_vid(conn, name, version)
            cur = conn.execute(
                sa.select(aliases.c.version_id, versions.c.number)
                .join(versions, versions.c.id == aliases.c.version_id)
                .where(aliases.c.model_id == mid, aliases.c.alias == alias)
            ).first()
            cur_vid, cur_number = (int(cur[0]), int(cur[1])) if cur else (None, None)
            if not isinstance(expect, Unset):
                expected = None if expect is None else _number_to_vid(conn, name, expect)[1]
                if expected != cur_number:
                    held = f"{name}:{cur_number}" if cur_number else "nothing"
                    want = f"{name}:{expected}" if expected else "nothing"
                    raise ConflictError(
                        f"{name}@{alias} now points to {held}, not {want} as expected; someone moved it first",
                        hint=f"check `mlgate model history {name} --alias {alias}`, then retry with "
                        f"--expect {cur_number if cur_number else 'none'}",
                    )
            if cur_vid == to_vid:
                return AliasEvent(
                    name,
                    alias,
                    cur_number,
                    to_number,
                    acc.actor,
                    reason,
                    kind,
                    forced,
                    gate_report,
                    when,
                    changed=False,
                )
            if cur_vid is None:
                conn.execute(sa.insert(aliases).values(model_id=mid, alias=alias, version_id=to_vid, updated_at=when))
            else:
                moved = conn.execute(
                    sa.update(aliases)
                    .where(aliases.c.model_id == mid, aliases.c.alias == alias, aliases.c.version_id == cur_vid)
                    .values(version_id=to_vid, updated_at=when)
                ).rowcount
                if moved != 1:
                    if not isinstance(expect, Unset):
                        raise ConflictError(f"{name}@{alias} was moved by someone else at the same time")
                    raise _Retry
            _append_event(conn, acc.actor, mid, alias, cur_vid, to_vid, reason, kind, when, forced, gate_report, signer)
            if alias == RELEASE_ALIAS:
                _release(conn, acc.actor, mid, to_vid)
    except sa.exc.IntegrityError as exc:
        # two first-time inserts of the same alias raced; the loser learns who won
        if not isinstance(expect, Unset):
            raise ConflictError(f"{name}@{alias} was created by someone else at the same time") from exc
        raise _Retry from exc
    return AliasEvent(
        name, alias, cur_number, to_number, acc.actor, reason, kind, forced, gate_report, when, signer=signer
    )


def _release(conn: sa.Connection, actor: str, mid: int, vid: int) -> None:
    """Give a candidate its stable semantic version the first time it reaches production."""
    row = conn.execute(sa.select(versions).where(versions.c.id == vid)).one()
    if row.stable_semver is not None:
        return
    taken = {
        semver_tuple(s)
        for s in conn.execute(
            sa.select(versions.c.stable_semver).where(versions.c.model_id == mid, versions.c.stable_semver.is_not(None))
        ).scalars()
    }
    major, minor, patch = semver_tuple(row.semver)
    while (major, minor, patch) in taken:  # another candidate of this release shipped first
        patch += 1
    stable = f"{major}.{minor}.{patch}"
    conn.execute(sa.update(versions).where(versions.c.id == vid).values(stable_semver=stable, status="stable"))
    record_event(conn, vid, "status", None, f"candidate {row.semver}-rc.{row.rc}", f"stable {stable}", actor)


def _append_event(
    conn: sa.Connection,
    actor: str,
    mid: int,
    alias: str,
    from_vid: int | None,
    to_vid: int | None,
    reason: str | None,
    kind: str,
    when: datetime,
    forced: bool = False,
    gate_report: str | None = None,
    signer: str | None = None,
) -> None:
    conn.execute(
        sa.insert(alias_events).values(
            signer=signer,
            model_id=mid,
            alias=alias,
            from_version_id=from_vid,
            to_version_id=to_vid,
            actor=actor,
            reason=reason,
            kind=kind,
            forced=forced,
            gate_report=gate_report,
            created_at=when,
        )
    )


def delete_alias(
    acc: Access, name: str, alias: str, *, expect: Expect = UNSET, reason: str | None = None
) -> AliasEvent:
    """Remove an alias; recorded like a move to nothing."""
    check_alias(alias)
    when = now()
    with acc.write() as conn:
        mid = model_id(conn, name)
        cur = conn.execute(
            sa.select(aliases.c.version_id, versions.c.number)
            .join(versions, versions.c.id == aliases.c.version_id)
            .where(aliases.c.model_id == mid, aliases.c.alias == alias)
        ).first()
        if cur is None:
            raise NotFoundError(f"alias {alias!r} of model {name!r} does not exist")
        if not isinstance(expect, Unset) and expect is not None:
            expected = _number_to_vid(conn, name, expect)[1]
            if expected != cur[1]:
                raise ConflictError(f"{name}@{alias} now points to {name}:{cur[1]}, not {name}:{expected}")
        conn.execute(sa.delete(aliases).where(aliases.c.model_id == mid, aliases.c.alias == alias))
        _append_event(conn, acc.actor, mid, alias, cur[0], None, reason, "delete", when)
    return AliasEvent(name, alias, int(cur[1]), None, acc.actor, reason, "delete", False, None, when)


def history(acc: Access, name: str, alias: str | None = None) -> list[AliasEvent]:
    """Every alias move of a model (or of one alias), oldest first."""
    check_name(name)
    fv, tv = versions.alias("fv"), versions.alias("tv")
    with acc.read() as conn:
        mid = model_id(conn, name)
        q = (
            sa.select(alias_events, fv.c.number.label("from_number"), tv.c.number.label("to_number"))
            .outerjoin(fv, fv.c.id == alias_events.c.from_version_id)
            .outerjoin(tv, tv.c.id == alias_events.c.to_version_id)
            .where(alias_events.c.model_id == mid)
            .order_by(alias_events.c.id)
        )
        if alias is not None:
            q = q.where(alias_events.c.alias == check_alias(alias))
        rows = conn.execute(q).all()
    return [
        AliasEvent(
            name,
            r.alias,
            r.from_number,
            r.to_number,
            r.actor,
            r.reason,
            r.kind,
            bool(r.forced),
            r.gate_report,
            utc(r.created_at),
            signer=r.signer,
        )
        for r in rows
    ]


def rollback(acc: Access, name: str, alias: str = RELEASE_ALIAS, *, reason: str | None = None) -> AliasEvent:
    """Move ``alias`` back to the version that held it before the current one (moves undo like a stack)."""
    events = history(acc, name, alias)
    stack: list[int] = []
    for ev in events:
        if ev.kind == "rollback":
            if stack:
                stack.pop()
        elif ev.kind == "delete":
            stack.clear()
        elif ev.to_number is not None:
            stack.append(ev.to_number)
    if not stack:
        raise NotFoundError(f"alias {name}@{alias} does not exist, so there is nothing to roll back")
    if len(stack) < 2:
        others = sorted({ev.to_number for ev in events if ev.to_number is not None and ev.to_number != stack[-1]})
        if others:  # rollbacks undo moves like a stack: every move since the first holder is undone
            listed = ", ".join(f"{name}:{n}" for n in others)
            message = (
                f"every move of {name}@{alias} after {name}:{stack[-1]} has been rolled back already "
                f"(it was held by {listed} in between), so there is no move left to undo"
            )
        else:
            message = (
                f"{name}@{alias} has had no other holder than {name}:{stack[-1]}, so there is nothing to roll back to"
            )
        raise UsageError(
            message,
            hint=f"to point it at another version, promote that one (`mlgate promote {name}:N --to {alias}`); "
            f"see `mlgate model history {name} --alias {alias}`",
        )
    return set_alias(
        acc,
        name,
        alias,
        stack[-2],
        expect=stack[-1],
        reason=reason or f"rollback from {name}:{stack[-1]}",
        kind="rollback",
    )


def alias_at(acc: Access, name: str, alias: str, when: datetime | str) -> ModelVersion | None:
    """The version that held ``alias`` at time ``when``, a datetime or an ISO string (None if none did)."""
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when.strip())
        except ValueError:
            raise UsageError(f"{when!r} is not an ISO time such as 2026-11-23T10:00:00Z") from None
    when = utc(when)
    with acc.read() as conn:
        mid = model_id(conn, name)
        vid = conn.execute(
            sa.select(alias_events.c.to_version_id)
            .where(
                alias_events.c.model_id == mid,
                alias_events.c.alias == check_alias(alias),
                alias_events.c.created_at <= when,
            )
            .order_by(alias_events.c.created_at.desc(), alias_events.c.id.desc())
            .limit(1)
        ).scalar()
        if vid is None:
            return None
        row = conn.execute(sa.select(versions).where(versions.c.id == vid)).one()
    return build(name, row)
