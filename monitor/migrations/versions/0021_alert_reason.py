"""alerts say why a camera's view was lost (tamper: covered, moved, defocused, dark)

Revision ID: 0021_alert_reason
Revises: 0015_custody_tree
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_alert_reason"
down_revision = "0015_custody_tree"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("reason")
