"""Migration 0017 on a store written before it, on SQLite and PostgreSQL: the versions the
platform wrote (its `decision` batches) had taken the revision above the one they replaced; they
get the department's revision back and a platform version, everything that points at them still
finds them, and the way back gives the old numbers again (or refuses, saying why)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, text
from sqlalchemy.exc import IntegrityError

from conftest import pg_url
from xinyong.store.db import alembic_config, current_revision, make_engine, upgrade
from xinyong.store.merge_tables import record_links
from xinyong.store.tables import batches, metadata, records, sources, subjects, unresolved

T = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
# (id, ref, revision as stored before 0017, batch, superseded) and the batches' formats: 2, 3, 5
# and 6 are the platform's (a confirmation, a merge move, a carried link, an upheld objection).
ROWS = [
    (1, "A-1", 1, 1, True), (2, "A-1", 2, 2, True), (3, "A-1", 3, 3, True), (4, "A-1", 4, 4, True),
    (5, "A-1", 5, 5, False), (6, "B-1", 1, 1, False), (7, "C-1", 1, 1, True), (8, "C-1", 2, 4, True),
    (9, "C-1", 3, 6, False),
]  # fmt: skip
FORMATS = {1: "csv", 2: "decision", 3: "decision", 4: "jsonl", 5: "decision", 6: "decision"}
AFTER = {1: (1, 0), 2: (1, 1), 3: (1, 2), 4: (4, 0), 5: (4, 1), 6: (1, 0), 7: (1, 0), 8: (2, 0), 9: (2, 1)}


@pytest.fixture
def old_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A store of its own, migrated to 0016 (before the platform's versions had numbers of their own)."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        upgrade(engine, "0016")
        yield engine
        engine.dispose()
        return
    base, _ = request.getfixturevalue("pg_schema")
    schema = f"xy_v17_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(pg_url(base, schema))
    upgrade(engine, "0016")
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _fill(engine: Engine) -> None:
    """What the code before 0017 wrote: a department's revisions and the platform's versions
    numbered after them, a queue entry and a person's mark pointing at versions."""
    with engine.begin() as conn:
        conn.execute(insert(sources).values(id="court", name="Court", registered_at=T))
        conn.execute(insert(subjects).values(id=1, kind="person", created_at=T))
        for bid, fmt in FORMATS.items():
            conn.execute(
                insert(batches).values(
                    id=bid, source_id="court", file_name=f"b{bid}", file_format=fmt, file_sha256=f"{bid:064d}",
                    catalog_version="c1", started_at=T, finished_at=T, rows_read=1, accepted=1, new_versions=0,
                    unchanged=0, rejected=0, unresolved=0, subjects_created=0,
                )
            )  # fmt: skip
        for rid, ref, rev, bid, superseded in ROWS:
            conn.execute(insert(records).values(**_record(rid, ref, rev, bid, superseded)))
        conn.execute(insert(unresolved).values(record_id=1, reason_code="x", reason="queued", queued_at=T))
        conn.execute(insert(record_links).values(record_id=2, mark="review 1 on 2026-03-01", at=T))


def _record(rid: int, ref: str, rev: int, bid: int, superseded: bool) -> dict[str, Any]:
    at = T + timedelta(hours=rid)
    return {
        "id": rid, "source_id": "court", "source_ref": ref, "revision": rev, "record_type": "court.defaulter",
        "subject_kind": "person", "subject_id": 1, "link_method": "confirmed" if FORMATS[bid] == "decision" else
        "identifier", "decided_on": date(2026, 2, 1), "valid_from": date(2026, 2, 1), "attributes": {"n": rid},
        "status": "active", "content_hash": f"{rid:064d}", "batch_id": bid, "batch_line": 2, "recorded_at": at,
        "superseded_at": at + timedelta(minutes=30) if superseded else None,
    }  # fmt: skip


def _numbers(engine: Engine, *, with_version: bool = True) -> dict[int, Any]:
    columns = "id, revision, version" if with_version else "id, revision"
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {columns} FROM records ORDER BY id")).all()
    return {int(r[0]): (int(r[1]), int(r[2])) if with_version else int(r[1]) for r in rows}


def _downgrade(engine: Engine, to: str) -> None:
    """As `upgrade` runs a migration: SQLite's foreign keys off while a table is rebuilt."""
    cfg = alembic_config(engine)
    with engine.connect() as conn, conn.execution_options(xinyong_bulk=True).begin():
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, to)


def test_the_platforms_versions_get_the_departments_revision_and_a_version_of_their_own(old_store: Engine) -> None:
    _fill(old_store)
    upgrade(old_store)
    assert _numbers(old_store) == AFTER
    with old_store.connect() as conn:
        assert conn.execute(text("SELECT record_id FROM unresolved")).scalar_one() == 1
        assert conn.execute(text("SELECT record_id FROM record_links")).scalar_one() == 2
        current = conn.execute(text("SELECT id FROM records WHERE superseded_at IS NULL ORDER BY id")).scalars().all()
        assert current == [5, 6, 9]
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == [], "the rebuilt table is the one the code defines"
    with pytest.raises(IntegrityError), old_store.begin() as conn:  # one row per (revision, version)
        conn.execute(insert(records).values(**{**_record(10, "A-1", 4, 6, False), "version": 1}))

    _downgrade(old_store, "0016")
    assert _numbers(old_store, with_version=False) == {rid: rev for rid, _, rev, _, _ in ROWS}
    upgrade(old_store)
    assert _numbers(old_store) == AFTER


def test_the_way_back_is_refused_while_a_departments_revision_holds_a_platform_versions_old_number(
    old_store: Engine,
) -> None:
    _fill(old_store)
    upgrade(old_store)
    with old_store.begin() as conn:  # the department's revision 5, accepted after 0017
        conn.execute(insert(records).values(**_record(10, "A-1", 5, 1, False)))
    with pytest.raises(RuntimeError) as refused:
        _downgrade(old_store, "0016")
    assert str(refused.value) == (
        "cannot go back below 0017: a department's revision and a platform version would both be court/A-1 revision 5"
    )
    assert current_revision(old_store) == "0017" and _numbers(old_store) == {**AFTER, 10: (5, 0)}
