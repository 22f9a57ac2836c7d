"""cases, their clips and chosen photographs

Revision ID: 0020_cases
Revises: 0021b_patrol_plans
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.store.models

revision = "0020_cases"
down_revision = "0021b_patrol_plans"
branch_labels = None
depends_on = None

UtcDateTime = monitor.store.models.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("window_start", UtcDateTime(timezone=True), nullable=True),
        sa.Column("window_end", UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("from_alert_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["from_alert_id"], ["alerts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_number"), ["number"], unique=True)
        batch_op.create_index(batch_op.f("ix_cases_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_created_by"), ["created_by"], unique=False)
    op.create_table(
        "case_clips",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("clip_id", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("placed_hold", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["clip_id"], ["clips.id"]),
        sa.PrimaryKeyConstraint("case_id", "clip_id"),
    )
    with op.batch_alter_table("case_clips", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_clips_clip_id"), ["clip_id"], unique=False)
    op.create_table(
        "case_photos",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("clip_id", sa.String(length=40), nullable=False),
        sa.Column("offset_seconds", sa.Float(), nullable=False),
        sa.Column("frame_time", UtcDateTime(timezone=True), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["clip_id"], ["clips.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_photos_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_table("case_photos")
    op.drop_table("case_clips")
    op.drop_table("cases")
