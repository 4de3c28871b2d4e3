"""Tables of match review: linking models, identifier fragments, proposals, judgements, subject merges.

They sit on the store's one `metadata` (`store.tables` imports this module at its end). Decisions
are appended rows: a judgement is never changed, an undo is a new judgement naming the one it
reverses; a merge or split of subjects likewise. The only rows ever replaced are proposals of a
record that a later run scored again (they are suggestions, not decisions).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from xinyong.store.metadata import metadata
from xinyong.store.types import BigId, Json, UTCDateTime

# A trained model, saved with its version (SHA-256 of its content) and its training figures.
link_models = Table(
    "link_models",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("version", String(64), nullable=False, unique=True),
    Column("trained_at", UTCDateTime(), nullable=False),
    Column("saved_at", UTCDateTime(), nullable=False),
    Column("saved_by", String(100), nullable=False),
    Column("figures", Json, nullable=False),  # subjects and records it learnt from, levels from EM / priors
    Column("model", Text, nullable=False),  # the model file (LinkModel.save), verified when loaded
)

# The keyed-hash fragments of the identifier an unresolved record was submitted with, computed at
# ingestion while the raw number was in hand (the number itself is never stored). `id_whole` and
# the corrections are keyed hashes in the identifiers' own space (IdentifierVault.digest), so they
# compare with every subject's stored identifier hash; the parts use the fragment domains.
link_fragments = Table(
    "link_fragments",
    metadata,
    Column("record_id", BigId, ForeignKey("records.id"), primary_key=True, autoincrement=False),
    Column("scheme", String(32), nullable=False),
    Column("id_whole", BigInteger),
    Column("id_region", BigInteger),
    Column("id_birth", BigInteger),
    Column("id_seq", BigInteger),
    Column("id_check", BigInteger),
    Column("id_birth_seq", BigInteger),
    Column("id_region_birth", BigInteger),
    Column("id_region_seq", BigInteger),
    Column("id_org_code", BigInteger),
    Column("id_authority", BigInteger),
    Column("id_corrections", Json, nullable=False),
)

# A candidate subject for a record, as one model version scored it.
link_proposals = Table(
    "link_proposals",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("record_id", BigId, ForeignKey("records.id"), nullable=False),
    Column("source_id", String(32), nullable=False),  # the record's lasting identity
    Column("source_ref", String(64), nullable=False),
    Column("subject_id", BigId, ForeignKey("subjects.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("probability", Float, nullable=False),
    Column("match_weight", Float, nullable=False),
    Column("prior_weight", Float, nullable=False),
    Column("identifier_evidence", Integer, nullable=False),
    Column("priority", String(8), nullable=False),  # high | normal
    Column("explanation", Json, nullable=False),  # per comparison: level, weight, tf_adjustment, text
    Column("model_version", String(64), ForeignKey("link_models.version"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("record_id", "subject_id", "model_version"),
    Index("ix_link_proposals_source_id_source_ref", "source_id", "source_ref"),
    Index("ix_link_proposals_priority_probability", "priority", "probability"),
)

# A reviewer's judgement on a proposal, appended. An undo is a judgement with outcome `undo` that
# names the one it reverses (at most one undo each). A confirmation names the record version it
# wrote (the record linked, known from the judgement's moment on).
link_judgements = Table(
    "link_judgements",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("proposal_id", BigId, ForeignKey("link_proposals.id"), nullable=False, index=True),
    Column("source_id", String(32), nullable=False),
    Column("source_ref", String(64), nullable=False),
    Column("subject_id", BigId, ForeignKey("subjects.id"), nullable=False),
    Column("outcome", String(16), nullable=False),  # confirm | reject | unsure | undo
    Column("reverses", BigId, ForeignKey("link_judgements.id"), unique=True),
    Column("reviewer", String(100), nullable=False),
    Column("reason", String(1000), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("record_id", BigId, ForeignKey("records.id")),  # the version a confirm (or its undo) wrote
    Index("ix_link_judgements_source_id_source_ref", "source_id", "source_ref"),
)

# A merge (two subjects are one) or split (they are two after all), appended and reviewed; a split
# reverses a merge. Subject ids never change: a merge only points one at the other.
subject_merges = Table(
    "subject_merges",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("action", String(8), nullable=False),  # merge | split
    Column("subject_id", BigId, ForeignKey("subjects.id"), nullable=False, index=True),  # the one kept
    Column("merged_id", BigId, ForeignKey("subjects.id"), nullable=False, index=True),
    Column("reverses", BigId, ForeignKey("subject_merges.id"), unique=True),
    Column("proposed_by", String(100), nullable=False),
    Column("reviewed_by", String(100), nullable=False),
    Column("reason", String(1000), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

from xinyong.store import merge_tables as _merge_tables  # noqa: E402, F401 - proposals and moves of merges, same metadata
