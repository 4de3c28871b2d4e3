"""The delivery state of notices: which are due, who is sending which, how each attempt ended.

A run claims the notices it is about to send (`claim_due`) for a while (`lease`); any other run,
in this process or another, on this server or a replica, skips a claimed notice. The claim is an
UPDATE whose WHERE re-reads the row: PostgreSQL re-evaluates it on the row a concurrent claimer
just committed, and SQLite admits one writer at a time, so a notice is claimed by one run only.
A run that dies holding claims leaves them to expire; the notice is then sent again, under the
same `webhook-id`, and the receiver drops the repeat (Standard Webhooks).

Every time stored here (due, claimed until, attempted, delivered) and every time a claim or a due
notice is judged against is the platform's clock (`CLOCK.now()`): no caller's moment makes a
notice due early, keeps a claim alive, or backdates an attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from xinyong.domain.clock import CLOCK
from xinyong.store.ops_tables import notice_attempts, notice_deliveries
from xinyong.store.tables import notices
from xinyong.store.unit_of_work import ops_writing

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


@dataclass(frozen=True)
class Attempt:
    """How one attempt ended: `delivered`, else the error (and the HTTP status, if any)."""

    delivered: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0


def _insert(conn: Connection) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(notice_deliveries)


def _track_new(conn: Connection, channel: str, now: datetime) -> None:
    """Give every undelivered notice that no run has seen yet its delivery row, due at once."""
    d, n = notice_deliveries, notices
    new = (
        select(n.c.id)
        .select_from(n.outerjoin(d, d.c.notice_id == n.c.id))
        .where(n.c.delivered_at.is_(None), d.c.notice_id.is_(None))
    )
    ids = list(conn.scalars(new))
    if ids:
        values = [
            {"notice_id": i, "channel": channel, "state": PENDING, "attempts": 0, "next_attempt_at": now} for i in ids
        ]
        conn.execute(_insert(conn).on_conflict_do_nothing(index_elements=["notice_id"]), values)


def claim_due(
    engine: Engine, *, channel: str, holder: str, run_started: datetime, lease: timedelta, limit: int
) -> list[dict[str, Any]]:
    """Claim up to `limit` notices due for an attempt now (the clock's time), oldest first, and
    return them (the notice's columns, with `attempts` made so far). `run_started`: when the run
    began, which tries each notice once: one attempted since is left to the next run."""
    d = notice_deliveries
    now = CLOCK.now()
    until = now + lease
    free = or_(d.c.claimed_until.is_(None), d.c.claimed_until < now)
    untried = or_(d.c.last_attempt_at.is_(None), d.c.last_attempt_at < run_started)
    with ops_writing(engine) as conn:
        _track_new(conn, channel, now)
        due = list(
            conn.scalars(
                select(d.c.notice_id)
                .where(d.c.state == PENDING, d.c.next_attempt_at <= now, free, untried)
                .order_by(d.c.next_attempt_at, d.c.notice_id)
                .limit(limit)
            )
        )
        if not due:
            return []
        conn.execute(
            update(d)
            .where(d.c.notice_id.in_(due), d.c.state == PENDING, free)
            .values(claimed_by=holder, claimed_until=until)
        )
    with engine.connect() as conn:
        q = (
            select(notices, d.c.attempts)
            .join(d, d.c.notice_id == notices.c.id)
            .where(d.c.notice_id.in_(due), d.c.claimed_by == holder, d.c.claimed_until == until)
            .order_by(d.c.next_attempt_at, d.c.notice_id)
        )
        return [dict(r._mapping) for r in conn.execute(q)]


def record_attempt(
    engine: Engine,
    notice_id: int,
    *,
    channel: str,
    holder: str,
    attempt: Attempt,
    max_attempts: int,
    retry_after: timedelta,
) -> str:
    """Store how an attempt ended (at the clock's time), release the claim and return the
    notice's new state: delivered; pending, due again after `retry_after`; or dead after the last
    attempt."""
    d = notice_deliveries
    with ops_writing(engine) as conn:
        now = CLOCK.now()
        made = conn.scalar(select(d.c.attempts).where(d.c.notice_id == notice_id, d.c.claimed_by == holder))
        if made is None:  # the claim was lost (it expired and another run took it): leave it to that run
            return PENDING
        number = int(made) + 1  # since the notice was queued (again: see `retry_dead`)
        state = DELIVERED if attempt.delivered else DEAD if number >= max_attempts else PENDING
        ever = conn.scalar(select(func.max(notice_attempts.c.attempt)).where(notice_attempts.c.notice_id == notice_id))
        conn.execute(
            insert(notice_attempts).values(
                notice_id=notice_id,
                attempt=int(ever or 0) + 1,
                at=now,
                channel=channel,
                outcome="delivered" if attempt.delivered else "failed",
                status_code=attempt.status_code,
                error=(attempt.error or "")[:500] or None,
                duration_ms=attempt.duration_ms,
            )
        )
        conn.execute(
            update(d)
            .where(d.c.notice_id == notice_id)
            .values(
                channel=channel,
                state=state,
                attempts=number,
                next_attempt_at=now + retry_after if state == PENDING else now,
                claimed_by=None,
                claimed_until=None,
                last_attempt_at=now,
                last_error=None if attempt.delivered else (attempt.error or "")[:500],
                delivered_at=now if attempt.delivered else None,
            )
        )
        if attempt.delivered:
            conn.execute(update(notices).where(notices.c.id == notice_id).values(delivered_at=now, channel=channel))
    return state


def release(engine: Engine, notice_ids: list[int], holder: str) -> None:
    """Give back claims not attempted (the channel is down): due again at the next run."""
    if not notice_ids:
        return
    d = notice_deliveries
    with ops_writing(engine) as conn:
        conn.execute(
            update(d)
            .where(d.c.notice_id.in_(notice_ids), d.c.claimed_by == holder)
            .values(claimed_by=None, claimed_until=None)
        )


def retry_dead(engine: Engine, notice_ids: list[int] | None) -> int:
    """Put dead notices (all, or those named) back to pending, due at once, their attempts
    counted afresh (the attempts made stay in `notice_attempts`); how many."""
    d = notice_deliveries
    where = d.c.state == DEAD if notice_ids is None else and_(d.c.state == DEAD, d.c.notice_id.in_(notice_ids))
    with ops_writing(engine) as conn:
        result = conn.execute(
            update(d).where(where).values(state=PENDING, attempts=0, next_attempt_at=CLOCK.now(), last_error=None)
        )
        return int(result.rowcount or 0)


def delivery_counts(conn: Connection) -> dict[str, int]:
    """Notices by delivery state: `pending` counts those no run has seen yet too."""
    d, n = notice_deliveries, notices
    counts = {PENDING: 0, DELIVERED: 0, DEAD: 0}
    for state, k in conn.execute(select(d.c.state, func.count()).group_by(d.c.state)):
        counts[str(state)] = int(k)
    unseen = conn.scalar(
        select(func.count())
        .select_from(n.outerjoin(d, d.c.notice_id == n.c.id))
        .where(n.c.delivered_at.is_(None), d.c.notice_id.is_(None))
    )
    counts[PENDING] += int(unseen or 0)
    return counts


def dead_letters(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    """The notices set aside after their last attempt, newest first, with the last error."""
    d = notice_deliveries
    q = (
        select(
            d.c.notice_id,
            notices.c.recipient,
            notices.c.kind,
            d.c.channel,
            d.c.attempts,
            d.c.last_attempt_at,
            d.c.last_error,
        )
        .join(notices, notices.c.id == d.c.notice_id)
        .where(d.c.state == DEAD)
        .order_by(d.c.last_attempt_at.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
