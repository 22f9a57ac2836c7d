"""patrol plans

Revision ID: 0021b_patrol_plans
Revises: 0021_alert_reason
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.store.models

revision = "0021b_patrol_plans"
down_revision = "0021_alert_reason"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database made by create_all (as ``hotspot users`` does on a new site) already has the
    # table: it is adopted as it is, like the initial schema.
    if "patrol_plans" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "patrol_plans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", monitor.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("shift_start", monitor.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("shift_end", monitor.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("min_visits", sa.Integer(), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("visits", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_patrol_plans_shift_start"), "patrol_plans", ["shift_start"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_patrol_plans_shift_start"), table_name="patrol_plans")
    op.drop_table("patrol_plans")
