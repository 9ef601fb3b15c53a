"""Versions: registering the next one, reading them back, and their mutable tags, description and signatures.

Registering writes the blobs first (idempotent), then makes the version visible in one transaction
that takes its number from the model's row under a write lock: a crash in between leaves only
unreferenced blobs for :func:`mlgate.registry.gc.gc`.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mlgate import _failpoints
from mlgate.errors import ConfigError, NotFoundError, UsageError
from mlgate.hashing import manifest, manifest_digest
from mlgate.refs import Ref, check_description, check_name, check_tag
from mlgate.registry import db
from mlgate.registry.access import Access, now, utc
from mlgate.registry.rows import (
    SMOKE_STATUS,
    aliases_of,
    as_ref,
    build,
    latest_row,
    model_id,
    record_event,
    resolve_row,
    semver_tuple,
    version_id,
)
from mlgate.registry.tables import aliases, models, version_events, versions
from mlgate.registry.types import ModelSummary, ModelVersion, VersionEvent

# -- reading --------------------------------------------------------------------------------------


def get(acc: Access, ref: str | Ref | ModelVersion) -> ModelVersion:
    """The version a reference names."""
    parsed = as_ref(ref)
    with acc.read() as conn:
        row = resolve_row(conn, parsed)
        return build(parsed.name, row, aliases_of(conn, [row.id]).get(row.id, ()))


def resolve_digest(acc: Access, ref: str | Ref | ModelVersion) -> tuple[int, str]:
    """Just ``(number, digest)`` for a reference: one indexed join for an alias."""
    parsed = as_ref(ref)
    if parsed.alias is not None:
        with acc.read() as conn:
            row = conn.execute(
                sa.select(versions.c.number, versions.c.digest)
                .select_from(models)
                .join(aliases, aliases.c.model_id == models.c.id)
                .join(versions, versions.c.id == aliases.c.version_id)
                .where(models.c.name == parsed.name, aliases.c.alias == parsed.alias)
            ).first()
            if row is not None:
                return int(row.number), str(row.digest)
    mv = get(acc, parsed)
    return mv.number, mv.digest


def list_versions(acc: Access, name: str) -> list[ModelVersion]:
    """Every version of a model, oldest first."""
    check_name(name)
    with acc.read() as conn:
        mid = model_id(conn, name)
        rows = conn.execute(sa.select(versions).where(versions.c.model_id == mid).order_by(versions.c.number)).all()
        held = aliases_of(conn, [r.id for r in rows])
        return [build(name, r, held.get(r.id, ())) for r in rows]


def list_models(acc: Access) -> list[ModelSummary]:
    """Every registered model with its version count, latest version and aliases."""
    with acc.read() as conn:
        out = []
        for m in conn.execute(sa.select(models).order_by(models.c.name)).all():
            latest = latest_row(conn, m.id)
            count = conn.execute(
                sa.select(sa.func.count()).select_from(versions).where(versions.c.model_id == m.id)
            ).scalar()
            alias_map = {
                str(a): int(n)
                for a, n in conn.execute(
                    sa.select(aliases.c.alias, versions.c.number)
                    .join(versions, versions.c.id == aliases.c.version_id)
                    .where(aliases.c.model_id == m.id)
                    .order_by(aliases.c.alias)
                ).all()
            }
            held = aliases_of(conn, [latest.id]) if latest else {}
            out.append(
                ModelSummary(
                    m.name,
                    int(count or 0),
                    build(m.name, latest, held.get(latest.id, ())) if latest else None,
                    alias_map,
                )
            )
        return out


# -- registering ----------------------------------------------------------------------------------


def _check_run_registry(url: str, run_registry: str | None) -> None:
    """Inside a stage of ``mlgate run``, refuse to register anywhere but the run's own registry."""
    if run_registry and run_registry != url:
        raise ConfigError(
            f"this stage of `mlgate run` records its run in {db.describe_url(run_registry)}, but tried to "
            f"register a model in {db.describe_url(url)}; a run's models go to the run's registry",
            hint="let the stage use the run's settings (drop the explicit registry URL from the script), "
            "or run the pipeline with --registry pointing at the registry you meant",
        )


def _note_registered(path: Path, mv: ModelVersion) -> None:
    """Append the version to the stage's list, which the run cache keeps with the stage's outputs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"name": mv.name, "number": mv.number, "digest": mv.digest}, sort_keys=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def register(
    acc: Access,
    name: str,
    source: str | Path,
    *,
    flavor: str,
    signature: dict[str, Any],
    flavor_config: dict[str, Any] | None = None,
    lineage: dict[str, Any] | None = None,
    environment: dict[str, Any] | None = None,
    version: str | None = None,
    tags: dict[str, str] | None = None,
    description: str | None = None,
    runs_code: bool = False,
    data_profile_digest: str | None = None,
) -> ModelVersion:
    """Store the files under ``source`` as the next version of ``name`` and return it."""
    check_name(name)
    stage = acc.settings.stage_env
    _check_run_registry(acc.url, stage.get("MLGATE_RUN_REGISTRY"))
    src = Path(source)
    if not src.exists():
        raise NotFoundError(f"model files {src} do not exist")
    if version is not None:
        semver_tuple(version)
    tags = {str(k): str(v) for k, v in (tags or {}).items()}
    for key, value in tags.items():
        check_tag(key, value)
    check_description(description)
    entries = manifest(src)
    if not entries:
        raise UsageError(f"{src} holds no files to register")
    digest = manifest_digest(entries)
    root = src if src.is_dir() else src.parent
    for rel, info in entries.items():
        acc.blobs.put_file(info["digest"], root / rel)
    _failpoints.hit("register.after_blobs")
    size = sum(int(i["size"]) for i in entries.values())
    when = now()
    with acc.write() as conn:
        mid = ensure_model(conn, name, when)
        number = conn.execute(
            sa.update(models)
            .where(models.c.id == mid)
            .values(last_number=models.c.last_number + 1)
            .returning(models.c.last_number)
        ).scalar_one()
        base = version or _next_semver(conn, mid, signature)
        if version is not None:
            taken = conn.execute(
                sa.select(versions.c.number).where(versions.c.model_id == mid, versions.c.stable_semver == version)
            ).scalar()
            if taken is not None:
                raise UsageError(
                    f"{name} {version} is already released as {name}:{taken}",
                    hint="give a higher version, or leave --version out to bump it automatically",
                )
        rc = 1 + int(
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(versions.c.rc), 0)).where(
                    versions.c.model_id == mid, versions.c.semver == base
                )
            ).scalar_one()
        )
        conn.execute(
            sa.insert(versions).values(
                model_id=mid,
                number=number,
                digest=digest,
                flavor=flavor,
                semver=base,
                rc=rc,
                stable_semver=None,
                # a smoke run's model was trained on cheap settings: visible, gateable, never promotable
                status=SMOKE_STATUS if stage.get("MLGATE_SMOKE") == "1" else "candidate",
                signature=signature,
                manifest=entries,
                lineage=lineage or {},
                environment=environment or {},
                flavor_config=flavor_config or {},
                size_bytes=size,
                runs_code=runs_code,
                data_profile_digest=data_profile_digest,
                description=description,
                tags=tags,
                created_by=acc.actor,
                created_at=when,
            )
        )
        _failpoints.hit("register.before_commit")
    mv = get(acc, Ref(name, number=int(number)))
    if stage.get("MLGATE_REGISTERED_FILE"):
        _note_registered(Path(stage["MLGATE_REGISTERED_FILE"]), mv)
    return mv


def ensure_model(conn: sa.Connection, name: str, when: datetime) -> int:
    """The id of model ``name``, created (numbering from 1) if it does not exist; safe against a racing creator."""
    mid = conn.execute(sa.select(models.c.id).where(models.c.name == name)).scalar()
    if mid is not None:
        return int(mid)
    insert: Any
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(
        insert(models).values(name=name, last_number=0, created_at=when).on_conflict_do_nothing(index_elements=["name"])
    )
    return int(conn.execute(sa.select(models.c.id).where(models.c.name == name)).scalar_one())


def _next_semver(conn: sa.Connection, mid: int, signature: dict[str, Any]) -> str:
    from mlgate.signature import incompatibilities

    stable = conn.execute(
        sa.select(versions.c.stable_semver, versions.c.signature)
        .where(versions.c.model_id == mid, versions.c.stable_semver.is_not(None))
        .order_by(versions.c.id.desc())
    ).all()
    if not stable:
        return "1.0.0"
    newest = max(stable, key=lambda r: semver_tuple(r.stable_semver))
    major, minor, _ = semver_tuple(newest.stable_semver)
    if incompatibilities(newest.signature, signature):
        return f"{major + 1}.0.0"
    return f"{major}.{minor + 1}.0"


# -- mutable metadata -----------------------------------------------------------------------------


def set_tag(acc: Access, ref: str, key: str, value: str | None) -> ModelVersion:
    """Set (or, with ``value=None``, remove) one tag; the change is recorded."""
    if value is not None:  # any stored key can be removed, even one an older mlgate let through
        check_tag(key, value)
    with acc.write() as conn:
        vid, _, row = version_id(conn, ref)
        tags = dict(row.tags or {})
        old = tags.get(key)
        if value is None:
            if key not in tags:
                raise NotFoundError(f"{ref} has no tag {key!r}")
            tags.pop(key)
        else:
            tags[key] = str(value)
        if old != value:
            conn.execute(sa.update(versions).where(versions.c.id == vid).values(tags=tags))
            record_event(conn, vid, "tag", key, old, value, acc.actor)
    return get(acc, ref)


def set_description(acc: Access, ref: str, text: str | None) -> ModelVersion:
    """Replace a version's description; the change is recorded."""
    check_description(text)
    with acc.write() as conn:
        vid, _, row = version_id(conn, ref)
        if row.description != text:
            conn.execute(sa.update(versions).where(versions.c.id == vid).values(description=text))
            record_event(conn, vid, "description", None, row.description, text, acc.actor)
    return get(acc, ref)


def version_history(acc: Access, ref: str) -> list[VersionEvent]:
    """Every recorded change of a version's tags, description and status, oldest first."""
    with acc.read() as conn:
        vid, label, _ = version_id(conn, ref)
        rows = conn.execute(
            sa.select(version_events).where(version_events.c.version_id == vid).order_by(version_events.c.id)
        ).all()
    return [VersionEvent(label, r.field, r.key, r.old, r.new, r.actor, utc(r.created_at)) for r in rows]


def add_signature(acc: Access, mv: ModelVersion, key_id: str, document: str) -> None:
    """Append a signature document (see :mod:`mlgate.signing`) to a version's events."""
    with acc.write() as conn:
        vid, _, _ = version_id(conn, mv.ref)
        record_event(conn, vid, "signature", key_id, None, document, acc.actor)


def signature_records(acc: Access, mv: ModelVersion) -> list[tuple[str, str]]:
    """The signature documents recorded for a version, oldest first, with who recorded each."""
    with acc.read() as conn:
        rows = conn.execute(
            sa.select(version_events.c.new, version_events.c.actor)
            .join(versions, versions.c.id == version_events.c.version_id)
            .join(models, models.c.id == versions.c.model_id)
            .where(
                models.c.name == mv.name,
                versions.c.number == mv.number,
                version_events.c.field == "signature",
            )
            .order_by(version_events.c.id)
        ).all()
    return [(str(text), str(actor)) for text, actor in rows]
