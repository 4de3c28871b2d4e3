"""What lists show: entries with their state on a day, and one entry with its whole history.

The state shown is the state in force: a listing past the end of its term shows as expired
whether or not `maintain` has written its expiry. Open objections to an entry or to its ground
mark it disputed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, and_, exists, or_, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.lists import State, fold
from xinyong.domain.notices import basis_text
from xinyong.services.lists import entry_row, ground, transitions_of
from xinyong.services.objection_views import disputes_of
from xinyong.store.objection_reads import open_objections
from xinyong.store.tables import list_entries, list_entry_state, objection_decisions, objections


def _disputed(e: Any) -> Any:
    """Whether an open objection targets the entry, its ground record or that record's link."""
    return exists(
        select(objections.c.id)
        .select_from(open_objections())
        .where(
            objection_decisions.c.id.is_(None),
            objections.c.subject_id == e.c.subject_id,
            or_(
                objections.c.entry_id == e.c.id,
                and_(objections.c.source_id == e.c.source_id, objections.c.source_ref == e.c.source_ref),
            ),
        )
    )


def entries(
    engine: Engine,
    *,
    list_id: str | None = None,
    state: str | None = None,
    subject_id: int | None = None,
    day: date,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Entries with their state on `day` (a listing past its term shows as expired)."""
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
            s.c.state,
            s.c.notice_ends_on,
            s.c.listed_on,
            s.c.ends_on,
            _disputed(e).label("disputed"),
        )
        .join(s, s.c.entry_id == e.c.id)
        .order_by(e.c.id)
        .limit(limit)
    )
    if list_id:
        q = q.where(e.c.list_id == list_id)
    if subject_id is not None:
        q = q.where(e.c.subject_id == subject_id)
    # The state on `day`: a listing past its term is expired whether or not maintain has run.
    over = and_(s.c.state == State.LISTED.value, s.c.ends_on.isnot(None), s.c.ends_on <= day)
    if state == State.EXPIRED.value:
        q = q.where(or_(s.c.state == state, over))
    elif state == State.LISTED.value:
        q = q.where(s.c.state == state, ~over, s.c.listed_on <= day)  # in force on the day
    elif state is not None:
        q = q.where(s.c.state == state)
    out = []
    with engine.connect() as conn:
        for r in conn.execute(q):
            row = dict(r._mapping)
            if row["state"] == State.LISTED.value and row["ends_on"] is not None and day >= row["ends_on"]:
                row["state"] = State.EXPIRED.value
            out.append(row)
    return out


def entry_detail(engine: Engine, catalog: Catalog, entry_id: int, *, known_at: datetime) -> dict[str, Any]:
    """One entry: its ground, every transition, its state as of `known_at`, and open disputes."""
    with engine.connect() as conn:
        e = entry_row(conn, entry_id)
        steps = transitions_of(conn, entry_id)
        view = fold(steps, known_at)
        g = ground(conn, catalog, e.record_id)
        disputed = disputes_of(conn, e.subject_id)
    listing = catalog.lists[e.list_id]
    return {
        "id": entry_id,
        "list": e.list_id,
        "list_name": listing.name,
        "public": listing.public,
        "subject_id": e.subject_id,
        "state": view.state_on(known_at.date()).value if view else None,
        "listed_on": view.listed_on if view else None,
        "ends_on": view.ends_on if view else None,
        "notice_ends_on": view.notice_ends_on(listing.notice_days) if view else None,
        "ground": {"record_id": g.record_id, "source": g.source_id, "source_ref": g.source_ref, "text": g.text},
        "legal_basis": basis_text(listing.legal_basis),
        "disputed": entry_id in disputed.entries or disputed.record_disputed(g.source_id, g.source_ref),
        "transitions": [
            {
                "seq": t.seq,
                "action": t.action.value,
                "from": t.from_state.value if t.from_state else None,
                "to": t.to_state.value,
                "actor": t.actor,
                "at": t.at,
                "reason": t.reason,
            }
            for t in steps
        ],
    }
