"""The Registry: immutable versions, aliases moved by compare-and-set, histories, and garbage collection.

It stores and verifies bytes and metadata; it imports neither flavors nor data code, so everything
else can stand on it. :class:`Registry` is the facade users see; each method delegates to the module
that holds its concern, passing the registry's :class:`~mlgate.registry.access.Access` (engine, blobs,
actor): ``versions`` (register, read, tags, description, signatures), ``aliases`` (compare-and-set
moves, history, rollback, ``alias_at``), ``materialize`` (verified bytes out), ``records`` (gate
reports, pipeline runs), ``transfer`` (import and export of a version), ``gc``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mlgate.config import Settings, load_settings
from mlgate.errors import UsageError
from mlgate.refs import Ref
from mlgate.registry import aliases as _aliases
from mlgate.registry import db
from mlgate.registry import gc as _gc
from mlgate.registry import materialize as _materialize
from mlgate.registry import monitoring as _monitoring
from mlgate.registry import records as _records
from mlgate.registry import rollouts as _rollouts
from mlgate.registry import transfer as _transfer
from mlgate.registry import versions as _versions
from mlgate.registry.access import Access
from mlgate.registry.aliases import UNSET, Expect, VersionLike
from mlgate.registry.blobs import BlobStore
from mlgate.registry.materialize import METADATA_FILE, check_bound_metadata
from mlgate.registry.rollouts import Rollout, RolloutEvent
from mlgate.registry.rows import SMOKE_STATUS, as_ref
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

__all__ = ["METADATA_FILE", "SMOKE_STATUS", "Registry", "VersionLike", "check_bound_metadata"]


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
        self._access = Access(settings, actor or settings.actor)

    def __repr__(self) -> str:
        return f"Registry({db.describe_url(self.url)!r}, artifacts={self.settings.artifacts!r})"

    # -- plumbing ---------------------------------------------------------------------------------

    @property
    def actor(self) -> str:
        """Who is recorded as making the changes this registry object makes."""
        return self._access.actor

    @property
    def engine(self) -> sa.Engine:
        """The database engine; the schema is migrated on first use."""
        return self._access.engine

    @property
    def blobs(self) -> BlobStore:
        """The artifact store."""
        return self._access.blobs

    def close(self) -> None:
        """Release database connections."""
        self._access.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- versions ---------------------------------------------------------------------------------

    def get(self, ref: str | Ref | ModelVersion) -> ModelVersion:
        """The version a reference names: ``fraud``, ``fraud:7``, ``fraud:1.4.0`` or ``fraud@production``."""
        return _versions.get(self._access, ref)

    resolve = get

    def resolve_digest(self, ref: str | Ref | ModelVersion) -> tuple[int, str]:
        """Just ``(number, digest)`` for a reference: the hot path of serving and alias watching."""
        return _versions.resolve_digest(self._access, ref)

    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of a model, oldest first."""
        return _versions.list_versions(self._access, name)

    def models(self) -> list[ModelSummary]:
        """Every registered model with its version count, latest version and aliases."""
        return _versions.list_models(self._access)

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
        return _versions.register(
            self._access,
            name,
            source,
            flavor=flavor,
            signature=signature,
            flavor_config=flavor_config,
            lineage=lineage,
            environment=environment,
            version=version,
            tags=tags,
            description=description,
            runs_code=runs_code,
            data_profile_digest=data_profile_digest,
        )

    def import_version(
        self,
        source: Registry | str | Path,
        ref: str | Ref | ModelVersion | None = None,
        *,
        name: str | None = None,
        lineage: dict[str, Any] | None = None,
        aliases: Sequence[str] = (),
        reason: str | None = None,
    ) -> ModelVersion:
        """Copy one version from another registry (``source``, ``ref``) or a bundle folder into this one.

        The version keeps its number, digest, semantic version, status, tags, description, creator and
        version events (signatures included); ``name`` imports it under another model name, ``lineage``
        replaces its lineage, and each of ``aliases`` is then pointed at it (an ordinary, recorded move,
        with ``reason``). Every blob is verified against its digest before anything is written: a
        corrupt one raises IntegrityError. Importing the same version again changes nothing; another
        version under the same number raises ConflictError.
        """
        if isinstance(source, Registry):
            if ref is None:
                raise TypeError("import_version from a Registry needs the reference of the version to import")
            origin = _transfer.from_registry(source._access, ref)
        else:
            origin = _transfer.read_bundle(source)
            wanted = as_ref(ref) if ref is not None else None
            held = origin.version
            if wanted is not None and (wanted.name, wanted.number or held.number) != (held.name, held.number):
                raise UsageError(f"the bundle {source} holds {held.ref}, not {wanted}")
        return _transfer.import_version(
            self._access, origin, name=name, lineage=lineage, aliases=aliases, reason=reason
        )

    def export_version(self, ref: str | Ref | ModelVersion, dest: str | Path) -> Path:
        """Write one version (files, data profile, version events) as a bundle folder for :meth:`import_version`."""
        return _transfer.export_version(self._access, ref, dest)

    def set_tag(self, ref: str, key: str, value: str | None) -> ModelVersion:
        """Set (or, with ``value=None``, remove) one tag; the change is recorded."""
        return _versions.set_tag(self._access, ref, key, value)

    def set_description(self, ref: str, text: str | None) -> ModelVersion:
        """Replace a version's description; the change is recorded."""
        return _versions.set_description(self._access, ref, text)

    def version_history(self, ref: str) -> list[VersionEvent]:
        """Every recorded change of a version's tags, description and status, oldest first."""
        return _versions.version_history(self._access, ref)

    def add_signature(self, mv: ModelVersion, key_id: str, document: str) -> None:
        """Append a signature document (see :mod:`mlgate.signing`) to a version's events."""
        _versions.add_signature(self._access, mv, key_id, document)

    def signature_records(self, mv: ModelVersion) -> list[tuple[str, str]]:
        """The signature documents recorded for a version, oldest first, with who recorded each."""
        return _versions.signature_records(self._access, mv)

    # -- aliases ----------------------------------------------------------------------------------

    def aliases(self, name: str) -> dict[str, int]:
        """``{alias: version number}`` for one model."""
        return _aliases.aliases_of_model(self._access, name)

    def set_alias(
        self,
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
        """Point ``alias`` at ``version``; with ``expect``, only if it still points at that one.

        ``expect=None`` means "only if the alias does not exist yet". A lost race raises
        ConflictError (exit 1) naming the version that holds the alias now.
        """
        return _aliases.set_alias(
            self._access,
            name,
            alias,
            version,
            expect=expect,
            reason=reason,
            forced=forced,
            gate_report=gate_report,
            kind=kind,
            signer=signer,
        )

    def delete_alias(self, name: str, alias: str, *, expect: Expect = UNSET, reason: str | None = None) -> AliasEvent:
        """Remove an alias; recorded like a move to nothing."""
        return _aliases.delete_alias(self._access, name, alias, expect=expect, reason=reason)

    def history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        """Every alias move of a model (or of one alias), oldest first."""
        return _aliases.history(self._access, name, alias)

    def rollback(self, name: str, alias: str = RELEASE_ALIAS, *, reason: str | None = None) -> AliasEvent:
        """Move ``alias`` back to the version that held it before the current one.

        Rollbacks undo moves like a stack: rolling back twice after promoting 1 → 2 → 3 returns to 1.
        """
        return _aliases.rollback(self._access, name, alias, reason=reason)

    def alias_at(self, name: str, alias: str, when: datetime | str) -> ModelVersion | None:
        """The version that held ``alias`` at time ``when``, a datetime or an ISO string (None if none did)."""
        return _aliases.alias_at(self._access, name, alias, when)

    # -- bytes ------------------------------------------------------------------------------------

    def materialize(self, mv: ModelVersion, dest: str | Path | None = None) -> Path:
        """Copy a version's files into ``dest`` (a new temporary folder by default), verifying each one.

        Any mismatch or missing blob raises IntegrityError naming the version and the file, and the
        partial copy is removed, so nothing unverified is ever loaded. The fields that decide how the
        bytes are read (flavor, its config, the signature, runs-code) are checked against the digested
        ``mlgate-model.json`` (:func:`check_bound_metadata`).
        """
        return _materialize.materialize(self._access, mv, dest)

    def put_blob(self, data: bytes) -> str:
        """Store small bytes (a profile, a report) content-addressed; returns their digest."""
        return _materialize.put_blob(self._access, data)

    def read_blob(self, digest: str, *, what: str = "blob") -> bytes:
        """Read and verify small bytes stored with :meth:`put_blob`."""
        return _materialize.read_blob(self._access, digest, what=what)

    def verify(self, ref: str | Ref | ModelVersion) -> ModelVersion:
        """Check every file of a version against its digest without loading it."""
        return _materialize.verify(self._access, self.get(ref))

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
        return _gc.gc(
            self._access, delete=delete, min_age_s=min_age_s, extra_stores=extra_stores, workspace_dirs=workspace_dirs
        )

    # -- gate reports and pipeline runs -----------------------------------------------------------

    def record_gate_report(
        self,
        ref: str | Ref | ModelVersion,
        report: bytes,
        *,
        champion_digest: str | None,
        against: str,
        dataset_digest: str,
        config_digest: str,
        passed: bool,
    ) -> GateRecord:
        """Store a gate report's bytes and bind them to the version they judged; reports are never changed."""
        return _records.record_gate_report(
            self._access,
            ref,
            report,
            champion_digest=champion_digest,
            against=against,
            dataset_digest=dataset_digest,
            config_digest=config_digest,
            passed=passed,
        )

    def gate_reports(self, ref: str | Ref | ModelVersion) -> list[GateRecord]:
        """Every gate report of a version, newest first."""
        return _records.list_gate_reports(self._access, ref)

    def record_run(self, record: RunRecord) -> RunRecord:
        """Store one pipeline run; runs are never changed afterwards."""
        return _records.record_run(self._access, record)

    def runs(self, *, limit: int = 20, project: str | None = None) -> list[RunRecord]:
        """The latest pipeline runs, newest first."""
        return _records.list_runs(self._access, limit=limit, project=project)

    def get_run(self, run_id: str) -> RunRecord:
        """One run by its id or a unique prefix of it."""
        return _records.get_run(self._access, run_id)

    # -- rollouts (progressive delivery; the decisions live in mlgate.delivery) -----------------------

    def start_rollout(
        self,
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
        """Record a running rollout of ``name:candidate`` on ``alias`` (one active per alias, by the database).

        ``kind="abtest"`` records an A/B test held at its one step, ``spec`` its metric, plan and bounds.
        """
        return _rollouts.start_rollout(
            self._access,
            name,
            alias,
            candidate,
            stable=stable,
            steps=steps,
            analysis=analysis,
            pause_s=pause_s,
            gate_report=gate_report,
            kind=kind,
            spec=spec,
        )

    def rollout(self, name: str, alias: str, *, active_only: bool = False) -> Rollout:
        """The active rollout of ``name@alias``, else its latest one (NotFoundError when none)."""
        return _rollouts.get_rollout(self._access, name, alias, active_only=active_only)

    def rollouts(self, name: str) -> list[Rollout]:
        """Every rollout of a model, newest first."""
        return _rollouts.list_rollouts(self._access, name)

    def update_rollout(
        self, rollout: Rollout, *, kind: str, detail: dict[str, Any] | None = None, event: bool = True, **changes: Any
    ) -> Rollout:
        """Change an active rollout by compare-and-set on its revision, recording an event of ``kind`` if ``event``."""
        return _rollouts.update_rollout(self._access, rollout, kind=kind, detail=detail, event=event, **changes)

    def record_rollout_event(self, rollout: Rollout, kind: str, detail: dict[str, Any]) -> None:
        """Append an event to a rollout without changing it."""
        _rollouts.record_rollout_event(self._access, rollout, kind, detail)

    def rollout_events(self, rollout: Rollout | int) -> list[RolloutEvent]:
        """Every event of a rollout, oldest first."""
        return _rollouts.rollout_events_of(self._access, rollout if isinstance(rollout, int) else rollout.id)

    def rollout_route(self, name: str, alias: str) -> tuple[int, str, float] | None:
        """``(candidate number, digest, weight in [0, 1])`` of the active rollout on ``name@alias``, or None."""
        return _rollouts.rollout_route(self._access, name, alias)

    # -- monitoring -------------------------------------------------------------------------------

    def monitor_states(self, subject: str) -> dict[str, _monitoring.RuleState]:
        """The monitor rules' streaks and open states for one monitored reference (``fraud@production``)."""
        return _monitoring.load_states(self._access, subject)

    def save_monitor_states(self, subject: str, states: dict[str, _monitoring.RuleState]) -> None:
        """Write the monitor rules' states of one reference in one transaction."""
        _monitoring.save_states(self._access, subject, states)

    def record_monitor_event(self, event: _monitoring.MonitorEvent) -> _monitoring.MonitorEvent | None:
        """Log one act of a monitor rule (alert, resolve, rollback, retrain); None when logged already."""
        return _monitoring.record_event(self._access, event)

    def monitor_events(self, subject: str | None = None, *, limit: int = 100) -> list[_monitoring.MonitorEvent]:
        """The latest acts of the monitor rules (of one reference, or all), newest first."""
        return _monitoring.list_events(self._access, subject, limit=limit)

    def rollback_on_evidence(self, name: str, alias: str, *, expect: int, evidence: str, reason: str) -> AliasEvent:
        """Move ``alias`` from ``expect`` back to its previous holder on a monitor report's digest.

        Never twice on the same evidence, never onto a version that failed its own checks (CheckFailed);
        compare-and-set against ``expect`` (ConflictError).
        """
        return _monitoring.rollback_on_evidence(
            self._access, name, alias, expect=expect, evidence=evidence, reason=reason
        )
