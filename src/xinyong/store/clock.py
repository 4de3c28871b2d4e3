"""The knowledge clock: when the platform knew what it knows, in the order it committed it.

Records, identifiers and list transitions carry the moment the platform learnt them, and a
check or a score read "as known at" a moment must find, when replayed, exactly what it found.
That breaks if a moment can be read while a write stamped earlier is still uncommitted: an
ingestion stamped at 10:00 that commits at 10:01 is invisible to a check at 10:00:30, but a
replay "as known at 10:00:30" would include it.

So every write of dated facts takes its stamp from this clock inside its transaction
(`advance`): the clock's row is locked until the transaction ends (SQLite's single writer;
PostgreSQL's row lock), so stamps increase in commit order. A reader takes as its `known_at`
the clock's committed stamp (`known_at`, or `KNOWN_AT` inside its own statement): every fact
stamped at or before it was committed before it, and every fact still being written carries a
later stamp. Replaying at that moment finds the same facts whenever it runs.

On PostgreSQL the clock is a row lock that writers of dated facts hold until they commit: take
it (`hold`) after any advisory lock and before any row lock, so that two writers never wait for
each other in opposite orders. `UnitOfWork.writing` does so unless told the transaction writes no dated
facts (checks and audit events). The one exception is the audit chain's advisory lock, which a
unit of work takes last, just before it commits: whoever holds it appends one event and
commits, waiting for no clock or row, so no cycle can form.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, select, update

from xinyong.domain.clock import CLOCK
from xinyong.store.tables import data_clock

TICK = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the stamp of a store that knows nothing yet (migration 0007)
ROW = data_clock.c.id == 1  # the clock's one row
_STAMP = select(data_clock.c.stamp).where(ROW)
_HELD = "xinyong.clock"  # conn.info: (transaction, stamp) of the transaction that advanced the clock

# The clock's committed stamp, for use inside a reader's own statement (one snapshot).
KNOWN_AT = _STAMP.scalar_subquery()


def hold(conn: Connection) -> None:
    """Take the clock for the rest of the current transaction without moving it yet."""
    conn.execute(_STAMP.with_for_update())


def advance(conn: Connection) -> datetime:
    """The stamp for the dated facts of the current write transaction: the clock's time
    (`CLOCK.now()`, never a caller's moment), or a tick after the last committed stamp if that is
    not earlier (knowledge time never runs backwards). One stamp per transaction: a later call in
    the same transaction returns the first one's. Holds the clock until the transaction ends.

    Called inside a savepoint first, the stamp is not kept for the transaction (the savepoint may
    roll the clock back): a later call takes the next one, later still, so every stamp written is
    still at most the committed one. Writers that use savepoints advance before them."""
    transaction = conn.get_transaction()
    if transaction is None:
        raise RuntimeError("advance the knowledge clock inside a write transaction")
    held = conn.info.get(_HELD)
    if held is not None and held[0] is transaction:
        stamp: datetime = held[1]
        return stamp
    now = CLOCK.now()
    last: datetime = conn.execute(_STAMP.with_for_update()).scalar_one()
    stamp = max(now, last + TICK)
    conn.execute(update(data_clock).where(ROW).values(stamp=stamp))
    if conn.get_nested_transaction() is None:
        conn.info[_HELD] = (transaction, stamp)
    return stamp


def latest(engine: Engine) -> datetime:
    """`known_at` on a connection of its own."""
    with engine.connect() as conn:
        return known_at(conn)


def known_at(conn: Connection) -> datetime:
    """The moment up to which everything the platform knows is committed."""
    stamp: datetime = conn.execute(_STAMP).scalar_one()
    return stamp
