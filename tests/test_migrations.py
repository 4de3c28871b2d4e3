"""Migrations and table definitions agree, the store refuses a stale schema, timestamps stay UTC.

Every test that takes `engine` runs on SQLite and on PostgreSQL, after the fixture's migration.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, insert, inspect, select
from sqlalchemy.exc import StatementError

from xinyong.domain.errors import ConfigurationError
from xinyong.store import clock
from xinyong.store.db import PAGE_SIZE, current_revision, head_revision, make_engine, require_current, upgrade
from xinyong.store.tables import metadata, sources, subjects

BEIJING = timezone(timedelta(hours=8))


def test_migrations_match_the_table_definitions(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_migrated_store_is_at_head(engine):
    head = head_revision()
    assert head is not None
    assert current_revision(engine) == head
    require_current(engine)


def test_the_quick_revision_reads_agree_with_alembic(engine):
    """The start-up check reads the revisions without Alembic: from the newest migration file's
    number and one query. Both must say what Alembic says, or a migration's file name breaks the line."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from xinyong.store.migrate import alembic_config

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as conn:
        assert current_revision(engine) == MigrationContext.configure(conn).get_current_revision()


def test_every_table_exists_after_migration(engine):
    names = set(inspect(engine).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= names


def test_empty_store_is_refused_until_upgraded(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert current_revision(engine) is None
        with pytest.raises(ConfigurationError, match="xinyong db upgrade") as info:
            require_current(engine)
        assert "empty" in str(info.value)
        upgrade(engine)
        require_current(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_a_new_sqlite_store_has_large_pages_and_an_old_one_keeps_its_own(tmp_path):
    def page_size(engine):
        with engine.connect() as conn:
            return conn.exec_driver_sql("PRAGMA page_size").scalar()

    new = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    old_path = tmp_path / "old.db"
    raw = sqlite3.connect(old_path)
    raw.execute("CREATE TABLE t (x INTEGER)")  # created with SQLite's default page
    raw.close()
    old = make_engine(f"sqlite:///{old_path}")
    try:
        upgrade(new)
        upgrade(old)
        assert page_size(new) == PAGE_SIZE == 32768
        assert page_size(old) == 4096
        require_current(old)
    finally:
        new.dispose()
        old.dispose()


def test_an_sqlite_without_json_operators_is_refused_with_its_version(tmp_path, monkeypatch):
    """The scoring export reads attributes with `->` and `->>` (SQLite 3.38). An older library
    cannot be run here, so the version the module reports is set back."""
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 37, 2))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.37.2")
    with pytest.raises(ConfigurationError, match=r"needs SQLite 3\.38 or newer .* has 3\.37\.2"):
        make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    assert not (tmp_path / "old.db").exists()


def test_upgrade_twice_is_harmless(engine):
    when = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(sources).values(id="court", name="Court", registered_at=when))
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    require_current(engine)
    with engine.connect() as conn:
        assert conn.execute(select(sources.c.id, sources.c.registered_at)).all() == [("court", when)]


def test_timestamps_come_back_as_aware_utc(engine):
    sent = datetime(2026, 11, 29, 17, 30, 15, 123456, tzinfo=BEIJING)
    with engine.begin() as conn:
        conn.execute(insert(sources).values(id="tax", name="Tax bureau", registered_at=sent))
    with engine.connect() as conn:
        got = conn.execute(select(sources.c.registered_at).where(sources.c.id == "tax")).scalar_one()
    assert got.tzinfo is not None
    assert got.utcoffset() == timedelta(0)
    assert got == sent
    assert got.replace(tzinfo=None) == datetime(2026, 11, 29, 9, 30, 15, 123456)  # noqa: DTZ001 - comparing wall time


def test_timestamps_compare_as_instants_in_queries(engine):
    early = datetime(2026, 1, 1, 7, 0, tzinfo=BEIJING)  # 2025-12-31 23:00 UTC
    late = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(sources),
            [
                {"id": "early", "name": "Early", "registered_at": early},
                {"id": "late", "name": "Late", "registered_at": late},
            ],
        )
    with engine.connect() as conn:
        order = conn.execute(select(sources.c.id).order_by(sources.c.registered_at)).scalars().all()
        after = (
            conn.execute(select(sources.c.id).where(sources.c.registered_at > datetime(2026, 1, 1, 0, 0, tzinfo=UTC)))
            .scalars()
            .all()
        )
    assert order == ["early", "late"]
    assert after == ["late"]


def test_naive_timestamp_is_refused(engine):
    naive = datetime(2026, 11, 29, 9, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(StatementError, match="naive datetime") as info, engine.begin() as conn:
        conn.execute(insert(sources).values(id="env", name="Env bureau", registered_at=naive))
    assert "timezone-aware UTC" in str(info.value)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sources)).scalar_one() == 0


def test_the_knowledge_clock_starts_at_the_latest_stamp_the_store_holds(tmp_path):
    empty, used = (make_engine(f"sqlite:///{tmp_path / name}") for name in ("empty.db", "used.db"))
    learnt = datetime(2026, 11, 1, 8, 30, 0, 250000, tzinfo=UTC)
    try:
        upgrade(empty)
        upgrade(used, "0006")
        with used.begin() as conn:
            conn.execute(insert(subjects).values(id=1, kind="org", created_at=learnt - timedelta(days=1)))
            conn.execute(insert(subjects).values(id=2, kind="org", created_at=learnt))
        upgrade(used)
        with empty.connect() as a, used.connect() as b:
            assert (clock.known_at(a), clock.known_at(b)) == (clock.EPOCH, learnt)
    finally:
        empty.dispose()
        used.dispose()
