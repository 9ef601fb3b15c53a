"""The key that signed the version an alias moved to, where the alias requires a signature.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alias_events", sa.Column("signer", sa.String(160), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alias_events") as batch:
        batch.drop_column("signer")
