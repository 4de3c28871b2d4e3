"""The engine factory: engines configured the way xinyong needs them, and the locks its writers take."""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from xinyong.domain.errors import Busy, ConfigurationError

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
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout runs out
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
        return _sqlite_engine(url, wal_autocheckpoint, busy_timeout_s, kwargs)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine, idle_ping_s)
    return engine


def _sqlite_engine(url: str, wal_autocheckpoint: int, busy_timeout_s: float, kwargs: dict[str, Any]) -> Engine:
    """`make_engine` for SQLite: its pragmas on every connection, BEGIN taken over, a writer lock."""
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


def writer_lock(engine: Engine) -> threading.RLock | None:
    """The lock on which this process's writers of a SQLite store queue (None on PostgreSQL)."""
    return _WRITERS.get(engine)
