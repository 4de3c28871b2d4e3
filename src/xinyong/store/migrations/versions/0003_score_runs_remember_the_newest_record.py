"""score runs remember the newest record

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("score_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("max_record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )


def downgrade() -> None:

    with op.batch_alter_table("score_runs", schema=None) as batch_op:
        batch_op.drop_column("max_record_id")
