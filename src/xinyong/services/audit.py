"""The audit chain: every read of personal data and every write appends one hash-linked event.

Each event's hash covers its own fields and the previous event's hash, so altering, deleting,
inserting or reordering any event breaks the chain at that point, and `verify` names it.
Appending takes the store's "audit" lock, so concurrent writers extend one chain, not two.
A service registers its event in its write's unit of work (`store.unit_of_work`), which appends
it as the transaction's last step: the write and its event are stored together or not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import DBAPIError

from xinyong.domain.certificates import canonical
from xinyong.store.audit_sql import AUDIT_LOCK, HEAD, LOCKED_HEAD
from xinyong.store.engine import write_lock
from xinyong.store.tables import audit_events

GENESIS = "0" * 64


def event_hash(prev_hash: str, at: datetime, actor: str, action: str, target: str, purpose: str | None) -> str:
    body = canonical([prev_hash, at.astimezone(UTC).isoformat(), actor, action, target, purpose])
    return hashlib.sha256(body).hexdigest()


_INSERT = insert(audit_events)


class Event(NamedTuple):
    """One event to append: who did what to which target, for what purpose, when."""

    actor: str
    action: str
    target: str
    purpose: str | None
    at: datetime


def append_many(conn: Connection, events: Sequence[Event]) -> str:
    """Append events in their order inside the caller's write transaction (a unit of work's
    commit; the check path's group commit); the last one's hash."""
    if conn.dialect.name == "postgresql":
        prev, prev_at = _locked_head(conn)
    else:
        write_lock(conn, AUDIT_LOCK)
        head = conn.execute(HEAD).first()
        prev, prev_at = (head[0], head[1]) if head else (GENESIS, None)
    rows, last = chained(prev, events, prev_at)
    if rows:
        conn.execute(_INSERT, rows)
    return last


def chained(prev: str, events: Sequence[Event], prev_at: datetime | None = None) -> tuple[list[dict[str, Any]], str]:
    """The rows (`EVENT_COLUMNS`) of events appended, in order, after the event whose hash is
    `prev` and whose time is `prev_at`; and the last one's hash.

    Times are monotone along the chain: an event registered (stamped by the clock) before another
    writer's, but appended after it, takes that one's time; none is earlier than the one before."""
    rows = []
    for actor, action, target, purpose, when in events:
        at = when.astimezone(UTC)
        if prev_at is not None and at < prev_at:
            at = prev_at.astimezone(UTC)
        prev_at = at
        digest = event_hash(prev, at, actor, action, target[:200], purpose)
        rows.append(
            {
                "at": at,
                "actor": actor,
                "action": action,
                "target": target[:200],
                "purpose": purpose,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    return rows, prev


def _locked_head(conn: Connection) -> tuple[str, datetime | None]:
    """On PostgreSQL: take the audit lock and read the chain's last hash and time, in one round trip.

    Two statements, not one: in READ COMMITTED each statement reads a snapshot taken as it
    starts, so the read, which starts once the lock is granted, sees what the lock's previous
    holder committed (a read in the same statement as the lock would not)."""
    dbapi = conn.dialect.loaded_dbapi
    raw: Any = conn.connection.driver_connection
    try:
        with raw.cursor() as cursor:
            cursor.execute(LOCKED_HEAD)
            cursor.nextset()
            row = cursor.fetchone()
    except dbapi.Error as exc:  # as SQLAlchemy would raise it (a lock timeout is an OperationalError;
        # a lost connection fails the rollback that follows, and SQLAlchemy then discards it)
        raise DBAPIError.instance(LOCKED_HEAD, None, exc, dbapi.Error, dialect=conn.dialect) from exc
    return (str(row[0]), row[1]) if row else (GENESIS, None)


@dataclass(frozen=True)
class ChainReport:
    events: int
    problems: list[str]

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(engine: Engine) -> ChainReport:
    """Walk the chain in order and report every event whose link or hash does not hold."""
    problems: list[str] = []
    prev = GENESIS
    n = 0
    with engine.connect() as conn:
        for row in conn.execute(select(audit_events).order_by(audit_events.c.id)):
            n += 1
            if row.prev_hash != prev:
                problems.append(
                    f"event {row.id}: it follows {row.prev_hash[:12]}, but the event before it is {prev[:12]} "
                    "(an event was deleted, inserted or moved before it)"
                )
            expected = event_hash(row.prev_hash, row.at, row.actor, row.action, row.target, row.purpose)
            if row.hash != expected:
                problems.append(f"event {row.id}: its content does not match its hash (it was altered)")
            prev = row.hash
    return ChainReport(n, problems)
