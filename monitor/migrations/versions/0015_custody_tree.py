"""custody log Merkle tree nodes

Revision ID: 0015_custody_tree
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_custody_tree"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `hotspot` commands open the evidence store, which creates its own tables, possibly
    # before the service first runs this migration on an existing database.
    if sa.inspect(op.get_bind()).has_table("custody_tree"):
        return
    op.create_table(
        "custody_tree",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
    )


def downgrade() -> None:
    op.drop_table("custody_tree")
