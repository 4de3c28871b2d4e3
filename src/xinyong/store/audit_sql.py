"""The statements of the audit chain that writers on the driver's connection share: its lock and
its head, and the columns of an event row."""

from __future__ import annotations

from sqlalchemy import select

from xinyong.store.engine import advisory_key
from xinyong.store.tables import audit_events

AUDIT_LOCK = "audit"
# The chain's head: the last event's hash and time (times are monotone along the chain).
HEAD = select(audit_events.c.hash, audit_events.c.at).order_by(audit_events.c.id.desc()).limit(1)
# The lock and the read as one query of two statements: one round trip, not two. psycopg sends a
# query without parameters by PostgreSQL's simple query protocol, which takes several statements,
# and never prepares a query that returns several results (its prepared statements would not).
_HEAD_SQL = "SELECT hash, at FROM audit_events ORDER BY id DESC LIMIT 1"
LOCKED_HEAD = f"SELECT pg_advisory_xact_lock({advisory_key(AUDIT_LOCK)}); {_HEAD_SQL}"
# The same, opening the transaction: for a writer that begins it on the driver's connection.
BEGIN_LOCKED_HEAD = f"BEGIN; {LOCKED_HEAD}"
EVENT_COLUMNS = ("at", "actor", "action", "target", "purpose", "prev_hash", "hash")
