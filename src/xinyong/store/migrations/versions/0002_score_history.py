"""score history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xinyong.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "score_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("known_at", xinyong.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("catalog_version", sa.String(length=64), nullable=False),
        sa.Column("started_at", xinyong.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", xinyong.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("subjects", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_runs")),
    )
    op.create_table(
        "scores",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("subject_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("known_at", xinyong.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ruleset_id", sa.String(length=64), nullable=True),
        sa.Column("ruleset_version", sa.String(length=16), nullable=True),
        sa.Column("catalog_version", sa.String(length=64), nullable=False),
        sa.Column("points_cp", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("grade", sa.String(length=8), nullable=True),
        sa.Column(
            "contributions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["run_id"], ["score_runs.id"], name=op.f("fk_scores_run_id_score_runs")),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_scores_subject_id_subjects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
    )
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scores_run_id"), ["run_id"], unique=False)
        batch_op.create_index("ix_scores_subject_id_id", ["subject_id", "id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.drop_index("ix_scores_subject_id_id")
        batch_op.drop_index(batch_op.f("ix_scores_run_id"))

    op.drop_table("scores")
    op.drop_table("score_runs")
