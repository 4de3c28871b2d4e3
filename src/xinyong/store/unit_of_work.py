"""The unit of work: one object that owns a write's transaction, its locks, its knowledge-clock
stamp and the audit events the services register while it runs.

    with UnitOfWork.writing(engine, lock="maintain") as uow:
        stamp = uow.stamp()             # the knowledge clock, once per transaction (store.clock)
        uow.conn.execute(...)           # the write itself
        uow.audit(note, f"entry:{id}")  # who did what to which target, for what purpose

When the block ends without an error the registered events are appended to the audit chain as
the transaction's last step and everything commits together; when anything fails (the block, or
the append) nothing is stored: no data, no stamp, no event. See docs/unit-of-work.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import AuditFailed, Busy, XinyongError
from xinyong.store import clock
from xinyong.store import engine as engines
from xinyong.store.engine import LOCK_NOT_AVAILABLE, write_lock, writer_lock


def _busy() -> Busy:
    return Busy(f"the store has been busy with other writes for {engines.BUSY_TIMEOUT_S} s: try again later")


@dataclass(frozen=True)
class AuditNote:
    """What a caller asks a service to record of the write it makes: who, which action, for what
    purpose; `target` where the caller knows it, else the service names what it wrote."""

    actor: str
    action: str
    purpose: str | None = None
    target: str | None = None


@dataclass(frozen=True)
class AuditEvent:
    """One event of the audit chain, as registered in a unit of work."""

    actor: str
    action: str
    target: str
    purpose: str | None = None
    at: datetime = field(default_factory=CLOCK.now)  # the real clock, or a past one held


@dataclass
class UnitOfWork:
    """A write in progress (see the module's docstring); make one with `UnitOfWork.writing`."""

    conn: Connection
    events: list[AuditEvent] = field(default_factory=list)

    def stamp(self) -> datetime:
        """The knowledge-clock stamp of this write (one per transaction; see `store.clock`): the
        clock's time, never a moment the caller gave."""
        return clock.advance(self.conn)

    def lock(self, name: str) -> None:
        """Serialise this write with the other writers of kind `name` until it ends."""
        write_lock(self.conn, name)

    def audit(self, event: AuditEvent | AuditNote | None, target: str | None = None) -> None:
        """Register an audit event, appended as this write's last step. An `AuditNote` takes
        its own target if it names one, else `target` (what the service wrote); None is no event."""
        if event is None:
            return
        if isinstance(event, AuditNote):
            what = event.target or target
            if what is None:
                raise RuntimeError(f"the write of '{event.action}' named no target for its audit event")
            event = AuditEvent(event.actor, event.action, what, event.purpose)
        self.events.append(event)

    def _append_events(self) -> None:
        if not self.events:
            return
        from xinyong.services import audit  # the chain's format lives with the service that verifies it

        try:
            audit.append_many(
                self.conn, [audit.Event(e.actor, e.action, e.target, e.purpose, e.at) for e in self.events]
            )
        except (XinyongError, DBAPIError) as exc:
            if getattr(getattr(exc, "orig", None), "sqlstate", None) == LOCK_NOT_AVAILABLE:
                raise  # the chain was busy for the whole busy timeout: "try again later"
            first = self.events[0]
            raise AuditFailed(
                f"the audit event '{first.action} {first.target}' could not be appended (nothing was stored): {exc}"
            ) from exc

    @classmethod
    @contextmanager
    def writing(
        cls, engine: Engine, *, dated: bool = True, lock: str | None = None, bulk: bool = False
    ) -> Iterator[UnitOfWork]:
        """A write transaction that commits its data, its stamp and its audit events together.

        SQLite: BEGIN IMMEDIATE, after this process's writers queue on one lock (`writer_lock`).
        PostgreSQL: an ordinary transaction that first takes the knowledge clock (`clock.hold`)
        unless `dated` is False (a write of no records, identifiers or list transitions: checks,
        keys, sessions, audit events). `lock` names a kind of writer to serialise with (e.g.
        "ingest"); `bulk` marks a load whose rows come parents first (SQLite then skips its
        per-row foreign-key lookups). A bulk or locked write skips the in-process queue: it takes
        SQLite's lock with its own BEGIN IMMEDIATE, and writers that meet it wait in SQLite's busy
        handler."""
        queue = None if (bulk or lock) else writer_lock(engine)
        if queue is not None and not queue.acquire(timeout=engines.BUSY_TIMEOUT_S):
            raise _busy()
        try:
            with cls._transaction(engine, hold_clock=dated and not (bulk or lock), lock=lock, bulk=bulk) as uow:
                yield uow
        finally:
            if queue is not None:
                queue.release()

    @classmethod
    @contextmanager
    def _transaction(cls, engine: Engine, *, hold_clock: bool, lock: str | None, bulk: bool) -> Iterator[UnitOfWork]:
        options = {"xinyong_write": True, "xinyong_bulk": bulk}
        try:
            with engine.connect().execution_options(**options) as conn, conn.begin():
                uow = cls(conn)
                if lock is not None:
                    uow.lock(lock)
                if hold_clock and conn.dialect.name == "postgresql":
                    # Wait for the clock (a batch may hold it) as long as SQLite's writers wait
                    # for its lock, then "try again later".
                    conn.execute(text(f"SET LOCAL lock_timeout = '{engines.BUSY_TIMEOUT_S}s'"))
                    clock.hold(conn)
                yield uow
                uow._append_events()
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                raise _busy() from exc
            raise

    @staticmethod
    @contextmanager
    def reading(engine: Engine) -> Iterator[Connection]:
        """A connection for reads, in one transaction (one snapshot on SQLite; PostgreSQL's READ
        COMMITTED sees each statement's own)."""
        with engine.connect() as conn, conn.begin():
            yield conn


def record(engine: Engine, event: AuditEvent) -> None:
    """Append one event in a unit of work of its own: the event of a read, or of an operation
    that committed already. It queues for no knowledge clock."""
    with UnitOfWork.writing(engine, dated=False) as uow:
        uow.audit(event)


@contextmanager
def ops_writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction for operations' own rows: they write no records, identifiers or list
    transitions, so they need not queue for the knowledge clock (`dated=False`)."""
    with UnitOfWork.writing(engine, dated=False) as uow:
        yield uow.conn
