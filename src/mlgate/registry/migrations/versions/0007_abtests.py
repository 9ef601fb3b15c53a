"""A/B tests: a rollout's ``kind`` (``rollout`` or ``abtest``) and the A/B test's ``spec`` (metric, plan, bounds).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # existing rows are rollouts; the server default fills them, so the column can be NOT NULL at once
    op.add_column("rollouts", sa.Column("kind", sa.String(16), nullable=False, server_default="rollout"))
    op.add_column("rollouts", sa.Column("spec", JSON, nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy of the table would lose the partial index's WHERE
    op.execute("ALTER TABLE rollouts DROP COLUMN spec")
    op.execute("ALTER TABLE rollouts DROP COLUMN kind")
