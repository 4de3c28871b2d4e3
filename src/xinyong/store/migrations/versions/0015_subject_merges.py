"""subject merges reviewed like matches, and the mark of a record linked by a person

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import xinyong.store.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_BIG = xinyong.store.types.BigId
_AT = xinyong.store.types.UTCDateTime(timezone=True)
_JSON = xinyong.store.types.Json


def upgrade() -> None:
    _proposals_and_decisions()
    _moves_and_links()


def _proposals_and_decisions() -> None:
    op.create_table(
        "subject_merge_proposals",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("subject_id", _BIG, nullable=False),
        sa.Column("other_id", _BIG, nullable=False),
        sa.Column("merge_id", _BIG, nullable=True),
        sa.Column("records", _JSON, nullable=True),
        sa.Column("document_no", sa.String(length=64), nullable=True),
        sa.Column("proposed_by", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["merge_id"], ["subject_merges.id"], name=op.f("fk_subject_merge_proposals_merge_id_subject_merges")
        ),
        sa.ForeignKeyConstraint(
            ["other_id"], ["subjects.id"], name=op.f("fk_subject_merge_proposals_other_id_subjects")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_subject_merge_proposals_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_merge_proposals")),
    )
    op.create_index(op.f("ix_subject_merge_proposals_subject_id"), "subject_merge_proposals", ["subject_id"])
    op.create_index(op.f("ix_subject_merge_proposals_other_id"), "subject_merge_proposals", ["other_id"])
    op.create_table(
        "subject_merge_decisions",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("proposal_id", _BIG, nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("reverses", _BIG, nullable=True),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("effect_id", _BIG, nullable=True),
        sa.ForeignKeyConstraint(
            ["effect_id"], ["subject_merges.id"], name=op.f("fk_subject_merge_decisions_effect_id_subject_merges")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["subject_merge_proposals.id"],
            name=op.f("fk_subject_merge_decisions_proposal_id_subject_merge_proposals"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses"],
            ["subject_merge_decisions.id"],
            name=op.f("fk_subject_merge_decisions_reverses_subject_merge_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_merge_decisions")),
        sa.UniqueConstraint("reverses", name=op.f("uq_subject_merge_decisions_reverses")),
    )
    op.create_index(op.f("ix_subject_merge_decisions_proposal_id"), "subject_merge_decisions", ["proposal_id"])


def _moves_and_links() -> None:
    op.create_table(
        "subject_merge_moves",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("effect_id", _BIG, nullable=False),
        sa.Column("source_id", sa.String(length=32), nullable=False),
        sa.Column("source_ref", sa.String(length=64), nullable=False),
        sa.Column("from_subject", _BIG, nullable=False),
        sa.Column("from_method", sa.String(length=16), nullable=False),
        sa.Column("from_mark", sa.String(length=200), nullable=True),
        sa.Column("to_subject", _BIG, nullable=False),
        sa.Column("record_id", _BIG, nullable=False),
        sa.ForeignKeyConstraint(
            ["effect_id"], ["subject_merges.id"], name=op.f("fk_subject_merge_moves_effect_id_subject_merges")
        ),
        sa.ForeignKeyConstraint(
            ["from_subject"], ["subjects.id"], name=op.f("fk_subject_merge_moves_from_subject_subjects")
        ),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name=op.f("fk_subject_merge_moves_record_id_records")),
        sa.ForeignKeyConstraint(
            ["to_subject"], ["subjects.id"], name=op.f("fk_subject_merge_moves_to_subject_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_merge_moves")),
    )
    op.create_index(op.f("ix_subject_merge_moves_effect_id"), "subject_merge_moves", ["effect_id"])
    op.create_index(
        op.f("ix_subject_merge_moves_source_id_source_ref"), "subject_merge_moves", ["source_id", "source_ref"]
    )
    links = op.create_table(
        "record_links",
        sa.Column("record_id", _BIG, autoincrement=False, nullable=False),
        sa.Column("mark", sa.String(length=200), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name=op.f("fk_record_links_record_id_records")),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_record_links")),
    )
    # Records confirmed before this revision get their mark from their judgement.
    judged = sa.table(
        "link_judgements",
        sa.column("id", _BIG),
        sa.column("record_id", _BIG),
        sa.column("outcome", sa.String),
        sa.column("at", _AT),
    )
    rows = op.get_bind().execute(
        sa.select(judged.c.id, judged.c.record_id, judged.c.at).where(
            judged.c.outcome == "confirm", judged.c.record_id.isnot(None)
        )
    )
    marks = [
        {"record_id": r.record_id, "mark": f"review {r.id} on {r.at.date().isoformat()}", "at": r.at} for r in rows
    ]
    if marks:
        op.bulk_insert(links, marks)


def downgrade() -> None:
    op.drop_table("record_links")
    op.drop_table("subject_merge_moves")
    op.drop_table("subject_merge_decisions")
    op.drop_table("subject_merge_proposals")
