"""Records that are written once and never changed: gate reports (their bytes in a blob) and pipeline runs."""

from __future__ import annotations

import sqlalchemy as sa

from mlgate.errors import NotFoundError, UsageError
from mlgate.refs import Ref
from mlgate.registry.access import Access, now, utc
from mlgate.registry.materialize import put_blob
from mlgate.registry.rows import Row, as_ref, resolve_row
from mlgate.registry.tables import gate_reports, models, runs
from mlgate.registry.types import GateRecord, ModelVersion, RunRecord


def record_gate_report(
    acc: Access,
    ref: str | Ref | ModelVersion,
    report: bytes,
    *,
    champion_digest: str | None,
    against: str,
    dataset_digest: str,
    config_digest: str,
    passed: bool,
) -> GateRecord:
    """Store a gate report's bytes and bind them to the version they judged."""
    report_digest = put_blob(acc, report)
    when = now()
    with acc.write() as conn:
        row = resolve_row(conn, as_ref(ref))
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
                created_by=acc.actor,
                created_at=when,
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
        acc.actor,
        when,
    )


def list_gate_reports(acc: Access, ref: str | Ref | ModelVersion) -> list[GateRecord]:
    """Every gate report of a version, newest first."""
    with acc.read() as conn:
        row = resolve_row(conn, as_ref(ref))
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
            utc(r.created_at),
        )
        for r in rows
    ]


def record_run(acc: Access, record: RunRecord) -> RunRecord:
    """Store one pipeline run."""
    with acc.write() as conn:
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


def list_runs(acc: Access, *, limit: int = 20, project: str | None = None) -> list[RunRecord]:
    """The latest pipeline runs, newest first."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise UsageError(f"the number of runs to list must be a whole number of at least 1, got {limit!r}")
    # past the 64-bit integer SQL LIMIT takes, any limit means all of them
    query = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.id).limit(min(limit, 2**62))
    if project is not None:
        query = query.where(runs.c.project == project)
    with acc.read() as conn:
        return [_run_record(r) for r in conn.execute(query)]


def get_run(acc: Access, run_id: str) -> RunRecord:
    """One run by its id or a unique prefix of it."""
    text = run_id.strip()
    if not text or not text.isalnum():
        raise UsageError(f"{run_id!r} is not a run id", hint="run ids are shown by `mlgate runs list`")
    with acc.read() as conn:
        rows = conn.execute(sa.select(runs).where(runs.c.id.startswith(text, autoescape=True)).limit(2)).all()
    if not rows:
        raise NotFoundError(f"no pipeline run {run_id!r}", hint="`mlgate runs list` shows the recorded runs")
    if len(rows) > 1:
        raise UsageError(f"run id prefix {run_id!r} is ambiguous", hint="give more characters of the id")
    return _run_record(rows[0])


def _run_record(r: Row) -> RunRecord:
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
        started_at=utc(r.started_at),
        duration_s=float(r.duration_s),
        created_by=r.created_by,
    )
