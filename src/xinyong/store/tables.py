"""The system of record: SQLAlchemy Core tables.

Records are bitemporal: `valid_from`/`valid_until` is when a decision has legal effect,
`recorded_at`/`superseded_at` is when the platform knew this version of it. A correction is a new
row with a higher revision; the old row only gains its `superseded_at`.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from xinyong.store.types import BigId, Json, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

sources = Table(
    "sources",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("registered_at", UTCDateTime(), nullable=False),
)

subjects = Table(
    "subjects",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("display_name", String(200)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by_batch", BigId, ForeignKey("batches.id")),
)

identifiers = Table(
    "identifiers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subject_id", BigId, ForeignKey("subjects.id"), nullable=False, index=True),
    Column("scheme", String(32), nullable=False),
    # HMAC-SHA256 of "scheme:compact number" under the platform's identifier key.
    Column("value_hash", String(64), nullable=False),
    Column("masked", String(64), nullable=False),
    # The plain number, only for schemes that are not personal data (organisation codes).
    Column("value", String(64)),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("value_hash", "scheme"),
)

batches = Table(
    "batches",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source_id", String(32), ForeignKey("sources.id"), nullable=False, index=True),
    Column("file_name", String(500), nullable=False),
    Column("file_format", String(16), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("catalog_version", String(64), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("new_versions", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("unresolved", Integer, nullable=False),
    Column("subjects_created", Integer, nullable=False),
    Column("report_path", String(500)),
)

records = Table(
    "records",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source_id", String(32), ForeignKey("sources.id"), nullable=False),
    Column("source_ref", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("record_type", String(64), nullable=False),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", BigId, ForeignKey("subjects.id")),
    # How the subject link was made: 'identifier' (checksum-valid number); NULL while unresolved.
    Column("link_method", String(16)),
    Column("subject_name", String(200)),
    Column("id_scheme", String(32)),
    Column("id_hash", String(64)),
    Column("id_masked", String(64)),
    Column("decided_on", Date, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date),
    Column("document_no", String(64)),
    Column("attributes", Json, nullable=False),
    Column("status", String(16), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("batch_id", BigId, ForeignKey("batches.id"), nullable=False),
    Column("batch_line", Integer, nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("superseded_at", UTCDateTime()),
    UniqueConstraint("source_id", "source_ref", "revision"),
    Index("ix_records_subject_id", "subject_id"),
)

rejects = Table(
    "rejects",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("batch_id", BigId, ForeignKey("batches.id"), nullable=False, index=True),
    Column("line", Integer, nullable=False),
    Column("source_ref", String(64)),
    Column("field", String(64)),
    Column("code", String(32), nullable=False),
    Column("message", String(500), nullable=False),
)

unresolved = Table(
    "unresolved",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("record_id", BigId, ForeignKey("records.id"), nullable=False, unique=True),
    Column("reason_code", String(32), nullable=False),
    Column("reason", String(300), nullable=False),
    Column("queued_at", UTCDateTime(), nullable=False),
    Column("resolved_at", UTCDateTime()),
    Column("resolution", String(32)),
)

score_runs = Table(
    "score_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("mode", String(16), nullable=False),  # all | changed | subject
    Column("engine", String(16), nullable=False),  # online | embedded | spark
    Column("as_of", Date, nullable=False),
    Column("known_at", UTCDateTime(), nullable=False),
    Column("catalog_version", String(64), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=False),
    Column("subjects", Integer, nullable=False),
    # The newest record row the run could see: later rows are what changed since (see --changed).
    Column("max_record_id", BigId),
)

# Score history: every computed score is kept; a subject's current score is its latest row.
scores = Table(
    "scores",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", BigId, ForeignKey("score_runs.id"), nullable=False, index=True),
    Column("subject_id", BigId, ForeignKey("subjects.id"), nullable=False),
    Column("subject_kind", String(16), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("known_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),  # scored | not_opted_in | no_ruleset
    Column("ruleset_id", String(64)),
    Column("ruleset_version", String(16)),
    Column("catalog_version", String(64), nullable=False),
    Column("points_cp", BigId),
    Column("grade", String(8)),
    # [[rule_id, points_cp, record_id or null, kind], ...]: the whole explanation, by reference.
    Column("contributions", Json, nullable=False),
    Index("ix_scores_subject_id_id", "subject_id", "id"),
)
