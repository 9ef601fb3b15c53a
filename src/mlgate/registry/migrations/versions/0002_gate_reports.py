"""Gate reports: immutable verdicts bound to (candidate, champion, dataset, gate config) digests.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gate_reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
        sa.Column("candidate_digest", sa.String(80), nullable=False),
        sa.Column("champion_digest", sa.String(80), nullable=True),
        sa.Column("against", sa.String(64), nullable=False),
        sa.Column("dataset_digest", sa.String(80), nullable=False),
        sa.Column("config_digest", sa.String(80), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("report_digest", sa.String(80), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_gate_reports_binding", "gate_reports", ["candidate_digest", "champion_digest"])
    op.create_index("ix_gate_reports_version", "gate_reports", ["version_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_gate_reports_version", table_name="gate_reports")
    op.drop_index("ix_gate_reports_binding", table_name="gate_reports")
    op.drop_table("gate_reports")
