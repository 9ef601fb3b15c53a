"""Versions moved between registries: ``import_version`` from another registry or an exported bundle.

A bundle is a folder: ``mlgate-bundle.json`` (format ``mlgate.bundle/1``: the version's record and its
version events) and ``blobs/ab/abcdef…``, laid out like a local artifact store. Importing verifies what
it copies the way :func:`~mlgate.registry.materialize.materialize` does (the manifest against the
version digest, every blob against its digest, the bound ``mlgate-model.json``) before it writes
anything, and keeps the version's identity: name, number, digest, semantic version, status, who
created it and when. Importing the same version again changes nothing; a different version under the
same number is a ConflictError.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mlgate.errors import ConflictError, IntegrityError, UsageError
from mlgate.hashing import PREFIX
from mlgate.refs import MAX_NUMBER, Ref, check_alias, check_description, check_name, check_tag
from mlgate.registry import aliases as alias_ops
from mlgate.registry.access import Access, now, utc
from mlgate.registry.blobs import BlobStore, LocalBlobStore
from mlgate.registry.materialize import check_manifest, materialize_from, read_blob_from
from mlgate.registry.rows import as_ref, semver_tuple
from mlgate.registry.tables import models, version_events, versions
from mlgate.registry.types import ModelVersion, VersionEvent
from mlgate.registry.versions import ensure_model, get, version_history

BUNDLE_FORMAT = "mlgate.bundle/1"
BUNDLE_FILE = "mlgate-bundle.json"
_DIGEST_RE = re.compile(re.escape(PREFIX) + "[0-9a-f]{64}")
_VERSION_FIELDS = tuple(f.name for f in fields(ModelVersion) if f.name not in ("aliases", "id"))


@dataclass(frozen=True)
class Origin:
    """Where an imported version comes from: its record, its version events, and the store holding its blobs."""

    version: ModelVersion
    events: list[VersionEvent]
    blobs: BlobStore
    label: str


def from_registry(acc: Access, ref: str | Ref | ModelVersion) -> Origin:
    """The origin of version ``ref`` of the registry behind ``acc``."""
    mv = get(acc, as_ref(ref))
    return Origin(mv, version_history(acc, mv.ref), acc.blobs, f"{mv.ref} of {acc.url}")


def export_version(acc: Access, ref: str | Ref | ModelVersion, dest: str | Path) -> Path:
    """Write version ``ref`` as a bundle into ``dest`` (a new or empty folder), verifying every blob on the way."""
    out = Path(dest)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} is not an empty folder", hint="export a version into a new folder")
    origin = from_registry(acc, ref)
    mv = origin.version
    bundle = LocalBlobStore(out)
    with tempfile.TemporaryDirectory(prefix="mlgate-export-") as tmp:
        files = materialize_from(acc.blobs, mv, Path(tmp) / "files")
        for rel, info in mv.manifest.items():
            bundle.put_file(info["digest"], files / rel)
    if mv.data_profile_digest:
        data = read_blob_from(acc.blobs, mv.data_profile_digest, what=f"{mv.ref}: the training-data profile")
        bundle.put_bytes(mv.data_profile_digest, data)
    record: dict[str, Any] = {k: getattr(mv, k) for k in _VERSION_FIELDS}
    record["created_at"] = mv.created_at.isoformat()
    doc = {
        "format": BUNDLE_FORMAT,
        "version": record,
        "events": [ev.to_dict() for ev in origin.events],
    }
    (out / BUNDLE_FILE).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return out


def read_bundle(path: str | Path) -> Origin:
    """The origin a bundle folder describes (its blobs are verified only when imported)."""
    folder = Path(path)
    doc_path = folder / BUNDLE_FILE
    if not doc_path.is_file():
        raise UsageError(
            f"{folder} is not an mlgate bundle: it has no {BUNDLE_FILE}",
            hint="give a folder written by Registry.export_version, or a Registry",
        )
    try:
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
        if doc.get("format") != BUNDLE_FORMAT:
            raise UsageError(f"{doc_path} has format {doc.get('format')!r}; this mlgate reads {BUNDLE_FORMAT!r}")
        record = dict(doc["version"])
        missing = [k for k in _VERSION_FIELDS if k not in record]
        if missing:
            raise IntegrityError(f"{doc_path}: the version record lacks {', '.join(missing)}")
        values = {k: record[k] for k in _VERSION_FIELDS}
        values["created_at"] = utc(datetime.fromisoformat(str(record["created_at"])))
        for key in ("signature", "manifest", "lineage", "environment", "flavor_config", "tags"):
            if not isinstance(values[key], dict):
                raise IntegrityError(f"{doc_path}: the version's {key} is not a JSON object")
        mv = ModelVersion(**values)
        events = [
            VersionEvent(
                mv.ref,
                str(e["field"]),
                e.get("key"),
                e.get("old"),
                e.get("new"),
                str(e["actor"]),
                utc(datetime.fromisoformat(str(e["created_at"]))),
            )
            for e in doc.get("events", [])
        ]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise IntegrityError(f"{doc_path} is not a valid mlgate bundle: {exc}") from exc
    return Origin(mv, events, LocalBlobStore(folder), f"{mv.ref} from bundle {folder}")


def _check_record(mv: ModelVersion) -> None:
    """What register would have refused is refused here too: names, numbers, tags, description, semver."""
    check_name(mv.name)
    if isinstance(mv.number, bool) or not isinstance(mv.number, int) or not 0 < mv.number <= MAX_NUMBER:
        raise IntegrityError(f"{mv.name}: version number {mv.number!r} is out of range")
    semver_tuple(mv.base_semver)
    if mv.stable_semver is not None:
        semver_tuple(mv.stable_semver)
    for key, value in mv.tags.items():
        check_tag(key, value)
    check_description(mv.description)
    for digest in [i.get("digest") if isinstance(i, dict) else None for i in mv.manifest.values()] + (
        [mv.data_profile_digest] if mv.data_profile_digest is not None else []
    ):
        if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
            raise IntegrityError(f"{mv.ref}: {digest!r} is not an mlgate digest")
    for rel in mv.manifest:
        # a bundle is outside input: its paths must stay inside the folder the files are copied into
        parts = rel.split("/")
        if not rel or rel.startswith("/") or "\\" in rel or "\0" in rel or any(p in ("", ".", "..") for p in parts):
            raise IntegrityError(f"{mv.ref}: the manifest names the file {rel!r}, which is not a plain relative path")
    check_manifest(mv)


def _existing(conn: sa.Connection, name: str, number: int) -> str | None:
    """The digest of ``name:number`` here, or None when that number is free."""
    return conn.execute(
        sa.select(versions.c.digest)
        .join(models, models.c.id == versions.c.model_id)
        .where(models.c.name == name, versions.c.number == number)
    ).scalar()


def _same_or_conflict(mv: ModelVersion, digest: str | None, label: str) -> bool:
    if digest is None:
        return False
    if digest != mv.digest:
        raise ConflictError(
            f"{mv.ref} already exists here with digest {digest}, not {mv.digest} as in {label}",
            hint="import it under another model name (name=...), or into another registry",
        )
    return True


def import_version(
    acc: Access,
    origin: Origin,
    *,
    name: str | None = None,
    lineage: dict[str, Any] | None = None,
    aliases: Sequence[str] = (),
    reason: str | None = None,
) -> ModelVersion:
    """Copy the version ``origin`` holds into the registry behind ``acc``, under the same number; return it."""
    src = origin.version
    mv = ModelVersion(
        **{k: getattr(src, k) for k in _VERSION_FIELDS}
        | {"name": name or src.name, "lineage": src.lineage if lineage is None else lineage}
    )
    _check_record(mv)
    for alias in aliases:
        check_alias(alias)
    with acc.read() as conn:
        done = _same_or_conflict(mv, _existing(conn, mv.name, mv.number), origin.label)
    if not done:
        # blobs first, verified while they are copied out of the origin; then the row in one transaction
        with tempfile.TemporaryDirectory(prefix="mlgate-import-") as tmp:
            files = materialize_from(origin.blobs, src, Path(tmp) / "files")
            for rel, info in mv.manifest.items():
                acc.blobs.put_file(info["digest"], files / rel)
        if mv.data_profile_digest:
            what = f"{origin.label}: the training-data profile"
            acc.blobs.put_bytes(mv.data_profile_digest, read_blob_from(origin.blobs, mv.data_profile_digest, what=what))
        try:
            _insert(acc, mv, origin)
        except sa.exc.IntegrityError:
            # a concurrent import of the same number won (PostgreSQL: the unique number); same bytes are fine
            with acc.read() as conn:
                if not _same_or_conflict(mv, _existing(conn, mv.name, mv.number), origin.label):
                    raise
    for alias in aliases:
        alias_ops.set_alias(acc, mv.name, alias, mv.number, reason=reason or f"imported from {origin.label}")
    return get(acc, Ref(mv.name, number=mv.number))


def _insert(acc: Access, mv: ModelVersion, origin: Origin) -> None:
    with acc.write() as conn:
        mid = ensure_model(conn, mv.name, now())
        # the model's row lock (PostgreSQL; SQLite's write lock already covers it) serializes importers and
        # registrations of one model, so the checks below see every version committed before
        conn.execute(sa.select(models.c.id).where(models.c.id == mid).with_for_update())
        if _same_or_conflict(mv, _existing(conn, mv.name, mv.number), origin.label):
            return  # imported meanwhile by someone else
        clash = conn.execute(
            sa.select(versions.c.number).where(
                versions.c.model_id == mid,
                sa.or_(
                    sa.and_(versions.c.semver == mv.base_semver, versions.c.rc == mv.rc),
                    versions.c.stable_semver == mv.stable_semver if mv.stable_semver else sa.false(),
                ),
            )
        ).scalar()
        if clash is not None:
            raise ConflictError(
                f"{mv.ref} is {mv.semver}, which {mv.name}:{clash} already is here",
                hint="import it under another model name (name=...), or into another registry",
            )
        # the next registered version is numbered after every imported one
        conn.execute(
            sa.update(models).where(models.c.id == mid, models.c.last_number < mv.number).values(last_number=mv.number)
        )
        vid = conn.execute(
            sa.insert(versions)
            .values(
                model_id=mid,
                number=mv.number,
                digest=mv.digest,
                flavor=mv.flavor,
                semver=mv.base_semver,
                rc=mv.rc,
                stable_semver=mv.stable_semver,
                status=mv.status,
                signature=mv.signature,
                manifest=mv.manifest,
                lineage=mv.lineage,
                environment=mv.environment,
                flavor_config=mv.flavor_config,
                size_bytes=mv.size_bytes,
                runs_code=mv.runs_code,
                data_profile_digest=mv.data_profile_digest,
                description=mv.description,
                tags=mv.tags,
                created_by=mv.created_by,
                created_at=mv.created_at,
            )
            .returning(versions.c.id)
        ).scalar_one()
        for ev in origin.events:
            conn.execute(
                sa.insert(version_events).values(
                    version_id=vid,
                    field=ev.field,
                    key=ev.key,
                    old=ev.old,
                    new=ev.new,
                    actor=ev.actor,
                    created_at=ev.created_at,
                )
            )
