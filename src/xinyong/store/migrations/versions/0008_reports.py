"""issued credit reports and open-data publications

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xinyong.store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _at() -> xinyong.store.types.UTCDateTime:
    return xinyong.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("code", sa.String(length=19), nullable=False),
        sa.Column("subject_id", _ID, nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_masked", sa.String(length=300), nullable=False),
        sa.Column("requester", sa.String(length=100), nullable=False),
        sa.Column("by_subject", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=True),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("issued_at", _at(), nullable=False),
        sa.Column("json_sha256", sa.String(length=64), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("catalog_version", sa.String(length=64), nullable=False),
        sa.Column("known_at", _at(), nullable=False),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_reports_subject_id_subjects")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_reports")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_subject_id"), ["subject_id"], unique=False)
    op.create_table(
        "publications",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("created_at", _at(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("known_at", _at(), nullable=False),
        sa.Column("catalog_version", sa.String(length=64), nullable=False),
        sa.Column("since_id", _ID, nullable=True),
        sa.Column("directory", sa.String(length=1000), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("counts", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
    )
    op.create_table(
        "publication_changes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("publication_id", _ID, nullable=False),
        sa.Column("item", sa.String(length=120), nullable=False),
        sa.Column("change", sa.String(length=8), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["publication_id"], ["publications.id"], name=op.f("fk_publication_changes_publication_id_publications")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication_changes")),
    )
    with op.batch_alter_table("publication_changes", schema=None) as batch_op:
        batch_op.create_index("ix_publication_changes_item_id", ["item", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("publication_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_publication_changes_item_id")
    op.drop_table("publication_changes")
    op.drop_table("publications")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_subject_id"))
    op.drop_table("reports")
