"""match review: linking models, identifier fragments, proposals, judgements, subject merges

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xinyong.store.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_BIG = xinyong.store.types.BigId
_AT = xinyong.store.types.UTCDateTime(timezone=True)
_JSON = xinyong.store.types.Json
_FRAGMENTS = (
    "id_whole", "id_region", "id_birth", "id_seq", "id_check", "id_birth_seq", "id_region_birth", "id_region_seq",
    "id_org_code", "id_authority",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "link_models",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("trained_at", _AT, nullable=False),
        sa.Column("saved_at", _AT, nullable=False),
        sa.Column("saved_by", sa.String(length=100), nullable=False),
        sa.Column("figures", _JSON, nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_models")),
        sa.UniqueConstraint("version", name=op.f("uq_link_models_version")),
    )
    op.create_table(
        "link_fragments",
        sa.Column("record_id", _BIG, autoincrement=False, nullable=False),
        sa.Column("scheme", sa.String(length=32), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=True) for c in _FRAGMENTS),
        sa.Column("id_corrections", _JSON, nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name=op.f("fk_link_fragments_record_id_records")),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_link_fragments")),
    )
    op.create_table(
        "link_proposals",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("record_id", _BIG, nullable=False),
        sa.Column("source_id", sa.String(length=32), nullable=False),
        sa.Column("source_ref", sa.String(length=64), nullable=False),
        sa.Column("subject_id", _BIG, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=False),
        sa.Column("prior_weight", sa.Float(), nullable=False),
        sa.Column("identifier_evidence", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("explanation", _JSON, nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version"], ["link_models.version"], name=op.f("fk_link_proposals_model_version_link_models")
        ),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name=op.f("fk_link_proposals_record_id_records")),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_link_proposals_subject_id_subjects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_proposals")),
        sa.UniqueConstraint(
            "record_id",
            "subject_id",
            "model_version",
            name=op.f("uq_link_proposals_record_id_subject_id_model_version"),
        ),
    )
    op.create_index("ix_link_proposals_source_id_source_ref", "link_proposals", ["source_id", "source_ref"])
    op.create_index("ix_link_proposals_priority_probability", "link_proposals", ["priority", "probability"])
    op.create_table(
        "link_judgements",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("proposal_id", _BIG, nullable=False),
        sa.Column("source_id", sa.String(length=32), nullable=False),
        sa.Column("source_ref", sa.String(length=64), nullable=False),
        sa.Column("subject_id", _BIG, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reverses", _BIG, nullable=True),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("record_id", _BIG, nullable=True),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["link_proposals.id"], name=op.f("fk_link_judgements_proposal_id_link_proposals")
        ),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name=op.f("fk_link_judgements_record_id_records")),
        sa.ForeignKeyConstraint(
            ["reverses"], ["link_judgements.id"], name=op.f("fk_link_judgements_reverses_link_judgements")
        ),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_link_judgements_subject_id_subjects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_judgements")),
        sa.UniqueConstraint("reverses", name=op.f("uq_link_judgements_reverses")),
    )
    op.create_index(op.f("ix_link_judgements_proposal_id"), "link_judgements", ["proposal_id"])
    op.create_index("ix_link_judgements_source_id_source_ref", "link_judgements", ["source_id", "source_ref"])
    op.create_table(
        "subject_merges",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("subject_id", _BIG, nullable=False),
        sa.Column("merged_id", _BIG, nullable=False),
        sa.Column("reverses", _BIG, nullable=True),
        sa.Column("proposed_by", sa.String(length=100), nullable=False),
        sa.Column("reviewed_by", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["merged_id"], ["subjects.id"], name=op.f("fk_subject_merges_merged_id_subjects")),
        sa.ForeignKeyConstraint(
            ["reverses"], ["subject_merges.id"], name=op.f("fk_subject_merges_reverses_subject_merges")
        ),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_subject_merges_subject_id_subjects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_merges")),
        sa.UniqueConstraint("reverses", name=op.f("uq_subject_merges_reverses")),
    )
    op.create_index(op.f("ix_subject_merges_subject_id"), "subject_merges", ["subject_id"])
    op.create_index(op.f("ix_subject_merges_merged_id"), "subject_merges", ["merged_id"])


def downgrade() -> None:
    op.drop_table("subject_merges")
    op.drop_table("link_judgements")
    op.drop_table("link_proposals")
    op.drop_table("link_fragments")
    op.drop_table("link_models")
