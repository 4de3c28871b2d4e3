"""Engines, migrations and the few places where SQLite and PostgreSQL differ."""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
import zlib
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Dialect, Engine, Select, Table, create_engine, event, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, NoResultFound, OperationalError

from xinyong.domain.errors import Busy, ConfigurationError
from xinyong.store import clock

SUPPORTED = ("sqlite", "postgresql")
# A pooled PostgreSQL connection idle this long is tested before use (see `_ping_when_idle`).
IDLE_PING_S = 1.0
_LAST_USED = "xinyong_last_used"
_FOREIGN_KEYS_OFF = "xinyong_foreign_keys_off"
# SQLite admits one writer at a time and makes the others poll with sleeps of 1 ms and more; the
# writers of one process queue on this lock instead and start the moment the one before commits.
_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
# How long a writer waits for the store (SQLite's busy timeout, and the in-process writer lock).
BUSY_TIMEOUT_S = 60
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout runs out
_BUSY = f"the store has been busy with other writes for {BUSY_TIMEOUT_S} s: try again later"
# Frames a server's SQLite log may reach before a commit copies it back: twice the point at
# which its `WalCheckpointer` restarts the log, so that while it runs no commit ever does.
SERVER_WAL_AUTOCHECKPOINT = 20_000


# SQLite's page for a new store: 32 KiB, not its default of 4 KiB. A record is about half a
# kilobyte, and ingestion appends to the records table and inserts into its indexes at random:
# with larger pages a million records cost far fewer page splits and log frames. Measured on a
# million-record batch: the store's inserts 35% faster at 32 KiB (64 KiB gained less); the
# check path (point reads and small commits) unchanged. An existing store keeps its page size.
PAGE_SIZE = 32768


MIN_SQLITE = (3, 38)  # `->` and `->>`, with which the scoring export reads attributes


def make_engine(
    url: str,
    *,
    wal_autocheckpoint: int = 1000,
    idle_ping_s: float = IDLE_PING_S,
    busy_timeout_s: float = BUSY_TIMEOUT_S,
    **kwargs: Any,
) -> Engine:
    """Create an engine for a supported backend, configured the way xinyong needs it.

    SQLite runs in WAL mode with foreign keys on. Its Python driver opens transactions lazily and
    only before writes; we take over and emit BEGIN ourselves (the recipe in SQLAlchemy's SQLite
    documentation), so that a transaction covers its reads and `write_lock` can make it IMMEDIATE.

    SQLite copies its write-ahead log back into the database from within the commit that makes
    the log `wal_autocheckpoint` frames long (SQLite's default: 1000): that commit takes tens of
    milliseconds. A server runs a `WalCheckpointer` and passes SERVER_WAL_AUTOCHECKPOINT, so no
    request pays for it while the checkpointer runs, and the log stays bounded if it does not.
    """
    backend = make_url(url).get_backend_name()
    if backend not in SUPPORTED:
        raise ConfigurationError(f"unsupported database '{backend}' in {url!r}: use sqlite or postgresql")
    if backend == "sqlite":
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise ConfigurationError(
                f"xinyong needs SQLite {'.'.join(map(str, MIN_SQLITE))} or newer (its JSON operators); "
                f"this Python's sqlite3 module has {sqlite3.sqlite_version}"
            )
        path = make_url(url).database
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA page_size={PAGE_SIZE}")  # takes effect only on a new, empty database
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            # 64 MiB: the indexes a batch of a million records inserts into at random (identifiers
            # by keyed hash, records by subject) stay in memory; twice that was no faster, and
            # it kept ingestion's memory above its 500 MB budget.
            cur.execute("PRAGMA cache_size=-65536")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            options = conn.get_execution_options()
            if options.get("xinyong_bulk", False):
                # Bulk loads insert parents before children in one transaction by construction;
                # SQLite's per-row foreign key lookups would double their cost. PostgreSQL still
                # enforces every key, and every store test runs there too.
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.connection.info[_FOREIGN_KEYS_OFF] = True
            # On the driver's connection: through SQLAlchemy's execution path, a BEGIN would
            # cost as much as the primary-key lookup it often precedes.
            write = options.get("xinyong_write", False)
            try:
                conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")  # type: ignore[union-attr]
            except sqlite3.OperationalError as exc:
                if write and exc.sqlite_errorname == "SQLITE_BUSY":
                    raise Busy(f"another writer held the store for {busy_timeout_s:g} s: try again later") from exc
                raise

        @event.listens_for(engine, "checkin")
        def _on_checkin(dbapi_conn: Any, record: Any) -> None:
            if record.info.pop(_FOREIGN_KEYS_OFF, False) and dbapi_conn is not None:
                dbapi_conn.execute("PRAGMA foreign_keys=ON")

        _WRITERS[engine] = threading.RLock()
        return engine
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine, idle_ping_s)
    return engine


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Test a pooled PostgreSQL connection before use if it has been idle for `idle_s` or more.

    A connection can die while it waits in the pool (the server restarted, a firewall forgot
    it); SQLAlchemy's `pool_pre_ping` asks the server at every checkout, a round trip each time
    (a request checks out two or three). A connection in use moments ago is alive but for a
    failure that no ping would have foreseen either; one idle longer is asked first and, dead,
    replaced (the pool tries again when a checkout raises DisconnectionError).
    """

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info[_LAST_USED] < idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError(f"a pooled connection is gone ({exc}): connecting again") from exc

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _used(_dbapi_conn: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()


@contextmanager
def one_read(engine: Engine) -> Iterator[Connection]:
    """A connection for a read in one statement, which sees one snapshot whatever the isolation:
    on PostgreSQL it runs outside a transaction, without the BEGIN and ROLLBACK round trips (two
    of the three of a primary-key lookup); SQLite's BEGIN costs no round trip."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


class HotRead:
    """One read statement that runs on every request of a busy route, run on the driver's own
    connection: compiled once per dialect, its parameters and results converted by the same type
    processors SQLAlchemy would apply, without a `Connection`, an execution context and a result
    object per call (on a check, a seventh of the service's time under load; measured side by
    side on PostgreSQL, 1M organisations, 64 connections: 665 checks/s instead of 562).

    `one(engine, params)` returns the statement's one row (a named tuple), read in one statement
    outside a transaction, as `one_read` does: a single statement sees one snapshot on either
    store. Driver errors are raised as SQLAlchemy's (`DBAPIError`), and a connection the error
    shows to be lost is discarded from the pool rather than handed out again.
    """

    def __init__(self, statement: Select[Any]) -> None:
        self._compiled = _PerDialect(statement)

    def one(self, engine: Engine, params: dict[str, Any]) -> Any:
        hot = self._compiled.of(engine.dialect)
        args = hot.arguments(params)
        with on_driver(engine, hot.sql, autocommit=True) as driver:  # autocommit: no BEGIN, no ROLLBACK
            row = driver.execute(hot.sql, args).fetchone()
        if row is None:
            raise NoResultFound("the statement returned no row")
        return hot.row(row)


_IDLE = 0  # psycopg's pq.TransactionStatus.IDLE: no transaction open


@contextmanager
def on_driver(engine: Engine, statement: str, *, autocommit: bool = False) -> Iterator[Any]:
    """A pooled connection's driver connection, for statements run past SQLAlchemy's Connection.

    On PostgreSQL with `autocommit`, each statement commits on its own unless the statements
    open a transaction themselves (BEGIN ... COMMIT). Whatever happens, the connection goes back
    to the pool as it came: no transaction open (an open one is rolled back), out of autocommit.
    Driver errors are raised as SQLAlchemy's (`DBAPIError`, naming `statement`), and a connection
    they show to be lost is discarded from the pool, as SQLAlchemy's Connection would do.
    """
    dialect = engine.dialect
    try:
        raw = engine.raw_connection()
    except dialect.loaded_dbapi.Error as exc:  # ops: a store out of reach raises SQLAlchemy's error, as elsewhere
        raise DBAPIError.instance(None, None, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc
    driver: Any = raw.driver_connection
    postgres = dialect.name == "postgresql"
    try:
        try:
            if postgres and autocommit:
                driver.autocommit = True
            yield driver
        finally:
            if postgres and not driver.closed:
                if driver.info.transaction_status != _IDLE:
                    driver.execute("ROLLBACK")
                driver.autocommit = False
    except dialect.loaded_dbapi.Error as exc:
        if dialect.is_disconnect(exc, driver, None):
            raw.invalidate(exc)
        raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc
    finally:
        raw.close()


class _HotCompiled:
    """A statement compiled for one dialect, with its bind (and, for a SELECT, result) processors.

    `columns`: for an INSERT, the columns its rows give (the others take their defaults)."""

    def __init__(self, statement: Any, dialect: Dialect, columns: Sequence[str] | None = None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(columns) if columns is not None else None)
        self.sql = compiled.string
        self._defaults = dict(compiled.params)
        self._binds = {
            name: proc
            for name, bind in compiled.binds.items()
            if (proc := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        self._positions = list(compiled.positiontup or ()) if compiled.positional else None
        columns_out = list(statement.selected_columns) if isinstance(statement, Select) else []
        self._results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns_out]
        self._row: Any = namedtuple("Row", [c.key for c in columns_out])  # type: ignore[misc]

    def arguments(self, params: dict[str, Any]) -> Any:
        values = {**self._defaults, **params}
        for name, proc in self._binds.items():
            if values.get(name) is not None:
                values[name] = proc(values[name])
        return values if self._positions is None else [values[name] for name in self._positions]

    def row(self, raw: Sequence[Any]) -> Any:
        return self._row(*(v if p is None or v is None else p(v) for p, v in zip(self._results, raw, strict=True)))


class HotInsert:
    """An INSERT of given columns, compiled once per dialect, whose rows are made ready for the
    driver's `executemany` with the type processors SQLAlchemy would apply (see `HotRead`)."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self._compiled = _PerDialect(insert(table), tuple(columns))

    def compiled(self, dialect: Dialect) -> tuple[str, Callable[[dict[str, Any]], Any]]:
        """(SQL, the function that makes one row's parameters) for `dialect`."""
        hot = self._compiled.of(dialect)
        return hot.sql, hot.arguments


class _PerDialect:
    """A statement's `_HotCompiled` for each dialect, compiled on first use."""

    def __init__(self, statement: Any, columns: Sequence[str] | None = None) -> None:
        self._statement, self._columns = statement, columns
        self._compiled: dict[str, _HotCompiled] = {}

    def of(self, dialect: Dialect) -> _HotCompiled:
        hot = self._compiled.get(dialect.name)
        if hot is None:
            hot = self._compiled[dialect.name] = _HotCompiled(self._statement, dialect, self._columns)
        return hot


def advisory_key(name: str) -> int:
    """The key of PostgreSQL's advisory lock for writers of one kind (see `write_lock`)."""
    return zlib.crc32(name.encode())


def write_lock(conn: Connection, name: str) -> None:
    """Serialise writers of one kind (e.g. ingestion) for the rest of the current transaction.

    On PostgreSQL a transaction-scoped advisory lock; on SQLite the connection must have been
    opened with ``execution_options(xinyong_write=True)``, which makes its BEGIN IMMEDIATE.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(_ADVISORY_LOCK, {"k": advisory_key(name)})
    elif not conn.get_execution_options().get("xinyong_write", False):
        raise RuntimeError("open the connection with execution_options(xinyong_write=True) to write")


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "xinyong.store:migrations")
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the store to `revision` (default: the newest)."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def require_current(engine: Engine) -> None:
    """Refuse to work on a store whose schema is not the one this code expects."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "is empty" if current is None else f"is at revision {current}"
        raise ConfigurationError(f"the store {state}; this version of xinyong needs {head}: run `xinyong db upgrade`")


@dataclass
class CommitHook:
    """Work to do in the transaction of a write, just before it commits (its audit event):
    `run(conn, written)`, with what the write named (`name_written`), in the first write
    transaction of the block that set it (`commit_hook`)."""

    run: Callable[[Connection, str | None], None]
    written: str | None = None
    ran: bool = False  # in a transaction that committed


_COMMIT_HOOK: ContextVar[CommitHook | None] = ContextVar("xinyong_commit_hook", default=None)


@contextmanager
def commit_hook(run: Callable[[Connection, str | None], None]) -> Iterator[CommitHook]:
    """Run `run` in the first write transaction of this block, just before it commits.

    The transactions of `writing()`, of ingestion batches and of maintenance runs call it (see
    `write_transaction`); where the block's writes took none of them, `ran` stays False and the
    caller does the work in a transaction of its own."""
    hook = CommitHook(run)
    token = _COMMIT_HOOK.set(hook)
    try:
        yield hook
    finally:
        _COMMIT_HOOK.reset(token)


def name_written(what: str) -> None:
    """Name what the write in progress created (e.g. `objection:12`), for the commit hook."""
    hook = _COMMIT_HOOK.get()
    if hook is not None and not hook.ran and hook.written is None:
        hook.written = what


@contextmanager
def write_transaction(conn: Connection) -> Iterator[None]:
    """A transaction on `conn` whose last step, once its body has succeeded, is the block's commit
    hook if that has not run yet; the hook has run once this transaction has committed."""
    hook = _COMMIT_HOOK.get()
    if hook is not None and hook.ran:
        hook = None
    with conn.begin():
        yield
        if hook is not None:
            hook.run(conn, hook.written)
    if hook is not None:
        hook.ran = True


@contextmanager
def writing(engine: Engine, *, dated: bool = True) -> Iterator[Connection]:
    """A write transaction that takes SQLite's write lock at BEGIN (IMMEDIATE), so a decision
    never fails half-way for want of the lock; on PostgreSQL an ordinary transaction that first
    takes the knowledge clock (`clock.hold`), unless `dated` is False: a transaction that writes
    no records, identifiers or list transitions (checks, audit events) need not queue for it.

    On SQLite the writers that come through here also queue on a lock of the engine (see
    `_WRITERS`), so a transaction opened here must not open another one inside it (that one
    would wait for SQLite's lock until its busy timeout and fail). Ingestion and `maintain` take
    SQLite's lock with their own BEGIN IMMEDIATE; writers that meet them wait in SQLite's busy
    handler as before."""
    lock = _WRITERS.get(engine)
    if lock is None:
        try:
            with engine.connect().execution_options(xinyong_write=True) as conn, write_transaction(conn):
                if dated and conn.dialect.name == "postgresql":
                    # Wait for the clock (a batch may hold it) as long as SQLite's writers wait
                    # for its lock, then "try again later". Checks and audit events skip this
                    # round trip: they take no lock that is held for long.
                    conn.execute(text(f"SET LOCAL lock_timeout = '{BUSY_TIMEOUT_S}s'"))
                    clock.hold(conn)
                yield conn
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                raise Busy(_BUSY) from exc
            raise
        return
    if not lock.acquire(timeout=BUSY_TIMEOUT_S):
        raise Busy(_BUSY)
    try:
        with engine.connect().execution_options(xinyong_write=True) as conn, write_transaction(conn):
            yield conn
    finally:
        lock.release()


class WalCheckpointer:
    """Copies SQLite's write-ahead log back into the database from a thread of its own.

    Every `every` seconds a passive checkpoint copies what the log holds while readers and
    writers go on; while writes keep coming, every `busy_every` seconds instead, so that each
    copies and syncs a little: the slowest checks at one connection wait for a sync, and a sync
    of half a second's log (tens of MiB) made them slower than one of a fiftieth (measured on a
    store of 1M subjects while the disk was shared and busy, nine alternated runs of 5 s: p99
    4-22 ms instead of 16-38 ms; checks/s at 64 connections the same, 1,000 to 1,100).

    A passive checkpoint alone never lets a busy log start again from its beginning: a writer
    always appends while the copy runs. So once the log holds `restart_after` frames, a second
    checkpoint (RESTART) runs with the writers of `writing()` held back (see `_WRITERS`): it has
    only the frames written since the first one to copy, and the next writer starts the log
    afresh. Should anyone else hold the log then, it gives up at once and tries at the next tick.
    It syncs the database file while writers wait, tens of milliseconds on a slow disk, so it
    comes rarely: ten thousand frames are 320 MiB of log at the store's 32 KiB pages. A frame is
    a whole page, so a check (its row, its audit event and their indexes) writes about 175 KiB of
    log (measured: 5.5 frames a check); the passive checkpoint's syncs grow with what it copies,
    and the slowest checks at one connection with them. A no-op for PostgreSQL.
    """

    def __init__(
        self, engine: Engine, *, every: float = 0.5, busy_every: float = 0.02, restart_after: int = 10_000
    ) -> None:
        self.engine, self.every, self.busy_every, self.restart_after = engine, every, busy_every, restart_after
        self._last_log = 0  # frames in the log at the last tick: more (or a new log) means writes came
        self.writing = False  # whether the log grew between the last two ticks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.engine.dialect.name == "sqlite" and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="xinyong-wal-checkpointer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            self.checkpoint()

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int]:
        """One checkpoint: (frames in the log, frames copied into the database)."""
        with self.engine.connect() as conn:
            _, log, copied = conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})").one()
        return int(log), int(copied)

    def tick(self) -> bool:
        """One passive checkpoint, and a restart when the log is long; whether it restarted."""
        log, _ = self.checkpoint()
        self.writing, self._last_log = log != self._last_log, log
        if log < self.restart_after:
            return False
        lock = _WRITERS.get(self.engine)
        if lock is None or not lock.acquire(timeout=1):
            return False
        try:
            with self.engine.connect() as conn:
                # A reader or writer of another process may hold the log: then give up at once
                # (try again at the next tick) rather than hold this process's writers back.
                conn.exec_driver_sql("PRAGMA busy_timeout=0")
                try:
                    busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(RESTART)").one()[0]
                finally:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
            return not busy
        finally:
            lock.release()

    def _run(self) -> None:
        while not self._stop.wait(self.busy_every if self.writing else self.every):
            try:
                self.tick()
            except Exception:  # noqa: BLE001, S112 - a busy or closing store: try again at the next tick
                continue
