"""The registry's tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData()

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)

models = sa.Table(
    "models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    # next sequence number, bumped under the row's write lock so numbers never repeat
    sa.Column("last_number", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", TS, nullable=False),
)

versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(80), nullable=False),
    sa.Column("flavor", sa.String(64), nullable=False),
    sa.Column("semver", sa.String(64), nullable=False),  # the release this version is a candidate for
    sa.Column("rc", sa.Integer, nullable=False),  # its candidate number within that release
    sa.Column("stable_semver", sa.String(64), nullable=True),  # set once promoted to production
    sa.Column("status", sa.String(16), nullable=False, server_default="candidate"),
    sa.Column("signature", JSON, nullable=False),
    sa.Column("manifest", JSON, nullable=False),
    sa.Column("lineage", JSON, nullable=False),
    sa.Column("environment", JSON, nullable=False),
    sa.Column("flavor_config", JSON, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("runs_code", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("data_profile_digest", sa.String(80), nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("tags", JSON, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("model_id", "number", name="uq_version_number"),
)
sa.Index("ix_versions_digest", versions.c.digest)

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), primary_key=True),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

alias_events = sa.Table(
    "alias_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("alias", sa.String(64), nullable=False),
    sa.Column("from_version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=True),
    sa.Column("to_version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("kind", sa.String(16), nullable=False, server_default="set"),  # set, rollback, delete
    sa.Column("forced", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("gate_report", sa.String(80), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("signer", sa.String(160), nullable=True),  # "key-name (key id)" where a signature was required
)
sa.Index("ix_alias_events_lookup", alias_events.c.model_id, alias_events.c.alias, alias_events.c.created_at)

version_events = sa.Table(
    "version_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("field", sa.String(32), nullable=False),  # tag, description, status
    sa.Column("key", sa.String(256), nullable=True),
    sa.Column("old", sa.Text, nullable=True),
    sa.Column("new", sa.Text, nullable=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)
sa.Index("ix_version_events_version", version_events.c.version_id)

gate_reports = sa.Table(
    "gate_reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("candidate_digest", sa.String(80), nullable=False),
    sa.Column("champion_digest", sa.String(80), nullable=True),  # None: no champion (first model)
    sa.Column("against", sa.String(64), nullable=False),
    sa.Column("dataset_digest", sa.String(80), nullable=False),
    sa.Column("config_digest", sa.String(80), nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("report_digest", sa.String(80), nullable=False),  # the JSON report's blob
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)
sa.Index("ix_gate_reports_binding", gate_reports.c.candidate_digest, gate_reports.c.champion_digest)
sa.Index("ix_gate_reports_version", gate_reports.c.version_id, gate_reports.c.created_at)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("project", sa.String(128), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("targets", JSON, nullable=False),
    sa.Column("params", JSON, nullable=False),
    sa.Column("metrics", JSON, nullable=False),
    sa.Column("stages", JSON, nullable=False),
    sa.Column("cache_hits", sa.Integer, nullable=False),
    sa.Column("git_commit", sa.String(64), nullable=True),
    sa.Column("git", JSON, nullable=True),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
)
sa.Index("ix_runs_started", runs.c.started_at)

# progressive delivery: one row per rollout; the partial unique index lets one alias have one active rollout
rollouts = sa.Table(
    "rollouts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("alias", sa.String(64), nullable=False),
    sa.Column("candidate_version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("stable_version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("steps", JSON, nullable=False),  # canary weights in percent, increasing, in (0, 100]
    sa.Column("step", sa.Integer, nullable=False),  # index into steps
    sa.Column("weight", sa.Float, nullable=False),  # the canary's share now, in percent (0 once aborted)
    sa.Column("status", sa.String(16), nullable=False),  # running, paused, aborted, promoted, stopped
    sa.Column("analysis", sa.String(64), nullable=False),
    sa.Column("pause_s", sa.Float, nullable=False),
    sa.Column("gate_report", sa.String(80), nullable=True),  # the passing report the candidate started with
    sa.Column("last_analysis", JSON, nullable=True),
    sa.Column("revision", sa.Integer, nullable=False),  # bumped by every change: updates compare and set it
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("step_started_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False, server_default="rollout"),  # rollout or abtest (0007)
    sa.Column("spec", JSON, nullable=True),  # an A/B test's metric, plan and bounds (0007)
)
ACTIVE_ROLLOUT = rollouts.c.status.in_(("running", "paused"))
sa.Index(
    "uq_rollouts_active",
    rollouts.c.model_id,
    rollouts.c.alias,
    unique=True,
    sqlite_where=ACTIVE_ROLLOUT,
    postgresql_where=ACTIVE_ROLLOUT,
)

rollout_events = sa.Table(
    "rollout_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("rollout_id", sa.Integer, sa.ForeignKey("rollouts.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # start, step, analysis, pause, resume, abort, promote
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("weight", sa.Float, nullable=False),
    sa.Column("detail", JSON, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)
sa.Index("ix_rollout_events_rollout", rollout_events.c.rollout_id, rollout_events.c.id)

# monitoring: each rule's streak and open state per monitored reference (restart-safe `mlgate monitor --follow`)
monitor_rules = sa.Table(
    "monitor_rules",
    metadata,
    sa.Column("subject", sa.String(200), primary_key=True),  # the monitored reference as given: fraud@production
    sa.Column("rule", sa.String(200), primary_key=True),
    sa.Column("streak", sa.Integer, nullable=False),  # windows in a row the condition held
    sa.Column("open", sa.Boolean, nullable=False),  # fired and not yet resolved
    sa.Column("last_window", TS, nullable=True),  # end of the last window judged: a restart judges only later ones
    sa.Column("opened_at", TS, nullable=True),
    sa.Column("evidence", sa.String(80), nullable=True),  # the monitor report it fired on
    sa.Column("updated_at", TS, nullable=False),
)

# what the rules did: alerts delivered or not (the delivery log), rollbacks, retrains; one row per act
monitor_events = sa.Table(
    "monitor_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # alert, resolve, rollback, retrain
    sa.Column("target", sa.String(200), nullable=False),  # the webhook's name, the alias, the forge
    sa.Column("evidence", sa.String(80), nullable=False),  # the monitor report's digest (its blob)
    sa.Column("status", sa.String(16), nullable=False),  # delivered, failed, done, refused
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("subject", "rule", "action", "target", "evidence", name="uq_monitor_event_once"),
)
sa.Index("ix_monitor_events_subject", monitor_events.c.subject, monitor_events.c.id)
