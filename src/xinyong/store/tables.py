"""The system of record: SQLAlchemy Core tables.

Records are bitemporal: `valid_from`/`valid_until` is when a decision has legal effect, `recorded_at`/
`superseded_at` when the platform knew this version of it. A new version is a new row; the old one gains
`superseded_at`. A department's correction has a higher `revision`; a platform's version the next `version`.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from xinyong.store.metadata import metadata as metadata  # noqa: PLC0414 - re-exported: every table module uses it
from xinyong.store.types import BigId, Json, UTCDateTime

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
    Column("file_sha256", String(64), nullable=False, index=True),  # an unchanged file is not stored twice
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

# A batch owes the rescore of its subjects from the transaction that stores it until a rescore that
# saw it commits: a crash in between leaves the debt, which the next ingest or `rescore --changed`
# pays (see services.submission).
owed_rescores = Table(
    "owed_rescores",
    metadata,
    Column("batch_id", BigId, ForeignKey("batches.id"), primary_key=True, autoincrement=False),
    Column("owed_since", UTCDateTime(), nullable=False),
)

records = Table(
    "records",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source_id", String(32), ForeignKey("sources.id"), nullable=False),
    Column("source_ref", String(64), nullable=False),
    Column("revision", Integer, nullable=False),  # the department's own number of its correction
    Column("version", Integer, nullable=False, server_default="0"),  # 0: the department's row; 1, 2...: the platform's
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
    UniqueConstraint("source_id", "source_ref", "revision", "version"),
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

# -- due process: list entries, objections, repairs, notices --------------------------------------
# Decisions are appended rows; the only rows ever updated are the derived `list_entry_state`
# cache (rebuilt from the transitions at will) and a notice's `delivered_at`.

list_entries = Table(
    "list_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("list_id", String(64), nullable=False),
    Column("subject_id", BigId, ForeignKey("subjects.id"), nullable=False, index=True),
    Column("subject_kind", String(16), nullable=False),
    # The record that grounds the entry, by its lasting identity, and the version that met the criteria.
    Column("source_id", String(32), nullable=False),
    Column("source_ref", String(64), nullable=False),
    Column("record_id", BigId, ForeignKey("records.id"), nullable=False),
    Column("record_type", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("list_id", "source_id", "source_ref"),
)

list_transitions = Table(
    "list_transitions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("entry_id", BigId, ForeignKey("list_entries.id"), nullable=False),
    # 1, 2, 3... per entry: two deciders who read the same state both write the same seq, and the
    # unique constraint lets exactly one of them commit.
    Column("seq", Integer, nullable=False),
    Column("action", String(16), nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("reason", String(1000), nullable=False),
    Column("legal_basis", String(500), nullable=False),
    Column("listed_on", Date),
    Column("ends_on", Date),
    Column("ref", String(64)),  # what caused it: objection:12, repair:5, record:court/X-1
    UniqueConstraint("entry_id", "seq"),
)

list_entry_state = Table(
    "list_entry_state",
    metadata,
    Column("entry_id", BigId, ForeignKey("list_entries.id"), primary_key=True),
    Column("list_id", String(64), nullable=False),
    Column("subject_id", BigId, nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("notified_at", UTCDateTime()),
    Column("notice_ends_on", Date),
    Column("listed_on", Date),
    Column("ends_on", Date),
    Index("ix_list_entry_state_list_id_state", "list_id", "state"),
)

objections = Table(
    "objections",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subject_id", BigId, ForeignKey("subjects.id"), nullable=False, index=True),
    Column("target_kind", String(16), nullable=False),  # record | entry | link | score
    Column("source_id", String(32)),  # record and link targets: the record's lasting identity
    Column("source_ref", String(64)),
    Column("entry_id", BigId, ForeignKey("list_entries.id")),
    Column("score_id", BigId, ForeignKey("scores.id")),
    Column("grounds", String(2000), nullable=False),
    Column("filed_by", String(100), nullable=False),
    Column("filed_at", UTCDateTime(), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("appeal_of", BigId, ForeignKey("objections.id"), unique=True),  # appeals another's dismissal, once
    Column("forwarded_to", String(32)),  # the source that owns the list of the entry objected to, which decides it
)

objection_decisions = Table(
    "objection_decisions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("objection_id", BigId, ForeignKey("objections.id"), nullable=False, unique=True),
    Column("outcome", String(16), nullable=False),  # a domain.disputes.Outcome (16 characters at most)
    Column("actor", String(100), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("reason", String(1000), nullable=False),
    Column("remedy", Json, nullable=False),  # what was done: {"set": {...}}, {"record_stands": true}
    Column("appeal_until", Date),
)

repairs = Table(
    "repairs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subject_id", BigId, ForeignKey("subjects.id"), nullable=False, index=True),
    Column("source_id", String(32), nullable=False),
    Column("source_ref", String(64), nullable=False),
    Column("evidence_ref", String(200)),
    Column("commitment", Integer, nullable=False),  # 1 when a credit commitment was filed
    Column("filed_by", String(100), nullable=False),
    Column("filed_at", UTCDateTime(), nullable=False),
    Column("due_on", Date, nullable=False),
)

repair_decisions = Table(
    "repair_decisions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("repair_id", BigId, ForeignKey("repairs.id"), nullable=False, unique=True),
    Column("outcome", String(16), nullable=False),  # approved | refused
    Column("unmet", String(200)),  # comma-separated conditions a refusal names
    Column("reapply_on", Date),
    Column("actor", String(100), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("reason", String(1000), nullable=False),
)

notices = Table(
    "notices",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subject_id", BigId, ForeignKey("subjects.id"), index=True),
    Column("recipient", String(64), nullable=False),  # subject | source:<id>
    Column("kind", String(32), nullable=False),
    # The event it tells of (entry:5:3, objection:12, repair:4); one notice per recipient and event.
    Column("event_ref", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", String(4000), nullable=False),
    Column("respond_by", Date),
    Column("delivered_at", UTCDateTime()),
    Column("channel", String(200)),
    UniqueConstraint("recipient", "event_ref"),
)

maintenance_runs = Table(
    "maintenance_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("now", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=False),
    Column("counts", Json, nullable=False),
)

# -- checks and the audit chain --------------------------------------------------------------------

checks = Table(
    "checks",
    metadata,
    Column("id", String(32), primary_key=True),  # random, unguessable: it is shown to the consumer
    Column("created_at", UTCDateTime(), nullable=False),
    Column("consumer", String(100), nullable=False),
    Column("context", String(64), nullable=False),
    Column("purpose", String(200), nullable=False),
    Column("subject_id", BigId, ForeignKey("subjects.id"), index=True),
    Column("id_scheme", String(32)),
    Column("id_hash", String(64)),
    Column("id_masked", String(64)),
    Column("as_of", Date, nullable=False),
    Column("known_at", UTCDateTime(), nullable=False),
    Column("catalog_version", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("decision", Json, nullable=False),
    Column("certificate", Text, nullable=False),
    Index("ix_checks_consumer_created_at", "consumer", "created_at"),  # a consumer lists its own checks
)

# Append-only; each event carries the hash of the one before, so any change to the past shows.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(200), nullable=False),
    Column("purpose", String(200)),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)

# API keys and subject tokens: only a hash of the secret is kept; the key is shown once.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(16), primary_key=True),  # the public part of the key, to find its row
    Column("secret_hash", String(64), nullable=False),
    Column("role", String(16), nullable=False),  # source | consumer | reviewer | admin | subject
    Column("name", String(100), nullable=False),
    Column("scopes", Json, nullable=False),  # source: record types; consumer: contexts and purposes
    Column("subject_id", BigId, ForeignKey("subjects.id")),  # subject tokens only
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
)

# The knowledge clock: one row holding the stamp of the last committed write of dated facts
# (records, identifiers, list transitions). See xinyong.store.clock.
data_clock = Table(
    "data_clock",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("stamp", UTCDateTime(), nullable=False),
)

# Sessions of the web portal: the cookie holds a random id, signed; the row keeps only its hash,
# the key it stands for, and the CSRF secret of its forms. Revoking the key ends the session.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("key_id", String(16), ForeignKey("api_keys.id"), nullable=False, index=True),
    Column("csrf_secret", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
)

from xinyong.store import linking_tables as _linking_tables  # noqa: E402, F401 - match review, same metadata
from xinyong.store import ops_tables as _ops_tables  # noqa: E402, F401 - registers them on `metadata`
from xinyong.store.checkpoint_tables import audit_checkpoints  # noqa: E402, F401 - same metadata
from xinyong.store.report_tables import publication_changes, publications, reports  # noqa: E402, F401 - same metadata
