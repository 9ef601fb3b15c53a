"""The first registry schema: models, versions, aliases and their histories.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("last_number", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("flavor", sa.String(64), nullable=False),
        sa.Column("semver", sa.String(64), nullable=False),
        sa.Column("rc", sa.Integer, nullable=False),
        sa.Column("stable_semver", sa.String(64), nullable=True),
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
    op.create_index("ix_versions_digest", "model_versions", ["digest"])
    op.create_table(
        "aliases",
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), primary_key=True),
        sa.Column("alias", sa.String(64), primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "alias_events",
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
    )
    op.create_index("ix_alias_events_lookup", "alias_events", ["model_id", "alias", "created_at"])
    op.create_table(
        "version_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("key", sa.String(256), nullable=True),
        sa.Column("old", sa.Text, nullable=True),
        sa.Column("new", sa.Text, nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_version_events_version", "version_events", ["version_id"])


def downgrade() -> None:
    for index, table in (
        ("ix_version_events_version", "version_events"),
        ("ix_alias_events_lookup", "alias_events"),
        ("ix_versions_digest", "model_versions"),
    ):
        op.drop_index(index, table_name=table)
    for table in ("version_events", "alias_events", "aliases", "model_versions", "models"):
        op.drop_table(table)
