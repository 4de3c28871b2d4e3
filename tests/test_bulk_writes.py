"""The bulk writes of ingestion and scoring (`store.bulk.insert_rows`: COPY on PostgreSQL,
executemany on SQLite) store exactly what they are given, hostile text included, and fail as
any statement fails: SQLAlchemy's error, nothing of the transaction kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from xinyong.store.bulk import insert_rows, timestamp
from xinyong.store.tables import subjects

HOSTILE = ("tab\there", "new\nline", "back\\slash \\N", "quote ' and \"", "per%cent %s %(x)s", "零宽\u200b空格", "")
NOW = datetime(2026, 12, 7, 9, 0, 0, 123456, tzinfo=UTC)


def _literal(engine: Engine, text: str) -> str:
    """A text constant as `BatchStore._constant` writes one for the dialect's driver."""
    quoted = "'" + text.replace("'", "''") + "'"
    return quoted if engine.dialect.paramstyle == "qmark" else quoted.replace("%", "%%")


def test_rows_and_constants_are_stored_exactly_hostile_text_included(engine: Engine) -> None:
    with engine.begin() as conn:
        at = timestamp(conn, NOW)
        rows = [(i + 1, name, at) for i, name in enumerate(HOSTILE)]
        insert_rows(conn, subjects, ("id", "display_name", "created_at"), rows, {"kind": "'organisation'"})
        insert_rows(conn, subjects, ("id", "created_at"), [(100, at), (101, at)],
                    {"kind": "'person'", "display_name": _literal(engine, "100% owned, it's 'x'")})  # fmt: skip
    with engine.connect() as conn:
        got = conn.execute(select(subjects.c.id, subjects.c.kind, subjects.c.display_name, subjects.c.created_at)
                           .order_by(subjects.c.id)).all()  # fmt: skip
    assert [(r.id, r.kind, r.display_name) for r in got] == [
        *((i + 1, "organisation", name) for i, name in enumerate(HOSTILE)),
        (100, "person", "100% owned, it's 'x'"),
        (101, "person", "100% owned, it's 'x'"),
    ]
    assert {r.created_at for r in got} == {NOW}


def test_many_rows_each_end_with_the_constants_hostile_text_in_both(engine: Engine) -> None:
    # More rows than one block of COPY text (pg_copy.BLOCK_ROWS), and constants whose text holds
    # what COPY escapes: each row gets them once, whatever its own values hold.
    name = "tab\there, new\nline, back\\slash \\N, 100%"
    kinds = ("t\tab", "new\nline", "b\\N", "", "\\.")
    rows = [(i + 1, kinds[i % len(kinds)]) for i in range(2345)]
    with engine.begin() as conn:
        at = _literal(engine, "2026-12-07 09:00:00.123456")
        constants = {"display_name": _literal(engine, name), "created_at": at}
        if engine.dialect.name == "postgresql":
            constants["created_at"] += "::timestamptz"
        insert_rows(conn, subjects, ("id", "kind"), rows, constants)
    with engine.connect() as conn:
        got = conn.execute(
            select(subjects.c.id, subjects.c.kind, subjects.c.display_name).order_by(subjects.c.id)
        ).all()
    assert [tuple(r) for r in got] == [(i, kind, name) for i, kind in rows]


def test_a_broken_key_fails_as_a_statement_does_and_keeps_nothing(engine: Engine) -> None:
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:  # noqa: PT012 - the transaction fails whole
        at = timestamp(conn, NOW)
        insert_rows(conn, subjects, ("id", "kind", "created_at"), [(1, "person", at)])
        insert_rows(conn, subjects, ("id", "kind", "created_at"), [(2, "person", at), (1, "person", at)])
    assert "subjects" in str(caught.value)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(subjects)) == 0
    with engine.begin() as conn:  # the pool's connection works after the failure
        insert_rows(conn, subjects, ("id", "kind", "created_at"), [(1, "person", timestamp(conn, NOW))])


def test_an_unknown_column_is_refused_by_name_before_anything_is_sent(engine: Engine) -> None:
    with pytest.raises(ValueError, match="table subjects has no column\\(s\\) colour"), engine.begin() as conn:
        insert_rows(conn, subjects, ("id", "colour"), [(1, "red")])
