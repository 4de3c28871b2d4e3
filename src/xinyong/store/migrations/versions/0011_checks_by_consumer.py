"""a consumer lists its own checks, newest first

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_checks_consumer_created_at", "checks", ["consumer", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_checks_consumer_created_at", table_name="checks")
