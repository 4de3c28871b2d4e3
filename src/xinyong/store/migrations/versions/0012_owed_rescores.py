"""owed rescores: a batch records the rescore it owes in its own transaction

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 10:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xinyong.store.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "owed_rescores",
        sa.Column("batch_id", xinyong.store.types.BigId, autoincrement=False, nullable=False),
        sa.Column("owed_since", xinyong.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_owed_rescores_batch_id_batches")),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_owed_rescores")),
    )
    op.create_index("ix_batches_file_sha256", "batches", ["file_sha256"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_batches_file_sha256", table_name="batches")
    op.drop_table("owed_rescores")
