"""The steps of the daily run that end entries: at the end of their term, or when their ground
changed or lapsed. Checks already treat such entries as ended (`domain.lists.standing_on`): these
steps write the transition and tell the subject, and close any objection forwarded to the list's
owner about the entry, which is moot once the entry has ended (`objection_forwarding.close_ended`).
Each entry's step runs in a savepoint (`guarded`), so an entry a reviewer moved meanwhile is
skipped and the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, false, or_, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.lists import TERMINAL, Action, InvalidTransition, State, ground_ends
from xinyong.domain.notices import NoticeKind
from xinyong.domain.scoring import add_months
from xinyong.services import lists as lists_service
from xinyong.services.objection_forwarding import close_ended
from xinyong.services.refresh import end_for_ground
from xinyong.store.tables import list_entries, list_entry_state, records


def guarded(conn: Connection, step: Callable[..., object], *args: Any, **kwargs: Any) -> object:
    """One entry's step in a savepoint. A reviewer may have moved the entry since the run selected
    it (on PostgreSQL the run waits for their row lock, then sees the new state): that step is
    undone and skipped (None), and the rest of the run goes on."""
    try:
        with conn.begin_nested():
            return step(*args, **kwargs)
    except InvalidTransition:
        return None


def _expire_one(conn: Connection, catalog: Catalog, entry_id: int, ends_on: date) -> bool:
    lists_service.end_entry(
        conn,
        catalog,
        entry_id,
        Action.EXPIRE,
        actor="system:maintain",
        reason=f"the term ended on {ends_on.isoformat()}",
        kind=NoticeKind.EXPIRED,
    )
    why = f"entry {entry_id} ended by its term on {ends_on.isoformat()} before the owner decided"
    close_ended(conn, lists_service.entry_row(conn, entry_id), why)
    return True


def expire(conn: Connection, catalog: Catalog, now: datetime) -> int:
    today = now.date()
    q = (
        select(list_entry_state.c.entry_id, list_entry_state.c.ends_on)
        .where(list_entry_state.c.state == State.LISTED.value, list_entry_state.c.ends_on <= today)
        .order_by(list_entry_state.c.entry_id)
    )
    return sum(bool(guarded(conn, _expire_one, conn, catalog, eid, ends)) for eid, ends in conn.execute(q).all())


def ground_changes(conn: Connection, catalog: Catalog) -> int:
    """End open entries whose record's current version is not the one that grounded them and no longer holds."""
    e, s = list_entries, list_entry_state
    cur = records.alias("cur")
    q = (
        select(e, s.c.state, cur.c.id.label("cur_id"))
        .join(s, s.c.entry_id == e.c.id)
        .outerjoin(
            cur,
            and_(
                cur.c.source_id == e.c.source_id,
                cur.c.source_ref == e.c.source_ref,
                cur.c.superseded_at.is_(None),
            ),
        )
        .where(s.c.state.notin_([t.value for t in TERMINAL]), or_(cur.c.id.is_(None), cur.c.id != e.c.record_id))
        .order_by(e.c.id)
    )
    n = 0
    for row in conn.execute(q).all():
        current = None
        if row.cur_id is not None:
            current = conn.execute(select(records).where(records.c.id == row.cur_id)).first()
        n += bool(guarded(conn, end_for_ground, conn, catalog, row, State(row.state), current, cause="maintain"))
    return n


def _lapsed(catalog: Catalog, types: list[str], today: date) -> Any:
    """A coarse SQL filter of the records whose valid time may be over by today: a superset (month
    ends clamp, so the bound is widened by a few days); `ground_ends` decides exactly."""
    ended = [
        and_(
            records.c.record_type == t,
            records.c.valid_from <= add_months(today, -catalog.record_types[t].publication_months) + timedelta(days=3),
        )
        for t in types
        if catalog.record_types[t].publication_months
    ]
    return or_(records.c.valid_until <= today, and_(records.c.valid_until.is_(None), or_(false(), *ended)))


def _lapse_one(conn: Connection, catalog: Catalog, e: Any, state: State, ended: date, why: str) -> bool:
    listed = state is State.LISTED
    lists_service.end_entry(
        conn,
        catalog,
        e.id,
        Action.EXPIRE if listed else Action.WITHDRAW,
        actor="system:maintain",
        reason=f"{why} on {ended.isoformat()}",
        ref=f"record:{e.source_id}/{e.source_ref}",
        kind=NoticeKind.EXPIRED if listed else NoticeKind.LISTING_WITHDRAWN,
    )
    close_ended(conn, e, f"entry {e.id} ended on {ended.isoformat()} ({why}) before the owner decided")
    return True


def ground_lapsed(conn: Connection, catalog: Catalog, now: datetime) -> int:
    """End open entries whose ground's current version has its valid time (or publication period) over.

    Checks already treat them as ended (`domain.lists.ground_ends`); this writes the transition
    and tells the subject. The SQL filter is coarse (see `_in_force`); `ground_ends` decides."""
    today = now.date()
    e, s = list_entries, list_entry_state
    types = sorted({c.record_type for listing in catalog.lists.values() for c in listing.entry})
    q = (
        select(e, s.c.state)
        .join(s, s.c.entry_id == e.c.id)
        .join(
            records,
            and_(
                records.c.source_id == e.c.source_id,
                records.c.source_ref == e.c.source_ref,
                records.c.superseded_at.is_(None),
            ),
        )
        .where(s.c.state.notin_([t.value for t in TERMINAL]), _lapsed(catalog, types, today))
        .order_by(e.c.id)
    )
    n = 0
    for row in conn.execute(q).all():
        end = ground_ends(int(row.record_id), lists_service.ground_fact(conn, catalog, row))
        if end is not None and end[0] is not None and end[0] <= today:
            state = State(row.state)
            n += bool(guarded(conn, _lapse_one, conn, catalog, row, state, end[0], end[1]))
    return n
