"""Monitoring: each rule's streak and open state per monitored reference, and what the rules did.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monitor_rules",
        sa.Column("subject", sa.String(200), primary_key=True),
        sa.Column("rule", sa.String(200), primary_key=True),
        sa.Column("streak", sa.Integer, nullable=False),
        sa.Column("open", sa.Boolean, nullable=False),
        sa.Column("last_window", TS, nullable=True),
        sa.Column("opened_at", TS, nullable=True),
        sa.Column("evidence", sa.String(80), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "monitor_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("evidence", sa.String(80), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("subject", "rule", "action", "target", "evidence", name="uq_monitor_event_once"),
    )
    op.create_index("ix_monitor_events_subject", "monitor_events", ["subject", "id"])


def downgrade() -> None:
    op.drop_index("ix_monitor_events_subject", table_name="monitor_events")
    op.drop_table("monitor_events")
    op.drop_table("monitor_rules")
