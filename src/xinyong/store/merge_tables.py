"""Tables of subject merges and splits, and of the mark a record carries when a person linked it.

A merge or split is proposed, decided by another reviewer, and undone by a later decision, all
appended (`subject_merge_proposals`, `subject_merge_decisions`). A confirmed decision writes its
effect into `subject_merges` (table of migration 0014: a merge points one subject at another, a
split reverses a merge or moves named records) and one row per record it moved into
`subject_merge_moves`, so the move can be reversed exactly. `record_links` says, of every record
version that a person's decision linked (a confirmed match, a merge, a split, or such a link
carried to a department's later revision), which decision it was: every explanation prints it.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table

from xinyong.store.metadata import metadata
from xinyong.store.types import BigId, Json, UTCDateTime

# A proposal: merge `other_id` into `subject_id`; or split: reverse merge `merge_id`, or move the
# named `records` ("SOURCE/REF") off `subject_id` onto `other_id`.
subject_merge_proposals = Table(
    "subject_merge_proposals",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("action", String(8), nullable=False),  # merge | split
    Column("subject_id", BigId, ForeignKey("subjects.id"), nullable=False, index=True),
    Column("other_id", BigId, ForeignKey("subjects.id"), nullable=False, index=True),
    Column("merge_id", BigId, ForeignKey("subject_merges.id")),  # a split that reverses this merge
    Column("records", Json),  # a split that moves these records
    Column("document_no", String(64)),  # the document that says the two are one
    Column("proposed_by", String(100), nullable=False),
    Column("reason", String(1000), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

# A reviewer's decision on a proposal, appended: confirm | reject | undo (naming the one it reverses).
subject_merge_decisions = Table(
    "subject_merge_decisions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("proposal_id", BigId, ForeignKey("subject_merge_proposals.id"), nullable=False, index=True),
    Column("outcome", String(8), nullable=False),
    Column("reverses", BigId, ForeignKey("subject_merge_decisions.id"), unique=True),
    Column("reviewer", String(100), nullable=False),
    Column("reason", String(1000), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("effect_id", BigId, ForeignKey("subject_merges.id")),  # what a confirm (or its undo) wrote
)

# One record moved by a merge or split (`subject_merges` row): from which subject and link, to which.
subject_merge_moves = Table(
    "subject_merge_moves",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("effect_id", BigId, ForeignKey("subject_merges.id"), nullable=False, index=True),
    Column("source_id", String(32), nullable=False),
    Column("source_ref", String(64), nullable=False),
    Column("from_subject", BigId, ForeignKey("subjects.id"), nullable=False),
    Column("from_method", String(16), nullable=False),  # the link it had: identifier | confirmed
    Column("from_mark", String(200)),  # and its mark, if a person had made it
    Column("to_subject", BigId, ForeignKey("subjects.id"), nullable=False),
    Column("record_id", BigId, ForeignKey("records.id"), nullable=False),  # the version the move wrote
    Index("ix_subject_merge_moves_source_id_source_ref", "source_id", "source_ref"),
)

# The decision a record version's link rests on, in words: "review 12 on 2027-03-04".
record_links = Table(
    "record_links",
    metadata,
    Column("record_id", BigId, ForeignKey("records.id"), primary_key=True, autoincrement=False),
    Column("mark", String(200), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)
