"""The Registry: immutable versions, aliases moved by compare-and-set, histories, and garbage collection.

It stores and verifies bytes and metadata; it imports neither flavors nor data code, so everything
else can stand on it. Registration writes blobs first (idempotent), then makes the version visible
in one transaction: a crash in between leaves only unreferenced blobs for :meth:`Registry.gc`.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mlgate import _failpoints
from mlgate.config import Settings, load_settings
from mlgate.errors import (
    ConfigError,
    ConflictError,
    IntegrityError,
    MlgateError,
    NotFoundError,
    UsageError,
)
from mlgate.hashing import digest_bytes, manifest, manifest_digest
from mlgate.refs import (
    MAX_NUMBER,
    SEMVER_RE,
    Ref,
    check_alias,
    check_description,
    check_name,
    check_tag,
    parse_ref,
)
from mlgate.registry import db
from mlgate.registry.blobs import BlobStore, open_blob_store
from mlgate.registry.tables import alias_events, aliases, gate_reports, models, runs, version_events, versions
from mlgate.registry.types import (
    RELEASE_ALIAS,
    AliasEvent,
    GateRecord,
    GcResult,
    ModelSummary,
    ModelVersion,
    RunRecord,
    VersionEvent,
)

_UNSET: Any = object()
# the document inside every artifact that log_model writes: how to read the bytes, covered by the digest
METADATA_FILE = "mlgate-model.json"
VersionLike = int | str | ModelVersion


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _semver_tuple(text: str) -> tuple[int, int, int]:
    m = SEMVER_RE.fullmatch(text)
    if not m:
        raise UsageError(f"{text!r} is not a semantic version MAJOR.MINOR.PATCH (for example 1.4.0)")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


SMOKE_STATUS = "smoke"


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
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"name": mv.name, "number": mv.number, "digest": mv.digest}, sort_keys=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


class Registry:
    """Models, versions and aliases in a database, their bytes in a blob store.

    ``Registry()`` finds its settings like every command does: arguments, then ``MLGATE_REGISTRY`` /
    ``MLGATE_ARTIFACTS``, then ``mlgate.yaml`` in this folder or a parent, then ``.mlgate/``.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        artifacts: str | None = None,
        settings: Settings | None = None,
        actor: str | None = None,
    ) -> None:
        if settings is None or url is not None or artifacts is not None:
            base = settings
            settings = load_settings(
                registry=url if url is not None else (base.registry if base else None),
                artifacts=artifacts if artifacts is not None else (base.artifacts if base else None),
                cwd=base.root if base else None,
            )
        self.settings = settings
        self.url = settings.registry
        self.actor = actor or settings.actor
        self._engine: sa.Engine | None = None
        self._blobs: BlobStore | None = None

    def __repr__(self) -> str:
        return f"Registry({db.describe_url(self.url)!r}, artifacts={self.settings.artifacts!r})"

    # -- plumbing ---------------------------------------------------------------------------------

    @property
    def engine(self) -> sa.Engine:
        """The database engine; the schema is migrated on first use."""
        if self._engine is None:
            engine = db.create_engine(self.url, busy_timeout=self.settings.sqlite_busy_timeout)
            try:
                db.ensure_schema(engine)
            except MlgateError:
                engine.dispose()
                raise
            except (sa.exc.SQLAlchemyError, OSError) as exc:
                engine.dispose()
                raise db.translate_db_error(exc, self.url) from exc
            self._engine = engine
            # a Registry dropped without close() still returns its connections cleanly
            weakref.finalize(self, engine.dispose)
        return self._engine

    @property
    def blobs(self) -> BlobStore:
        """The artifact store."""
        if self._blobs is None:
            self._blobs = open_blob_store(self.settings.artifacts, s3_endpoint_url=self.settings.s3_endpoint_url)
        return self._blobs

    def close(self) -> None:
        """Release database connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise db.translate_db_error(exc, self.url) from exc

    @contextlib.contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect().execution_options(mlgate_write=True) as conn, conn.begin():
                yield conn
        except sa.exc.OperationalError as exc:
            raise db.translate_db_error(exc, self.url) from exc

    # -- reading ----------------------------------------------------------------------------------

    def _model_id(self, conn: sa.Connection, name: str) -> int:
        mid = conn.execute(sa.select(models.c.id).where(models.c.name == name)).scalar()
        if mid is None:
            known = conn.execute(sa.select(models.c.name).order_by(models.c.name).limit(20)).scalars().all()
            hint = f"registered models: {', '.join(known)}" if known else "no model is registered yet"
            raise NotFoundError(f"model {name!r} is not registered", hint=hint)
        return int(mid)

    def _aliases_of(self, conn: sa.Connection, version_ids: list[int]) -> dict[int, tuple[str, ...]]:
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

    def _build(self, name: str, row: Any, alias_names: tuple[str, ...] = ()) -> ModelVersion:
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
            created_at=_utc(row.created_at),
            aliases=alias_names,
            id=row.id,
        )

    def _resolve_row(self, conn: sa.Connection, ref: Ref) -> Any:
        # the common cases take one joined query; the model lookup runs only to explain a miss
        if ref.alias is not None or (ref.number is not None and 0 < ref.number <= MAX_NUMBER):
            q = sa.select(versions).join(models, models.c.id == versions.c.model_id).where(models.c.name == ref.name)
            if ref.alias is not None:
                q = q.join(aliases, aliases.c.version_id == versions.c.id).where(aliases.c.alias == ref.alias)
            else:
                q = q.where(versions.c.number == ref.number)
            row = conn.execute(q).first()
            if row is not None:
                return row
        mid = self._model_id(conn, ref.name)
        q = sa.select(versions).where(versions.c.model_id == mid)
        if ref.alias is not None:
            held = conn.execute(sa.select(aliases.c.alias).where(aliases.c.model_id == mid)).scalars().all()
            hint = (
                f"aliases of {ref.name}: {', '.join(sorted(held))}"
                if held
                else f"{ref.name} has no aliases yet; set one with: mlgate promote {ref.name}:N --to {ref.alias}"
            )
            raise NotFoundError(f"alias {ref.alias!r} of model {ref.name!r} does not exist", hint=hint)
        row = None
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
            row = self._latest_row(conn, mid)
        if row is None:
            latest = conn.execute(sa.select(sa.func.max(versions.c.number)).where(versions.c.model_id == mid)).scalar()
            hint = f"{ref.name} has versions 1 to {latest}" if latest else f"{ref.name} has no versions"
            raise NotFoundError(f"version {ref} does not exist", hint=hint)
        return row

    @staticmethod
    def _latest_row(conn: sa.Connection, model_id: int) -> Any:
        # "latest" is the newest full-run version: a smoke run's cheap model must not become what `fraud`
        # names (it is gated and listed only when asked for); a model with only smoke versions falls back
        newest_first = sa.select(versions).where(versions.c.model_id == model_id).order_by(versions.c.number.desc())
        row = conn.execute(newest_first.where(versions.c.status != SMOKE_STATUS).limit(1)).first()
        return row if row is not None else conn.execute(newest_first.limit(1)).first()

    def get(self, ref: str | Ref) -> ModelVersion:
        """The version a reference names: ``fraud``, ``fraud:7``, ``fraud:1.4.0`` or ``fraud@production``."""
        parsed = parse_ref(ref) if isinstance(ref, str) else ref
        with self._read() as conn:
            row = self._resolve_row(conn, parsed)
            return self._build(parsed.name, row, self._aliases_of(conn, [row.id]).get(row.id, ()))

    resolve = get

    def resolve_digest(self, ref: str | Ref) -> tuple[int, str]:
        """Just ``(number, digest)`` for a reference: the hot path of serving and alias watching."""
        parsed = parse_ref(ref) if isinstance(ref, str) else ref
        if parsed.alias is not None:
            with self._read() as conn:
                row = conn.execute(
                    sa.select(versions.c.number, versions.c.digest)
                    .select_from(models)
                    .join(aliases, aliases.c.model_id == models.c.id)
                    .join(versions, versions.c.id == aliases.c.version_id)
                    .where(models.c.name == parsed.name, aliases.c.alias == parsed.alias)
                ).first()
                if row is not None:
                    return int(row.number), str(row.digest)
        mv = self.get(parsed)
        return mv.number, mv.digest

    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of a model, oldest first."""
        check_name(name)
        with self._read() as conn:
            mid = self._model_id(conn, name)
            rows = conn.execute(sa.select(versions).where(versions.c.model_id == mid).order_by(versions.c.number)).all()
            held = self._aliases_of(conn, [r.id for r in rows])
            return [self._build(name, r, held.get(r.id, ())) for r in rows]

    def models(self) -> list[ModelSummary]:
        """Every registered model with its version count, latest version and aliases."""
        with self._read() as conn:
            out = []
            for m in conn.execute(sa.select(models).order_by(models.c.name)).all():
                latest = self._latest_row(conn, m.id)
                count = conn.execute(
                    sa.select(sa.func.count()).select_from(versions).where(versions.c.model_id == m.id)
                ).scalar()
                alias_map = dict(
                    conn.execute(
                        sa.select(aliases.c.alias, versions.c.number)
                        .join(versions, versions.c.id == aliases.c.version_id)
                        .where(aliases.c.model_id == m.id)
                        .order_by(aliases.c.alias)
                    ).all()
                )
                held = self._aliases_of(conn, [latest.id]) if latest else {}
                out.append(
                    ModelSummary(
                        m.name,
                        int(count or 0),
                        self._build(m.name, latest, held.get(latest.id, ())) if latest else None,
                        alias_map,
                    )
                )
            return out

    def aliases(self, name: str) -> dict[str, int]:
        """``{alias: version number}`` for one model."""
        check_name(name)
        with self._read() as conn:
            mid = self._model_id(conn, name)
            rows = conn.execute(
                sa.select(aliases.c.alias, versions.c.number)
                .join(versions, versions.c.id == aliases.c.version_id)
                .where(aliases.c.model_id == mid)
                .order_by(aliases.c.alias)
            ).all()
            return {a: int(n) for a, n in rows}

    # -- registering ------------------------------------------------------------------------------

    def register(
        self,
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
        """Store the files under ``source`` as the next version of ``name`` and return it.

        Blobs go first and may be written twice without harm; the version becomes visible in one
        transaction that takes its number from the model's row under a write lock.
        """
        check_name(name)
        stage = self.settings.stage_env
        _check_run_registry(self.url, stage.get("MLGATE_RUN_REGISTRY"))
        src = Path(source)
        if not src.exists():
            raise NotFoundError(f"model files {src} do not exist")
        if version is not None:
            _semver_tuple(version)
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
            self.blobs.put_file(info["digest"], root / rel)
        _failpoints.hit("register.after_blobs")
        size = sum(int(i["size"]) for i in entries.values())
        now = _now()
        with self._write() as conn:
            mid = self._ensure_model(conn, name, now)
            number = conn.execute(
                sa.update(models)
                .where(models.c.id == mid)
                .values(last_number=models.c.last_number + 1)
                .returning(models.c.last_number)
            ).scalar_one()
            base = version or self._next_semver(conn, mid, signature)
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
                    created_by=self.actor,
                    created_at=now,
                )
            )
            _failpoints.hit("register.before_commit")
        mv = self.get(Ref(name, number=int(number)))
        if stage.get("MLGATE_REGISTERED_FILE"):
            _note_registered(Path(stage["MLGATE_REGISTERED_FILE"]), mv)
        return mv

    def _ensure_model(self, conn: sa.Connection, name: str, now: datetime) -> int:
        mid = conn.execute(sa.select(models.c.id).where(models.c.name == name)).scalar()
        if mid is not None:
            return int(mid)
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        conn.execute(
            insert(models)
            .values(name=name, last_number=0, created_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        return int(conn.execute(sa.select(models.c.id).where(models.c.name == name)).scalar_one())

    def _next_semver(self, conn: sa.Connection, mid: int, signature: dict[str, Any]) -> str:
        from mlgate.signature import incompatibilities

        stable = conn.execute(
            sa.select(versions.c.stable_semver, versions.c.signature)
            .where(versions.c.model_id == mid, versions.c.stable_semver.is_not(None))
            .order_by(versions.c.id.desc())
        ).all()
        if not stable:
            return "1.0.0"
        newest = max(stable, key=lambda r: _semver_tuple(r.stable_semver))
        major, minor, _ = _semver_tuple(newest.stable_semver)
        if incompatibilities(newest.signature, signature):
            return f"{major + 1}.0.0"
        return f"{major}.{minor + 1}.0"

    # -- mutable metadata -------------------------------------------------------------------------

    def _version_id(self, conn: sa.Connection, ref: str | Ref) -> tuple[int, str, Any]:
        parsed = parse_ref(ref) if isinstance(ref, str) else ref
        row = self._resolve_row(conn, parsed)
        return int(row.id), f"{parsed.name}:{row.number}", row

    def set_tag(self, ref: str, key: str, value: str | None) -> ModelVersion:
        """Set (or, with ``value=None``, remove) one tag; the change is recorded."""
        if value is not None:  # any stored key can be removed, even one an older mlgate let through
            check_tag(key, value)
        with self._write() as conn:
            vid, _, row = self._version_id(conn, ref)
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
                self._record(conn, vid, "tag", key, old, value)
        return self.get(ref)

    def set_description(self, ref: str, text: str | None) -> ModelVersion:
        """Replace a version's description; the change is recorded."""
        check_description(text)
        with self._write() as conn:
            vid, _, row = self._version_id(conn, ref)
            if row.description != text:
                conn.execute(sa.update(versions).where(versions.c.id == vid).values(description=text))
                self._record(conn, vid, "description", None, row.description, text)
        return self.get(ref)

    def _record(self, conn: sa.Connection, vid: int, field: str, key: str | None, old: Any, new: Any) -> None:
        conn.execute(
            sa.insert(version_events).values(
                version_id=vid, field=field, key=key, old=old, new=new, actor=self.actor, created_at=_now()
            )
        )

    def version_history(self, ref: str) -> list[VersionEvent]:
        """Every recorded change of a version's tags, description and status, oldest first."""
        with self._read() as conn:
            vid, label, _ = self._version_id(conn, ref)
            rows = conn.execute(
                sa.select(version_events).where(version_events.c.version_id == vid).order_by(version_events.c.id)
            ).all()
        return [VersionEvent(label, r.field, r.key, r.old, r.new, r.actor, _utc(r.created_at)) for r in rows]

    # -- aliases ----------------------------------------------------------------------------------

    def _number_to_vid(self, conn: sa.Connection, name: str, mid: int, version: VersionLike) -> tuple[int, int]:
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
        row = self._resolve_row(conn, ref)
        return int(row.id), int(row.number)

    def set_alias(
        self,
        name: str,
        alias: str,
        version: VersionLike,
        *,
        expect: VersionLike | None = _UNSET,
        reason: str | None = None,
        forced: bool = False,
        gate_report: str | None = None,
        kind: str = "set",
        signer: str | None = None,
    ) -> AliasEvent:
        """Point ``alias`` at ``version``; with ``expect``, only if it still points at that one.

        ``expect=None`` means "only if the alias does not exist yet". A lost race raises
        ConflictError (exit 1) naming the version that holds the alias now.
        """
        check_name(name)
        check_alias(alias)
        attempts = 0
        while True:
            attempts += 1
            try:
                return self._set_alias_once(name, alias, version, expect, reason, forced, gate_report, kind, signer)
            except _Retry:
                if attempts >= 20:
                    raise ConflictError(
                        f"alias {name}@{alias} kept changing while it was being moved; try again"
                    ) from None
                time.sleep(0.01 * attempts)

    def _set_alias_once(
        self,
        name: str,
        alias: str,
        version: VersionLike,
        expect: Any,
        reason: str | None,
        forced: bool,
        gate_report: str | None,
        kind: str,
        signer: str | None = None,
    ) -> AliasEvent:
        now = _now()
        try:
            with self._write() as conn:
                mid = self._model_id(conn, name)
                to_vid, to_number = self._number_to_vid(conn, name, mid, version)
                cur = conn.execute(
                    sa.select(aliases.c.version_id, versions.c.number)
                    .join(versions, versions.c.id == aliases.c.version_id)
                    .where(aliases.c.model_id == mid, aliases.c.alias == alias)
                ).first()
                cur_vid, cur_number = (int(cur[0]), int(cur[1])) if cur else (None, None)
                if expect is not _UNSET:
                    expected = None if expect is None else self._number_to_vid(conn, name, mid, expect)[1]
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
                        self.actor,
                        reason,
                        kind,
                        forced,
                        gate_report,
                        now,
                        changed=False,
                    )
                if cur_vid is None:
                    conn.execute(
                        sa.insert(aliases).values(model_id=mid, alias=alias, version_id=to_vid, updated_at=now)
                    )
                else:
                    moved = conn.execute(
                        sa.update(aliases)
                        .where(
                            aliases.c.model_id == mid,
                            aliases.c.alias == alias,
                            aliases.c.version_id == cur_vid,
                        )
                        .values(version_id=to_vid, updated_at=now)
                    ).rowcount
                    if moved != 1:
                        if expect is not _UNSET:
                            raise ConflictError(f"{name}@{alias} was moved by someone else at the same time")
                        raise _Retry
                self._append_event(conn, mid, alias, cur_vid, to_vid, reason, kind, now, forced, gate_report, signer)
                if alias == RELEASE_ALIAS:
                    self._release(conn, mid, to_vid)
        except sa.exc.IntegrityError as exc:
            # two first-time inserts of the same alias raced; the loser learns who won
            if expect is not _UNSET:
                raise ConflictError(f"{name}@{alias} was created by someone else at the same time") from exc
            raise _Retry from exc
        return AliasEvent(
            name, alias, cur_number, to_number, self.actor, reason, kind, forced, gate_report, now, signer=signer
        )

    def _release(self, conn: sa.Connection, mid: int, vid: int) -> None:
        """Give a candidate its stable semantic version the first time it reaches production."""
        row = conn.execute(sa.select(versions).where(versions.c.id == vid)).one()
        if row.stable_semver is not None:
            return
        taken = {
            _semver_tuple(s)
            for s in conn.execute(
                sa.select(versions.c.stable_semver).where(
                    versions.c.model_id == mid, versions.c.stable_semver.is_not(None)
                )
            ).scalars()
        }
        major, minor, patch = _semver_tuple(row.semver)
        while (major, minor, patch) in taken:  # another candidate of this release shipped first
            patch += 1
        stable = f"{major}.{minor}.{patch}"
        conn.execute(sa.update(versions).where(versions.c.id == vid).values(stable_semver=stable, status="stable"))
        self._record(conn, vid, "status", None, f"candidate {row.semver}-rc.{row.rc}", f"stable {stable}")

    def _append_event(
        self,
        conn: sa.Connection,
        mid: int,
        alias: str,
        from_vid: int | None,
        to_vid: int | None,
        reason: str | None,
        kind: str,
        now: datetime,
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
                actor=self.actor,
                reason=reason,
                kind=kind,
                forced=forced,
                gate_report=gate_report,
                created_at=now,
            )
        )

    def delete_alias(
        self, name: str, alias: str, *, expect: VersionLike | None = _UNSET, reason: str | None = None
    ) -> AliasEvent:
        """Remove an alias; recorded like a move to nothing."""
        check_alias(alias)
        now = _now()
        with self._write() as conn:
            mid = self._model_id(conn, name)
            cur = conn.execute(
                sa.select(aliases.c.version_id, versions.c.number)
                .join(versions, versions.c.id == aliases.c.version_id)
                .where(aliases.c.model_id == mid, aliases.c.alias == alias)
            ).first()
            if cur is None:
                raise NotFoundError(f"alias {alias!r} of model {name!r} does not exist")
            if expect is not _UNSET and expect is not None:
                expected = self._number_to_vid(conn, name, mid, expect)[1]
                if expected != cur[1]:
                    raise ConflictError(f"{name}@{alias} now points to {name}:{cur[1]}, not {name}:{expected}")
            conn.execute(sa.delete(aliases).where(aliases.c.model_id == mid, aliases.c.alias == alias))
            self._append_event(conn, mid, alias, cur[0], None, reason, "delete", now)
        return AliasEvent(name, alias, int(cur[1]), None, self.actor, reason, "delete", False, None, now)

    def history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        """Every alias move of a model (or of one alias), oldest first."""
        check_name(name)
        fv, tv = versions.alias("fv"), versions.alias("tv")
        with self._read() as conn:
            mid = self._model_id(conn, name)
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
                _utc(r.created_at),
                signer=r.signer,
            )
            for r in rows
        ]

    def rollback(self, name: str, alias: str = RELEASE_ALIAS, *, reason: str | None = None) -> AliasEvent:
        """Move ``alias`` back to the version that held it before the current one.

        Rollbacks undo moves like a stack: rolling back twice after promoting 1 → 2 → 3 returns to 1.
        """
        events = self.history(name, alias)
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
            others = sorted({ev.to_number for ev in events if ev.to_number not in (None, stack[-1])})
            if others:  # rollbacks undo moves like a stack: every move since the first holder is undone
                listed = ", ".join(f"{name}:{n}" for n in others)
                message = (
                    f"every move of {name}@{alias} after {name}:{stack[-1]} has been rolled back already "
                    f"(it was held by {listed} in between), so there is no move left to undo"
                )
            else:
                message = (
                    f"{name}@{alias} has had no other holder than {name}:{stack[-1]}, so there is nothing to "
                    "roll back to"
                )
            raise UsageError(
                message,
                hint=f"to point it at another version, promote that one (`mlgate promote {name}:N --to {alias}`); "
                f"see `mlgate model history {name} --alias {alias}`",
            )
        return self.set_alias(
            name,
            alias,
            stack[-2],
            expect=stack[-1],
            reason=reason or f"rollback from {name}:{stack[-1]}",
            kind="rollback",
        )

    def alias_at(self, name: str, alias: str, when: datetime | str) -> ModelVersion | None:
        """The version that held ``alias`` at time ``when``, a datetime or an ISO string (None if none did)."""
        if isinstance(when, str):
            try:
                when = datetime.fromisoformat(when.strip())
            except ValueError:
                raise UsageError(f"{when!r} is not an ISO time such as 2026-11-23T10:00:00Z") from None
        when = _utc(when)
        with self._read() as conn:
            mid = self._model_id(conn, name)
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
        return self._build(name, row)

    # -- bytes ------------------------------------------------------------------------------------

    def materialize(self, mv: ModelVersion, dest: str | Path | None = None) -> Path:
        """Copy a version's files into ``dest`` (a new temporary folder by default), verifying each one.

        Any mismatch or missing blob raises IntegrityError naming the version and the file, and the
        partial copy is removed, so nothing unverified is ever loaded. The fields that decide how the
        bytes are read (flavor, its config, the signature, runs-code) are checked against the digested
        ``mlgate-model.json`` (:func:`check_bound_metadata`).
        """
        if manifest_digest(mv.manifest) != mv.digest:
            raise IntegrityError(
                f"{mv.ref}: the stored manifest does not match the version digest {mv.digest}; the registry "
                "database has been altered",
                hint="restore the registry from a backup; do not load this version",
            )
        target = Path(dest) if dest is not None else Path(tempfile.mkdtemp(prefix=f"mlgate-{mv.name}-{mv.number}-"))
        try:
            for rel, info in mv.manifest.items():
                out = target / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                try:
                    got = self.blobs.fetch(info["digest"], out)
                except NotFoundError:
                    raise IntegrityError(
                        f"{mv.ref}: file {rel!r} is missing from the artifact store {self.blobs.location} "
                        f"(blob {info['digest']})",
                        hint="restore the artifact store from a backup; nothing was loaded",
                    ) from None
                if got != info["digest"]:
                    raise IntegrityError(
                        f"{mv.ref}: file {rel!r} is corrupt: its digest is {got}, the version recorded "
                        f"{info['digest']}",
                        hint="the stored bytes changed after registration; restore the artifact store "
                        "from a backup; nothing was loaded",
                    )
            check_bound_metadata(mv, target)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        return target

    def put_blob(self, data: bytes) -> str:
        """Store small bytes (a profile, a report) content-addressed; returns their digest."""
        digest = digest_bytes(data)
        self.blobs.put_bytes(digest, data)
        return digest

    def read_blob(self, digest: str, *, what: str = "blob") -> bytes:
        """Read and verify small bytes stored with :meth:`put_blob`."""
        with tempfile.TemporaryDirectory(prefix="mlgate-blob-") as tmp:
            out = Path(tmp) / "blob"
            try:
                got = self.blobs.fetch(digest, out)
            except NotFoundError:
                raise IntegrityError(
                    f"{what} {digest} is missing from the artifact store {self.blobs.location}"
                ) from None
            if got != digest:
                raise IntegrityError(f"{what} {digest} is corrupt: its bytes hash to {got}")
            return out.read_bytes()

    def record_gate_report(
        self,
        ref: str | Ref,
        report: bytes,
        *,
        champion_digest: str | None,
        against: str,
        dataset_digest: str,
        config_digest: str,
        passed: bool,
    ) -> GateRecord:
        """Store a gate report's bytes and bind them to the version they judged; reports are never changed."""
        report_digest = self.put_blob(report)
        now = _now()
        with self._write() as conn:
            row = self._resolve_row(conn, parse_ref(ref) if isinstance(ref, str) else ref)
            rid = conn.execute(
                sa.insert(gate_reports)
                .values(
                    model_id=row.model_id,
                    version_id=row.id,
                    candidate_digest=row.digest,
                    champion_digest=champion_digest,
                    against=against,
                    dataset_digest=dataset_digest,
                    config_digest=config_digest,
                    passed=passed,
                    report_digest=report_digest,
                    created_by=self.actor,
                    created_at=now,
                )
                .returning(gate_reports.c.id)
            ).scalar_one()
            name = conn.execute(sa.select(models.c.name).where(models.c.id == row.model_id)).scalar_one()
        return GateRecord(
            int(rid),
            f"{name}:{row.number}",
            row.digest,
            champion_digest,
            against,
            dataset_digest,
            config_digest,
            passed,
            report_digest,
            self.actor,
            now,
        )

    def gate_reports(self, ref: str | Ref) -> list[GateRecord]:
        """Every gate report of a version, newest first."""
        with self._read() as conn:
            row = self._resolve_row(conn, parse_ref(ref) if isinstance(ref, str) else ref)
            name = conn.execute(sa.select(models.c.name).where(models.c.id == row.model_id)).scalar_one()
            rows = conn.execute(
                sa.select(gate_reports)
                .where(gate_reports.c.version_id == row.id)
                .order_by(gate_reports.c.created_at.desc(), gate_reports.c.id.desc())
            ).all()
        return [
            GateRecord(
                int(r.id),
                f"{name}:{row.number}",
                r.candidate_digest,
                r.champion_digest,
                r.against,
                r.dataset_digest,
                r.config_digest,
                bool(r.passed),
                r.report_digest,
                r.created_by,
                _utc(r.created_at),
            )
            for r in rows
        ]

    def add_signature(self, mv: ModelVersion, key_id: str, document: str) -> None:
        """Append a signature document (see :mod:`mlgate.signing`) to a version's events."""
        with self._write() as conn:
            vid, _, _ = self._version_id(conn, mv.ref)
            self._record(conn, vid, "signature", key_id, None, document)

    def signature_records(self, mv: ModelVersion) -> list[tuple[str, str]]:
        """The signature documents recorded for a version, oldest first, with who recorded each."""
        with self._read() as conn:
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

    def verify(self, ref: str | Ref) -> ModelVersion:
        """Check every file of a version against its digest without loading it."""
        mv = self.get(ref)
        tmp = self.materialize(mv)
        shutil.rmtree(tmp, ignore_errors=True)
        if mv.data_profile_digest:
            self.read_blob(mv.data_profile_digest, what=f"{mv.ref}: the training-data profile")
        return mv

    def gc(
        self,
        *,
        delete: bool = False,
        min_age_s: float = 3600.0,
        extra_stores: Sequence[BlobStore] = (),
        workspace_dirs: Sequence[Path] = (),
    ) -> GcResult:
        """Find blobs that no version references; delete those older than ``min_age_s`` if asked.

        The age guard protects a registration that has written its blobs but not yet committed. The
        temporary files of killed writers (in this store and ``extra_stores``), the temporary folders
        of killed registrations and the restore copies of killed cache restores (in ``workspace_dirs``)
        older than the same guard are found and deleted with them.
        """
        from mlgate.registry.leftovers import find_leftovers, remove_leftovers

        leftovers = find_leftovers([self.blobs, *extra_stores], min_age_s=min_age_s, workspace_dirs=workspace_dirs)
        with self._read() as conn:
            referenced: set[str] = set()
            for (entries,) in conn.execute(sa.select(versions.c.manifest)):
                referenced.update(i["digest"] for i in entries.values())
            referenced.update(d for (d,) in conn.execute(sa.select(versions.c.data_profile_digest)) if d)
            referenced.update(d for (d,) in conn.execute(sa.select(gate_reports.c.report_digest)))
        now = time.time()
        orphans, deleted, young = [], [], []
        for info in self.blobs.list():
            if info.digest in referenced:
                continue
            age = now - info.mtime
            orphans.append((info.digest, info.size, age))
            if delete:
                if age >= min_age_s:
                    self.blobs.delete(info.digest)
                    deleted.append(info.digest)
                else:
                    young.append(info.digest)
        removed = remove_leftovers(leftovers) if delete else []
        return GcResult(orphans, deleted, young, len(referenced), leftovers, removed)

    # -- pipeline runs ----------------------------------------------------------------------------

    def record_run(self, record: RunRecord) -> RunRecord:
        """Store one pipeline run; runs are never changed afterwards."""
        with self._write() as conn:
            conn.execute(
                sa.insert(runs).values(
                    id=record.id,
                    project=record.project,
                    status=record.status,
                    targets=record.targets,
                    params=record.params,
                    metrics=record.metrics,
                    stages=record.stages,
                    cache_hits=record.cache_hits,
                    git_commit=record.commit,
                    git=record.git,
                    started_at=record.started_at,
                    duration_s=record.duration_s,
                    created_by=record.created_by,
                )
            )
        return record

    def runs(self, *, limit: int = 20, project: str | None = None) -> list[RunRecord]:
        """The latest pipeline runs, newest first."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise UsageError(f"the number of runs to list must be a whole number of at least 1, got {limit!r}")
        # past the 64-bit integer SQL LIMIT takes, any limit means all of them
        query = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.id).limit(min(limit, 2**62))
        if project is not None:
            query = query.where(runs.c.project == project)
        with self._read() as conn:
            return [_run_record(r) for r in conn.execute(query)]

    def get_run(self, run_id: str) -> RunRecord:
        """One run by its id or a unique prefix of it."""
        text = run_id.strip()
        if not text or not text.isalnum():
            raise UsageError(f"{run_id!r} is not a run id", hint="run ids are shown by `mlgate runs list`")
        with self._read() as conn:
            rows = conn.execute(sa.select(runs).where(runs.c.id.startswith(text, autoescape=True)).limit(2)).all()
        if not rows:
            raise NotFoundError(f"no pipeline run {run_id!r}", hint="`mlgate runs list` shows the recorded runs")
        if len(rows) > 1:
            raise UsageError(f"run id prefix {run_id!r} is ambiguous", hint="give more characters of the id")
        return _run_record(rows[0])


def _run_record(r: Any) -> RunRecord:
    return RunRecord(
        id=r.id,
        project=r.project,
        status=r.status,
        targets=list(r.targets),
        params=dict(r.params),
        metrics=dict(r.metrics),
        stages=list(r.stages),
        cache_hits=int(r.cache_hits),
        git=r.git,
        started_at=_utc(r.started_at),
        duration_s=float(r.duration_s),
        created_by=r.created_by,
    )


def check_bound_metadata(mv: ModelVersion, folder: Path) -> bool:
    """Compare the version's database fields with the digested ``mlgate-model.json`` in ``folder``.

    Returns False for a version without that document (registered by :meth:`Registry.register` with
    other files, or by an older mlgate): its fields are then only as good as the database row. A field
    that differs raises IntegrityError naming it.
    """
    meta = folder / METADATA_FILE
    if METADATA_FILE not in mv.manifest or not meta.is_file():
        return False
    try:
        doc = json.loads(meta.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{mv.ref}: {METADATA_FILE} in the artifact is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise IntegrityError(f"{mv.ref}: {METADATA_FILE} in the artifact is not a JSON object")
    fields = [("flavor", "flavor", mv.flavor), ("flavor_config", "config", mv.flavor_config)]
    fields.append(("signature", "signature", mv.signature))
    if "runs_code" in doc:  # format 1 documents predate the flag; loading derives it from the config
        fields.append(("runs_code", "runs_code", mv.runs_code))
    for column, key, value in fields:
        if _canonical(doc.get(key)) != _canonical(value):
            raise IntegrityError(
                f"{mv.ref}: the registry's {column} ({_canonical(value)[:120]}) differs from the value bound to "
                f"the digest in {METADATA_FILE} ({_canonical(doc.get(key))[:120]}); the database row was altered",
                hint="restore the registry database from a backup; do not load this version",
            )
    return True


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


class _Retry(Exception):
    """Internal: an unconditional alias move raced and should run again."""
