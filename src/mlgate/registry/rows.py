"""From references to rows and from rows to records: the reads every other registry module builds on.

Each function takes an open connection, so a caller composes them inside one transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mlgate.errors import NotFoundError, UsageError
from mlgate.refs import MAX_NUMBER, SEMVER_RE, Ref, parse_ref
from mlgate.registry.access import now, utc
from mlgate.registry.tables import aliases, models, version_events, versions
from mlgate.registry.types import RELEASE_ALIAS, ModelVersion

Row = sa.Row[Any]
SMOKE_STATUS = "smoke"


def semver_tuple(text: str) -> tuple[int, int, int]:
    """``"1.4.0"`` → ``(1, 4, 0)``; anything else is a UsageError."""
    m = SEMVER_RE.fullmatch(text)
    if not m:
        raise UsageError(f"{text!r} is not a semantic version MAJOR.MINOR.PATCH (for example 1.4.0)")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def as_ref(ref: str | Ref | ModelVersion) -> Ref:
    """A parsed reference; a version already resolved stands for its ``name:number``."""
    if isinstance(ref, ModelVersion):
        return Ref(ref.name, number=ref.number)
    return parse_ref(ref) if isinstance(ref, str) else ref


def model_id(conn: sa.Connection, name: str) -> int:
    """The id of a registered model; NotFoundError listing some that exist otherwise."""
    mid = conn.execute(sa.select(models.c.id).where(models.c.name == name)).scalar()
    if mid is None:
        known = conn.execute(sa.select(models.c.name).order_by(models.c.name).limit(20)).scalars().all()
        hint = f"registered models: {', '.join(known)}" if known else "no model is registered yet"
        raise NotFoundError(f"model {name!r} is not registered", hint=hint)
    return int(mid)


def aliases_of(conn: sa.Connection, version_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """``{version id: its aliases, sorted}`` for the versions that hold any."""
    if not version_ids:
        return {}
    rows = conn.execute(
        sa.select(aliases.c.version_id, aliases.c.alias)
        .where(aliases.c.version_id.in_(version_ids))
        .order_by(aliases.c.alias)
    ).all()
    out: dict[int, list[str]] = {}
    for vid, alias in rows:
        out.setdefault(vid, []).append(alias)
    return {k: tuple(v) for k, v in out.items()}


def build(name: str, row: Row, alias_names: tuple[str, ...] = ()) -> ModelVersion:
    """The record of a ``model_versions`` row."""
    return ModelVersion(
        name=name,
        number=row.number,
        digest=row.digest,
        flavor=row.flavor,
        base_semver=row.semver,
        rc=row.rc,
        stable_semver=row.stable_semver,
        status=row.status,
        signature=row.signature,
        manifest=row.manifest,
        lineage=row.lineage,
        environment=row.environment,
        flavor_config=row.flavor_config,
        size_bytes=row.size_bytes,
        runs_code=bool(row.runs_code),
        data_profile_digest=row.data_profile_digest,
        description=row.description,
        tags=dict(row.tags or {}),
        created_by=row.created_by,
        created_at=utc(row.created_at),
        aliases=alias_names,
        id=row.id,
    )


def latest_row(conn: sa.Connection, mid: int) -> Row | None:
    """The newest full-run version of a model (its newest smoke version when it has only those)."""
    # a smoke run's cheap model must not become what `fraud` names (it is gated and listed only when
    # asked for); a model with only smoke versions falls back
    newest_first = sa.select(versions).where(versions.c.model_id == mid).order_by(versions.c.number.desc())
    row = conn.execute(newest_first.where(versions.c.status != SMOKE_STATUS).limit(1)).first()
    return row if row is not None else conn.execute(newest_first.limit(1)).first()


def resolve_row(conn: sa.Connection, ref: Ref) -> Row:
    """The version row a reference names; NotFoundError explaining the miss otherwise."""
    # the common cases take one joined query; the model lookup runs only to explain a miss
    if ref.alias is not None or (ref.number is not None and 0 < ref.number <= MAX_NUMBER):
        q = sa.select(versions).join(models, models.c.id == versions.c.model_id).where(models.c.name == ref.name)
        if ref.alias is not None:
            q = q.join(aliases, aliases.c.version_id == versions.c.id).where(aliases.c.alias == ref.alias)
        else:
            q = q.where(versions.c.number == ref.number)
        found = conn.execute(q).first()
        if found is not None:
            return found
    mid = model_id(conn, ref.name)
    q = sa.select(versions).where(versions.c.model_id == mid)
    if ref.alias is not None:
        held = conn.execute(sa.select(aliases.c.alias).where(aliases.c.model_id == mid)).scalars().all()
        hint = (
            f"aliases of {ref.name}: {', '.join(sorted(held))}"
            if held
            else f"{ref.name} has no aliases yet; set one with: mlgate promote {ref.name}:N --to {ref.alias}"
        )
        raise NotFoundError(f"alias {ref.alias!r} of model {ref.name!r} does not exist", hint=hint)
    row: Row | None = None
    if ref.semver is not None:
        if "-rc." in ref.semver:
            base, _, rc = ref.semver.partition("-rc.")
            row = conn.execute(q.where(versions.c.semver == base, versions.c.rc == int(rc))).first()
        else:
            row = conn.execute(q.where(versions.c.stable_semver == ref.semver)).first()
            if row is None:
                rcs = conn.execute(q.where(versions.c.semver == ref.semver).order_by(versions.c.rc)).all()
                if rcs:
                    names = ", ".join(f"{r.semver}-rc.{r.rc} ({ref.name}:{r.number})" for r in rcs)
                    raise NotFoundError(
                        f"{ref} has not been released; its candidates are {names}",
                        hint=f"refer to a candidate, or promote one to {RELEASE_ALIAS}",
                    )
    elif ref.number is None:
        row = latest_row(conn, mid)
    if row is None:
        latest = conn.execute(sa.select(sa.func.max(versions.c.number)).where(versions.c.model_id == mid)).scalar()
        hint = f"{ref.name} has versions 1 to {latest}" if latest else f"{ref.name} has no versions"
        raise NotFoundError(f"version {ref} does not exist", hint=hint)
    return row


def version_id(conn: sa.Connection, ref: str | Ref) -> tuple[int, str, Row]:
    """``(id, "name:number", row)`` of the version a reference names."""
    parsed = as_ref(ref)
    row = resolve_row(conn, parsed)
    return int(row.id), f"{parsed.name}:{row.number}", row


def record_event(
    conn: sa.Connection, vid: int, field: str, key: str | None, old: str | None, new: str | None, actor: str
) -> None:
    """Append one change of a version's tags, description, status or signatures to its history."""
    conn.execute(
        sa.insert(version_events).values(
            version_id=vid, field=field, key=key, old=old, new=new, actor=actor, created_at=now()
        )
    )
