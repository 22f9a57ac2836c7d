"""recorder nodes and their camera leases

Revision ID: 0022_node_leases
Revises: 0020_cases
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.store.models

revision = "0022_node_leases"
down_revision = "0020_cases"
branch_labels = None
depends_on = None

UtcDateTime = monitor.store.models.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "recorder_nodes",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("started_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("recorder_nodes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recorder_nodes_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "camera_leases",
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("since", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("previous_node", sa.String(length=64), nullable=True),
        sa.Column("taken_over", sa.Boolean(), nullable=False),
        sa.Column("status", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("camera_id"),
    )
    with op.batch_alter_table("camera_leases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_camera_leases_node"), ["node"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("camera_leases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_camera_leases_node"))
    op.drop_table("camera_leases")
    with op.batch_alter_table("recorder_nodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recorder_nodes_expires_at"))
    op.drop_table("recorder_nodes")
