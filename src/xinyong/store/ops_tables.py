"""Tables of operations: the delivery of notices and the claims of scheduled jobs.

They sit on the store's one `metadata` (`store.tables` imports this module at its end), so
migrations, the schema comparison and the tests' truncation see them like every other table.
`ops_writing` is the one place where operations open a write transaction.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from xinyong.store.metadata import metadata
from xinyong.store.types import BigId, UTCDateTime

# One row per notice once a delivery run has seen it: where it stands with its channel.
notice_deliveries = Table(
    "notice_deliveries",
    metadata,
    Column("notice_id", BigId, ForeignKey("notices.id"), primary_key=True, autoincrement=False),
    Column("channel", String(200), nullable=False),
    Column("state", String(16), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    # A run that is delivering the notice holds it until then, so no other run sends it too.
    Column("claimed_by", String(100)),
    Column("claimed_until", UTCDateTime()),
    Column("last_attempt_at", UTCDateTime()),
    Column("last_error", String(500)),
    Column("delivered_at", UTCDateTime()),
    Index("ix_notice_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
)

# Every attempt, appended: when, through which channel, and how it ended.
notice_attempts = Table(
    "notice_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("notice_id", BigId, ForeignKey("notices.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("outcome", String(16), nullable=False),  # delivered | failed
    Column("status_code", Integer),
    Column("error", String(500)),
    Column("duration_ms", Integer, nullable=False),
    UniqueConstraint("notice_id", "attempt"),
)

# One row per scheduled job: the last slot claimed, by whom, until when, and how it ended.
scheduled_jobs = Table(
    "scheduled_jobs",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("slot", UTCDateTime(), nullable=False),
    Column("holder", String(100), nullable=False),
    Column("lease_until", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("outcome", String(16), nullable=False),  # running | ok | failed
    Column("tries", Integer, nullable=False),
    Column("detail", String(500)),
)
