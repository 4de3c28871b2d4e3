"""What a changed record does to the entries and scores that rest on it.

When the current version of an entry's ground is revoked, repaired, unlinked, or no longer meets
the list's criteria (the source reported the obligation met), the entry ends: removed when it was
listed, withdrawn before publication. The list's removal rule gives the deadline, counted in
working days from the day the platform learned of the change; the transition records both.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.models import ListDefinition
from xinyong.domain.disputes import removal_due
from xinyong.domain.lists import LINKS_THAT_MAY_LIST, TERMINAL, Action, State, meets_criteria, repairs_end
from xinyong.domain.notices import NoticeKind
from xinyong.services import lists as lists_service
from xinyong.services.objection_forwarding import close_ended, close_forwarded
from xinyong.store import clock
from xinyong.store.tables import list_entries, list_entry_state, records


def ground_change(listing: ListDefinition, entry: Any, current: Any) -> tuple[str, str] | None:
    """(removal rule, plain reason) when the entry's ground no longer holds; None while it does."""
    if current is None or current.subject_id != entry.subject_id or current.link_method not in LINKS_THAT_MAY_LIST:
        return "record_revoked", "the record is no longer linked to this subject"
    if current.status == "revoked":
        return "record_revoked", "the source decision was revoked"
    if current.status == "repaired":
        return "repair_approved", "credit repair was approved for the record"
    attributes = current.attributes if isinstance(current.attributes, dict) else {}
    if not meets_criteria(listing, current.record_type, attributes):
        changed = ", ".join(f"{k}: {v}" for k, v in sorted(attributes.items()))
        return "obligation_met", f"the source reported the obligation met ({changed})"
    return None


def end_for_ground(
    conn: Connection,
    catalog: Catalog,
    entry: Any,
    state: State,
    current: Any,
    *,
    cause: str,
    void: int | None = None,
) -> bool:
    """End one entry whose ground changed; False when its ground still holds. `void`: the id of the
    upheld objection that changed the ground, which ends the entry as if it had never been."""
    listing = catalog.lists[entry.list_id]
    change = ground_change(listing, entry, current)
    if change is None:
        return False
    when, why = change
    if when == "repair_approved" and not repairs_end(listing):
        return False  # the owner's law provides no repair: only the owner's decision ends the entry
    # An upheld objection says the listing was wrong from the start (see domain.lists.voids).
    ref = f"objection:{void}" if void is not None else f"record:{entry.source_id}/{entry.source_ref}"
    rule = next((r for r in listing.removal if r.when == when), None)
    within = rule.within_working_days if rule else catalog.procedure.correction_working_days
    learned = (current.recorded_at if current is not None else clock.advance(conn)).date()
    due = removal_due(within, learned, catalog.procedure.holiday_calendar)
    reason = f"{why}; learned on {learned.isoformat()}, removal due by {due.isoformat()} ({cause})"
    if state is State.LISTED:
        action = Action.REPAIR if when == "repair_approved" else Action.REMOVE
        kind = NoticeKind.REPAIRED if when == "repair_approved" else NoticeKind.REMOVED
    else:
        action, kind = Action.WITHDRAW, NoticeKind.LISTING_WITHDRAWN
    lists_service.end_entry(
        conn,
        catalog,
        entry.id,
        action,
        actor="system:maintain",
        reason=reason,
        ref=ref,
        kind=kind,
    )
    ground = f"record {entry.source_id}/{entry.source_ref}"
    if void is not None:  # not the owner's decision: what was forwarded to it is moot
        close_ended(conn, entry, f"entry {entry.id} was voided: objection {void} was upheld ({why}, {ground})")
    elif when == "repair_approved":  # credit repair the owner's law provides for, approved by the platform
        close_ended(conn, entry, f"entry {entry.id} ended: {why} ({ground}), before the owner decided")
    else:  # the record's own source changed it: objections forwarded to it are resolved
        close_forwarded(conn, entry, f"{why} ({ground})")
    return True


def current_version(conn: Connection, source_id: str, source_ref: str) -> Any:
    """The record's current version, in a write transaction that holds the knowledge clock: every
    committed version is known then, whatever moment the caller acts at (see store.clock)."""
    return conn.execute(
        select(records).where(
            records.c.source_id == source_id,
            records.c.source_ref == source_ref,
            records.c.superseded_at.is_(None),
        )
    ).first()


def refresh_entries_of_record(
    conn: Connection,
    catalog: Catalog,
    source_id: str,
    source_ref: str,
    *,
    cause: str,
    void: int | None = None,
) -> int:
    """End the open entries grounded on this record if its current version no longer grounds them."""
    q = (
        select(list_entries, list_entry_state.c.state)
        .join(list_entry_state, list_entry_state.c.entry_id == list_entries.c.id)
        .where(and_(list_entries.c.source_id == source_id, list_entries.c.source_ref == source_ref))
        .order_by(list_entries.c.id)
    )
    current = current_version(conn, source_id, source_ref)
    ended = 0
    for row in conn.execute(q).all():
        state = State(row.state)
        if state in TERMINAL:
            continue
        ended += end_for_ground(conn, catalog, row, state, current, cause=cause, void=void)
    return ended


def rescore_subjects(engine: Engine, catalog: Catalog, subject_ids: Iterable[int], now: datetime) -> None:
    """Recompute the scores of subjects whose records a decision changed (online, one by one)."""
    from xinyong.services.scoring import rescore

    ids = sorted(set(subject_ids))
    if ids:
        # As known at the knowledge clock: the decision's own versions may carry a stamp after `now`.
        rescore(engine, catalog, as_of=now.date(), subject_ids=ids, mode="subject", engine_name="online")
