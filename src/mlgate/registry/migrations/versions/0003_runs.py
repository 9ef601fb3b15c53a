"""Pipeline runs: params, metrics, stage outcomes and timings, cache hits and the git commit of each ``mlgate run``.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runs",
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
    op.create_index("ix_runs_started", "runs", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_runs_started", table_name="runs")
    op.drop_table("runs")
