"""Read-only queries of credit reports and open data: what a report states and what is published.

Nothing here writes. Every record read is the version known at a given moment of the knowledge
clock, and only records linked to their subject by a checksum-valid identifier or a match a
person confirmed (principle 4); probabilistic links are proposals and never shown.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select

from xinyong.store.merges_repo import mark_of
from xinyong.store.report_tables import publication_changes, publications, reports
from xinyong.store.tables import (
    batches,
    identifiers,
    list_entries,
    list_entry_state,
    records,
    sources,
    subjects,
)

LINKED = ("identifier", "confirmed")


@dataclass(frozen=True)
class Coverage:
    """The stretch of time a source department has reported for: its first and last batch."""

    first: date
    last: date
    batches: int


def subject_row(conn: Connection, subject_id: int) -> Any:
    return conn.execute(select(subjects).where(subjects.c.id == subject_id)).first()


def identifiers_of(conn: Connection, subject_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Identifiers (scheme, masked, plain value when not personal) of the given subjects."""
    out: dict[int, list[Any]] = {}
    for i in range(0, len(subject_ids), 1000):
        q = (
            select(identifiers.c.subject_id, identifiers.c.scheme, identifiers.c.masked, identifiers.c.value)
            .where(identifiers.c.subject_id.in_(subject_ids[i : i + 1000]))
            .order_by(identifiers.c.subject_id, identifiers.c.id)
        )
        for row in conn.execute(q):
            out.setdefault(int(row.subject_id), []).append(row)
    return out


def coverage(conn: Connection, known_at: datetime) -> dict[str, Coverage]:
    """Per source: the day its first batch started and its last one finished, of the batches
    committed by `known_at` (a batch's row commits with its records, stamped after it started)."""
    q = (
        select(batches.c.source_id, func.min(batches.c.started_at), func.max(batches.c.finished_at), func.count())
        .where(batches.c.started_at <= known_at)
        .group_by(batches.c.source_id)
    )
    return {str(src): Coverage(first.date(), last.date(), int(n)) for src, first, last, n in conn.execute(q)}


def _current(known_at: datetime) -> Any:
    return and_(
        records.c.recorded_at <= known_at,
        or_(records.c.superseded_at.is_(None), records.c.superseded_at > known_at),
        records.c.link_method.in_(LINKED),
    )


def subject_records(conn: Connection, subject_id: int, known_at: datetime, first: date, last: date) -> list[Any]:
    """The subject's linked records decided between `first` and `last`, as known at `known_at`,
    each with the mark of the person's decision that linked it (`link_mark`, None: its identifier)."""
    q = (
        select(records, sources.c.name.label("source_name"), mark_of(records.c.id).label("link_mark"))
        .join(sources, sources.c.id == records.c.source_id)
        .where(
            records.c.subject_id == subject_id,
            _current(known_at),
            records.c.decided_on >= first,
            records.c.decided_on <= last,
        )
        .order_by(records.c.source_id, records.c.decided_on, records.c.id)
    )
    return list(conn.execute(q))


def linked_records(conn: Connection, known_at: datetime, record_types: Sequence[str]) -> Iterator[Any]:
    """Every linked, active record of the given types known at `known_at`, with its subject's kind
    and name, in a stable order (open data)."""
    q = (
        select(
            records.c.id,
            records.c.source_id,
            records.c.source_ref,
            records.c.revision,
            records.c.record_type,
            records.c.subject_id,
            records.c.decided_on,
            records.c.valid_from,
            records.c.valid_until,
            records.c.document_no,
            records.c.status,
            records.c.attributes,
            subjects.c.kind.label("subject_kind"),
            subjects.c.display_name,
        )
        .join(subjects, subjects.c.id == records.c.subject_id)
        .where(_current(known_at), records.c.record_type.in_(record_types), records.c.status == "active")
        .order_by(records.c.source_id, records.c.source_ref)
    )
    yield from conn.execute(q)


def record_versions(
    conn: Connection, keys: Sequence[tuple[str, str]], known_at: datetime
) -> dict[tuple[str, str], Any]:
    """The version known at `known_at` (linked or not) of each (source, source_ref): why one left."""
    out: dict[tuple[str, str], Any] = {}
    for src, ref in keys:
        row = conn.execute(
            select(records.c.status, records.c.link_method, records.c.subject_id, records.c.record_type)
            .where(
                records.c.source_id == src,
                records.c.source_ref == ref,
                records.c.recorded_at <= known_at,
                or_(records.c.superseded_at.is_(None), records.c.superseded_at > known_at),
            )
            .limit(1)
        ).first()
        if row is not None:
            out[(src, ref)] = row
    return out


def listed_entries(conn: Connection, list_ids: Sequence[str], day: date) -> list[Any]:
    """Entries of the given lists in force on `day` (listed, and not past the end of the term)."""
    s, e = list_entry_state, list_entries
    q = (
        select(
            e.c.id,
            e.c.list_id,
            e.c.subject_id,
            e.c.subject_kind,
            e.c.source_id,
            e.c.source_ref,
            e.c.record_type,
            s.c.listed_on,
            s.c.ends_on,
            subjects.c.display_name,
        )
        .join(s, s.c.entry_id == e.c.id)
        .join(subjects, subjects.c.id == e.c.subject_id)
        .where(
            e.c.list_id.in_(list_ids),
            s.c.state == "listed",
            s.c.listed_on <= day,
            or_(s.c.ends_on.is_(None), s.c.ends_on > day),
        )
        .order_by(e.c.id)
    )
    return list(conn.execute(q))


def entry_states(conn: Connection, entry_ids: Sequence[int]) -> dict[int, Any]:
    """The state row of each entry: why an entry left the open data."""
    out: dict[int, Any] = {}
    for i in range(0, len(entry_ids), 1000):
        q = select(list_entry_state).where(list_entry_state.c.entry_id.in_(entry_ids[i : i + 1000]))
        out.update({int(r.entry_id): r for r in conn.execute(q)})
    return out


# -- issued reports ---------------------------------------------------------------------------------


def report_row(conn: Connection, code: str) -> Any:
    return conn.execute(select(reports).where(reports.c.code == code)).first()


def reports_about(engine: Engine, subject_id: int) -> list[dict[str, Any]]:
    """Reports issued about a subject at someone else's request: who received them, when, why."""
    q = (
        select(
            reports.c.code,
            reports.c.issued_at,
            reports.c.requester,
            reports.c.purpose,
            reports.c.period_from,
            reports.c.period_to,
            reports.c.format,
        )
        .where(reports.c.subject_id == subject_id, reports.c.by_subject == 0)
        .order_by(reports.c.issued_at, reports.c.code)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


# -- publications -----------------------------------------------------------------------------------


def publication_row(conn: Connection, publication_id: int | None = None) -> Any:
    """A publication by id; the latest one without an id; None when there is none."""
    q = select(publications)
    q = q.where(publications.c.id == publication_id) if publication_id is not None else q
    return conn.execute(q.order_by(publications.c.id.desc()).limit(1)).first()


def published_state(conn: Connection, upto: int) -> dict[str, str]:
    """Item -> content hash of everything published as of publication `upto`: the fold of the
    changes of every publication up to it (the last change of each item wins)."""
    last = (
        select(publication_changes.c.item, func.max(publication_changes.c.id).label("id"))
        .where(publication_changes.c.publication_id <= upto)
        .group_by(publication_changes.c.item)
        .subquery()
    )
    q = select(publication_changes.c.item, publication_changes.c.content_hash).join(
        last, last.c.id == publication_changes.c.id
    )
    return {str(item): str(h) for item, h in conn.execute(q) if h is not None}
