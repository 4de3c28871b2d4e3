"""notice delivery and scheduled jobs

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xinyong.store.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_deliveries",
        sa.Column("notice_id", xinyong.store.types.BigId, autoincrement=False, nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", xinyong.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", xinyong.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", xinyong.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", xinyong.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name=op.f("fk_notice_deliveries_notice_id_notices")),
        sa.PrimaryKeyConstraint("notice_id", name=op.f("pk_notice_deliveries")),
    )
    op.create_index(
        "ix_notice_deliveries_state_next_attempt_at", "notice_deliveries", ["state", "next_attempt_at"], unique=False
    )
    op.create_table(
        "notice_attempts",
        sa.Column("id", xinyong.store.types.BigId, autoincrement=True, nullable=False),
        sa.Column("notice_id", xinyong.store.types.BigId, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", xinyong.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name=op.f("fk_notice_attempts_notice_id_notices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_attempts")),
        sa.UniqueConstraint("notice_id", "attempt", name=op.f("uq_notice_attempts_notice_id_attempt")),
    )
    op.create_table(
        "scheduled_jobs",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("slot", xinyong.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("lease_until", xinyong.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", xinyong.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", xinyong.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_jobs")),
    )


def downgrade() -> None:
    op.drop_table("scheduled_jobs")
    op.drop_table("notice_attempts")
    op.drop_index("ix_notice_deliveries_state_next_attempt_at", table_name="notice_deliveries")
    op.drop_table("notice_deliveries")
