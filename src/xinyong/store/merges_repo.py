"""Reads and writes of subject merges, and the marks of records a person linked.

A merge stands, as known at a moment, from its row's `at` until a later row that reverses it (a
split, or the undo of the decision that made it). `survivor` follows a standing merge from the
absorbed subject to the one it was merged into: one step, because a subject that was absorbed can
neither absorb nor be absorbed again while the merge stands (the service refuses it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, func, insert, select

from xinyong.domain.lists import TERMINAL
from xinyong.store.linking_tables import subject_merges
from xinyong.store.merge_tables import (
    record_links,
    subject_merge_decisions,
    subject_merge_moves,
    subject_merge_proposals,
)
from xinyong.store.tables import identifiers, list_entries, list_transitions, records

_LATER = subject_merges.alias("later")


def standing(known: Any) -> ColumnElement[bool]:
    """The condition on `subject_merges`: a merge row in force as known at `known`."""
    reversed_by = exists().where(_LATER.c.reverses == subject_merges.c.id, _LATER.c.at <= known)
    return and_(subject_merges.c.action == "merge", subject_merges.c.at <= known, ~reversed_by)


def survivor_of(subject_id: Any, known: Any) -> ColumnElement[Any]:
    """SQL for the subject `subject_id` stands for as known at `known`: its survivor if a merge
    absorbed it, else itself."""
    merged_into = (
        select(subject_merges.c.subject_id)
        .where(subject_merges.c.merged_id == subject_id, standing(known))
        .order_by(subject_merges.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(merged_into, subject_id)


def merge_standing(conn: Connection, known: datetime, *, absorbed: int | None = None, kept: int | None = None) -> Any:
    """The newest merge in force that absorbed `absorbed` (or that `kept` survived), or None."""
    q = select(subject_merges).where(standing(known))
    if absorbed is not None:
        q = q.where(subject_merges.c.merged_id == absorbed)
    if kept is not None:
        q = q.where(subject_merges.c.subject_id == kept)
    return conn.execute(q.order_by(subject_merges.c.id.desc()).limit(1)).first()


def merge_in_force(conn: Connection, merge_id: int, known: datetime) -> Any:
    """Merge `merge_id`, if it is a merge in force as known at `known`; else None."""
    return conn.execute(select(subject_merges).where(subject_merges.c.id == merge_id, standing(known))).first()


def mark_of(record_id: Any) -> Any:
    """SQL for the mark of a record version (None: no person's decision linked it)."""
    return select(record_links.c.mark).where(record_links.c.record_id == record_id).scalar_subquery()


def marks(conn: Connection, record_ids: Iterable[int]) -> dict[int, str]:
    """The marks of these record versions, by version id."""
    ids = sorted(set(record_ids))
    if not ids:
        return {}
    q = select(record_links.c.record_id, record_links.c.mark).where(record_links.c.record_id.in_(ids))
    return {int(rid): str(mark) for rid, mark in conn.execute(q)}


def add_mark(conn: Connection, record_id: int, mark: str, at: datetime) -> None:
    conn.execute(insert(record_links).values(record_id=record_id, mark=mark, at=at))


def identifiers_of(conn: Connection, subject_id: int) -> list[Any]:
    q = select(identifiers.c.scheme, identifiers.c.value_hash, identifiers.c.masked)
    return list(conn.execute(q.where(identifiers.c.subject_id == subject_id).order_by(identifiers.c.id)))


def entries_in_progress(conn: Connection, subject_id: int, refs: Iterable[tuple[str, str]] | None = None) -> list[Any]:
    """The list entries of a subject (grounded on these records, if given) not ended: (id, list_id)."""
    last = (
        select(list_transitions.c.entry_id, func.max(list_transitions.c.seq).label("seq"))
        .group_by(list_transitions.c.entry_id)
        .subquery()
    )
    q = (
        select(list_entries.c.id, list_entries.c.list_id, list_entries.c.source_id, list_entries.c.source_ref)
        .join(last, last.c.entry_id == list_entries.c.id)
        .join(
            list_transitions,
            and_(list_transitions.c.entry_id == last.c.entry_id, list_transitions.c.seq == last.c.seq),
        )
        .where(list_entries.c.subject_id == subject_id, list_transitions.c.to_state.not_in([s.value for s in TERMINAL]))
    )
    found = list(conn.execute(q.order_by(list_entries.c.id)))
    if refs is None:
        return found
    wanted = set(refs)
    return [e for e in found if (e.source_id, e.source_ref) in wanted]


def current_records_of(conn: Connection, subject_id: int) -> list[Any]:
    q = select(records).where(records.c.subject_id == subject_id, records.c.superseded_at.is_(None))
    return list(conn.execute(q.order_by(records.c.source_id, records.c.source_ref)))


def moves_of(conn: Connection, effect_id: int) -> list[Any]:
    q = select(subject_merge_moves).where(subject_merge_moves.c.effect_id == effect_id)
    return list(conn.execute(q.order_by(subject_merge_moves.c.id)))


def add_move(conn: Connection, **values: Any) -> None:
    conn.execute(insert(subject_merge_moves).values(**values))


def add_effect(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(subject_merges).values(**values).returning(subject_merges.c.id)).scalar_one())


def standing_decision(conn: Connection, proposal_id: int) -> Any:
    """The proposal's confirm or reject that no undo reverses, or None (the proposal is open)."""
    undo = subject_merge_decisions.alias("undo")
    q = select(subject_merge_decisions).where(
        subject_merge_decisions.c.proposal_id == proposal_id,
        subject_merge_decisions.c.outcome != "undo",
        ~exists().where(undo.c.reverses == subject_merge_decisions.c.id),
    )
    return conn.execute(q.order_by(subject_merge_decisions.c.id.desc()).limit(1)).first()


def undecided() -> ColumnElement[bool]:
    """The condition on `subject_merge_proposals`: no confirm or reject stands on it (never decided,
    or its decision was undone), as `standing_decision` reads one proposal."""
    d, undo = subject_merge_decisions.alias("d"), subject_merge_decisions.alias("undo")
    decided = exists().where(
        d.c.proposal_id == subject_merge_proposals.c.id,
        d.c.outcome != "undo",
        ~exists().where(undo.c.reverses == d.c.id),
    )
    return ~decided


def proposals_about(conn: Connection, subject_id: int) -> list[Any]:
    q = select(subject_merge_proposals).where(
        (subject_merge_proposals.c.subject_id == subject_id) | (subject_merge_proposals.c.other_id == subject_id)
    )
    return list(conn.execute(q.order_by(subject_merge_proposals.c.id)))


def decisions_on(conn: Connection, proposal_ids: Iterable[int]) -> list[Any]:
    ids = sorted(set(proposal_ids))
    q = select(subject_merge_decisions).where(subject_merge_decisions.c.proposal_id.in_(ids))
    return list(conn.execute(q.order_by(subject_merge_decisions.c.id)))


def effects_about(conn: Connection, subject_id: int) -> list[Any]:
    q = select(subject_merges).where(
        (subject_merges.c.subject_id == subject_id) | (subject_merges.c.merged_id == subject_id)
    )
    return list(conn.execute(q.order_by(subject_merges.c.id)))
