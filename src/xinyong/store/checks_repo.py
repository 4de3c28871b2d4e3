"""The check's reads and writes: the statements are built once per dialect at import, and the
busiest run on the driver's connection.

A check is decided from one read (`file_by_hash`): the subject and, aggregated as JSON, its
records, open objections and list entries, so it sees one snapshot on either store and costs one
round trip to PostgreSQL; its row and its audit event are then written together (`insert_checks`
in a unit of work, or `insert_on_postgresql` past SQLAlchemy's per-execution machinery).
Building a SQLAlchemy statement costs several times what executing a cached one does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Row, Select, Subquery, bindparam, func, insert, select, true

from xinyong.store import clock
from xinyong.store.audit_sql import BEGIN_LOCKED_HEAD, EVENT_COLUMNS
from xinyong.store.engine import one_read
from xinyong.store.hot import HotInsert, HotRead, on_driver
from xinyong.store.key_reads import KEY_STANDS
from xinyong.store.list_columns import TRANSITION_COLUMNS
from xinyong.store.merges_repo import mark_of, survivor_of
from xinyong.store.objection_reads import DEADLINE_COLUMNS, objections_open_at
from xinyong.store.record_columns import FACT_COLUMNS, known_versions
from xinyong.store.tables import (
    audit_events,
    checks,
    data_clock,
    identifiers,
    list_entries,
    list_transitions,
    records,
    subjects,
)

_KNOWN_AT = bindparam("known_at", type_=records.c.recorded_at.type)
# A record a person linked (a confirmed match, a merge or split of subjects) carries the mark of
# that decision: every decision resting on it says "linked to the subject by review 12 on D".
_REVIEW = mark_of(records.c.id)
_FACTS = (*FACT_COLUMNS, records.c.link_method, records.c.recorded_at, records.c.document_no, _REVIEW)
# Each entry of the subject with its transitions: folded per entry, in order, in Python.
_ENTRY_COLUMNS = (
    *TRANSITION_COLUMNS,
    list_entries.c.id,
    list_entries.c.list_id,
    list_entries.c.source_id,
    list_entries.c.source_ref,
    list_entries.c.record_id,
)
# Where an entry's identity starts in a row of `entries`, and where its transition's seq is.
ENTRY_AT, SEQ_AT = len(TRANSITION_COLUMNS), 0


def _rows(dialect: str, columns: Sequence[Any]) -> Any:
    """An aggregate of a subquery's rows: one JSON array holding each row as an array."""
    if dialect == "postgresql":
        return func.json_agg(func.json_build_array(*columns), type_=JSON)
    # SQLite would embed a JSON column as a string; json() embeds it as the value it holds.
    return func.json_group_array(
        func.json_array(*(func.json(c) if isinstance(c.type, JSON) else c for c in columns)), type_=JSON
    )


def _file_statement(dialect: str, subject: Subquery, known: Any, asked: Any | None = None) -> Select[Any]:
    """The subject of `subject` (one row or none: subject_id, kind) and, as JSON, everything a
    decision rests on: its records as known at `known`, its objections open when asked (`asked`;
    None: now) with their deadlines, its list entries with their transitions. One statement, so
    one snapshot on either store, and one round trip."""
    sid = subject.c.subject_id
    linked = select(_rows(dialect, _FACTS)).where(records.c.subject_id == sid, known_versions(known))
    disputes = objections_open_at(sid, asked).with_only_columns(_rows(dialect, DEADLINE_COLUMNS))
    entries = (
        select(_rows(dialect, _ENTRY_COLUMNS))
        .join_from(list_transitions, list_entries, list_entries.c.id == list_transitions.c.entry_id)
        .where(list_entries.c.subject_id == sid)
    )
    return select(
        sid,
        subject.c.kind,
        linked.scalar_subquery().label("records"),
        disputes.scalar_subquery().label("objections"),
        entries.scalar_subquery().label("entries"),
    )


def _by_hash(known: Any) -> Subquery:
    sid = survivor_of(identifiers.c.subject_id, known)  # a subject merged away stands for its survivor
    return (
        select(sid.label("subject_id"), subjects.c.kind)
        .select_from(identifiers)
        .join(subjects, subjects.c.id == sid)
        .where(
            identifiers.c.scheme == bindparam("scheme"),
            identifiers.c.value_hash == bindparam("digest"),
            identifiers.c.created_at <= known,
        )
        .limit(1)
        .subquery("s")
    )


def _live(dialect: str) -> Select[Any]:
    """The file of the subject with an identifier, as the platform knows it at :known_at (the
    moment of asking): as known at the knowledge clock's committed stamp, or at :known_at if that
    is earlier, which the statement returns (`known_at`) in its one row, the subject's columns
    NULL when no subject has that identifier (see store.clock); and whether the asking key
    (:key_id, :key_hash) stands, in the same snapshot (`KEY_STANDS`)."""
    earlier = func.least if dialect == "postgresql" else func.min  # SQLite's min() of two is scalar
    s = _by_hash(earlier(clock.KNOWN_AT, _KNOWN_AT, type_=data_clock.c.stamp.type))  # a FROM: no correlation
    known = earlier(data_clock.c.stamp, _KNOWN_AT, type_=data_clock.c.stamp.type)
    live = _file_statement(dialect, s, known)
    live = live.add_columns(known.label("known_at"), KEY_STANDS, *_AUDIT_HEAD)
    return live.select_from(data_clock).outerjoin(s, true()).where(clock.ROW)


# The audit chain's committed head, which the certificate carries (`services.audit_checkpoints`).
_LAST_EVENT = select(audit_events.c.id, audit_events.c.hash).order_by(audit_events.c.id.desc()).limit(1).subquery()
_AUDIT_HEAD = (
    select(_LAST_EVENT.c.id).scalar_subquery().label("audit_seq"),
    select(_LAST_EVENT.c.hash).scalar_subquery().label("audit_head"),
)


def _by_id() -> Subquery:
    sid = survivor_of(bindparam("subject_id", type_=subjects.c.id.type), _KNOWN_AT)
    by_id = select(subjects.c.id.label("subject_id"), subjects.c.kind).where(subjects.c.id == sid)
    return by_id.subquery("s")


# Built once per dialect at import: building a statement costs several times what running a cached one does.
_FILE_BY_HASH = {d: HotRead(_live(d)) for d in ("sqlite", "postgresql")}
_ASKED_AT = bindparam("asked_at", type_=records.c.recorded_at.type)
_FILE_BY_ID = {d: _file_statement(d, _by_id(), _KNOWN_AT, _ASKED_AT) for d in ("sqlite", "postgresql")}
_INSERT_CHECK = insert(checks)


def file_by_hash(engine: Engine, params: dict[str, Any]) -> Any:
    """The file of the subject with identifier (:scheme, :digest) as known at :known_at (see
    `_live`), whether the key (:key_id, :key_hash) stands, and the audit chain's head: one row."""
    return _FILE_BY_HASH[engine.dialect.name].one(engine, params)


def file_by_id(conn: Connection, subject_id: int, known_at: datetime, asked_at: datetime) -> Row[Any] | None:
    """The file of subject `subject_id` as known at `known_at`, with the objections open at `asked_at`."""
    params = {"subject_id": subject_id, "known_at": known_at, "asked_at": asked_at}
    return conn.execute(_FILE_BY_ID[conn.dialect.name], params).first()


def insert_checks(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    conn.execute(_INSERT_CHECK, list(rows))


def check_row(engine: Engine, check_id: str) -> Row[Any] | None:
    with one_read(engine) as conn:
        return conn.execute(select(checks).where(checks.c.id == check_id)).first()


_CHECK_ROWS = HotInsert(checks, [c.key for c in checks.c])
_EVENT_ROWS = HotInsert(audit_events, EVENT_COLUMNS)
# The audit rows of a write's events, chained after the head it is given: the last event's hash and
# time (None, None: the chain is empty).
Chain = Callable[[str | None, datetime | None], list[dict[str, Any]]]


def insert_on_postgresql(engine: Engine, rows: Sequence[dict[str, Any]], chain: Chain) -> None:
    """Check rows and their audit events on PostgreSQL in two round trips instead of five, on the
    driver's connection: BEGIN, the audit lock and the chain's end in one query
    (`BEGIN_LOCKED_HEAD`); both inserts and COMMIT in one pipeline. Errors are raised as
    SQLAlchemy's (an IntegrityError or DataError is what makes the group committer try the items
    one by one): see `on_driver`."""
    check_sql, check_args = _CHECK_ROWS.compiled(engine.dialect)
    event_sql, event_args = _EVENT_ROWS.compiled(engine.dialect)
    # In autocommit, the statements below begin the transaction and end it.
    with on_driver(engine, check_sql, autocommit=True) as driver, driver.cursor() as cursor:
        cursor.execute(BEGIN_LOCKED_HEAD)  # results: BEGIN, the lock, the chain's end
        cursor.nextset()
        cursor.nextset()
        head = cursor.fetchone()
        events = chain(str(head[0]), head[1]) if head else chain(None, None)
        with driver.pipeline():
            cursor.executemany(check_sql, [check_args(r) for r in rows])
            cursor.executemany(event_sql, [event_args(r) for r in events])
            cursor.execute("COMMIT")
