"""the knowledge clock

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 16:10:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import xinyong.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Every stamp written before the clock existed: the clock starts at the latest of them, or at the
# epoch in a store that knows nothing yet (no write can be in flight during a migration).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STAMPED = (
    ("records", "recorded_at"),
    ("records", "superseded_at"),
    ("identifiers", "created_at"),
    ("subjects", "created_at"),
    ("list_transitions", "at"),
)


def upgrade() -> None:
    clock = op.create_table(
        "data_clock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stamp", xinyong.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_clock")),
    )
    conn = op.get_bind()
    stamps = [EPOCH]
    for table, column in _STAMPED:
        col = sa.column(column, xinyong.store.types.UTCDateTime())
        latest = conn.execute(sa.select(sa.func.max(col, type_=col.type)).select_from(sa.table(table, col))).scalar()
        if latest is not None:
            stamps.append(latest)
    op.bulk_insert(clock, [{"id": 1, "stamp": max(stamps)}])


def downgrade() -> None:
    op.drop_table("data_clock")
