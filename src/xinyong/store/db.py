"""Engines, migrations and the few places where SQLite and PostgreSQL differ."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from xinyong.domain.errors import ConfigurationError

SUPPORTED = ("sqlite", "postgresql")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for a supported backend, configured the way xinyong needs it.

    SQLite runs in WAL mode with foreign keys on. Its Python driver opens transactions lazily and
    only before writes; we take over and emit BEGIN ourselves (the recipe in SQLAlchemy's SQLite
    documentation), so that a transaction covers its reads and `write_lock` can make it IMMEDIATE.
    """
    backend = make_url(url).get_backend_name()
    if backend not in SUPPORTED:
        raise ConfigurationError(f"unsupported database '{backend}' in {url!r}: use sqlite or postgresql")
    if backend == "sqlite":
        path = make_url(url).database
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA cache_size=-131072")  # 128 MiB: index inserts of big batches stay in memory
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            options = conn.get_execution_options()
            if options.get("xinyong_bulk", False):
                # Bulk loads insert parents before children in one transaction by construction;
                # SQLite's per-row foreign key lookups would double their cost. PostgreSQL still
                # enforces every key, and every store test runs there too.
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("xinyong_write", False) else "BEGIN")

        @event.listens_for(engine, "checkin")
        def _on_checkin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA foreign_keys=ON")

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def write_lock(conn: Connection, name: str) -> None:
    """Serialise writers of one kind (e.g. ingestion) for the rest of the current transaction.

    On PostgreSQL a transaction-scoped advisory lock; on SQLite the connection must have been
    opened with ``execution_options(xinyong_write=True)``, which makes its BEGIN IMMEDIATE.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(name.encode())})
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


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction that takes SQLite's write lock at BEGIN (IMMEDIATE), so a decision
    never fails half-way for want of the lock; on PostgreSQL an ordinary transaction."""
    with engine.connect().execution_options(xinyong_write=True) as conn, conn.begin():
        yield conn
