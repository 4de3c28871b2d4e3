"""The daily run: propose, publish, expire, end entries whose ground fell away, flag what is overdue.

Correctness never waits for it: records stop counting at valid_until and entries at the end of
their term by as-of evaluation. `maintain` writes the transitions and notices those moments call
for, and rebuilds the derived state rows. It is idempotent (every step looks for work not yet
done, every notice is unique per event) and safe to run twice at once: the run holds the store's
"maintain" write lock, so a second run waits and then finds nothing left to do.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.models import ListDefinition
from xinyong.domain.clock import CLOCK
from xinyong.domain.disputes import TargetKind
from xinyong.domain.lists import (
    LINKS_THAT_MAY_LIST,
    Action,
    State,
    fold,
    meets_criteria,
    term_end,
)
from xinyong.domain.notices import Notice, NoticeKind, basis_text
from xinyong.domain.scoring import add_months
from xinyong.services import lists as lists_service
from xinyong.services import notices as outbox
from xinyong.services.maintain_endings import expire, ground_changes, ground_lapsed, guarded
from xinyong.services.proposals import create_entries
from xinyong.store.tables import (
    list_entries,
    list_entry_state,
    list_transitions,
    maintenance_runs,
    objection_decisions,
    objections,
    records,
    repair_decisions,
    repairs,
)
from xinyong.store.unit_of_work import AuditNote, UnitOfWork


def _still_valid(catalog: Catalog, r: Any, today: date) -> bool:
    if r.valid_from > today:
        return False
    end = r.valid_until
    if end is None:
        months = catalog.record_types[r.record_type].publication_months
        end = add_months(r.valid_from, months) if months else None
    return end is None or today < end


def _in_force(catalog: Catalog, types: list[str], today: date) -> Any:
    """A coarse SQL filter of the records in force today, so the expired ones never reach Python.

    Without valid_until a record ends at the end of its publication period; `add_months` clamps at
    month ends, so the bound is widened by a few days and `_still_valid` decides exactly."""
    open_ended = [
        and_(
            records.c.record_type == t,
            records.c.valid_from > add_months(today, -catalog.record_types[t].publication_months) - timedelta(days=3),
        )
        if catalog.record_types[t].publication_months
        else records.c.record_type == t
        for t in types
    ]
    return and_(
        records.c.valid_from <= today,
        or_(records.c.valid_until > today, and_(records.c.valid_until.is_(None), or_(*open_ended))),
    )


def propose(conn: Connection, catalog: Catalog, listing: ListDefinition, now: datetime) -> int:
    """Entries for current, linked, valid records meeting the criteria that have none on this list yet."""
    types = sorted({c.record_type for c in listing.entry})
    e = list_entries
    q = (
        select(
            records.c.id,
            records.c.source_id,
            records.c.source_ref,
            records.c.record_type,
            records.c.subject_id,
            records.c.subject_kind,
            records.c.attributes,
            records.c.valid_from,
            records.c.valid_until,
            records.c.decided_on,
            records.c.document_no,
        )
        .outerjoin(
            e,
            and_(
                e.c.list_id == listing.id, e.c.source_id == records.c.source_id, e.c.source_ref == records.c.source_ref
            ),
        )
        .where(
            e.c.id.is_(None),
            records.c.record_type.in_(types),
            records.c.subject_kind.in_(list(listing.subject_kinds)),
            records.c.status == "active",
            records.c.subject_id.isnot(None),
            records.c.link_method.in_(LINKS_THAT_MAY_LIST),
            records.c.superseded_at.is_(None),  # every committed version is known: the clock is held
            _in_force(catalog, types, now.date()),
        )
        .order_by(records.c.id)
    )
    today = now.date()
    found = []
    for r in conn.execute(q):
        attributes = r.attributes if isinstance(r.attributes, dict) else {}
        if _still_valid(catalog, r, today) and meets_criteria(listing, r.record_type, attributes):
            found.append(r)
    return create_entries(conn, catalog, listing, found)


def _held(conn: Connection, entry: Any, today: date) -> bool:
    """An open objection to the entry or its record, or a dismissal whose appeal period is open."""
    about = or_(
        objections.c.entry_id == entry.id,
        and_(
            objections.c.target_kind.in_((TargetKind.RECORD.value, TargetKind.LINK.value)),
            objections.c.source_id == entry.source_id,
            objections.c.source_ref == entry.source_ref,
        ),
    )
    appeal = objections.alias("appeal")
    q = (
        select(func.count())
        .select_from(
            objections.outerjoin(objection_decisions, objection_decisions.c.objection_id == objections.c.id).outerjoin(
                appeal, appeal.c.appeal_of == objections.c.id
            )
        )
        .where(
            objections.c.subject_id == entry.subject_id,
            about,
            or_(
                objection_decisions.c.id.is_(None),
                and_(
                    objection_decisions.c.outcome == "dismissed",
                    objection_decisions.c.appeal_until >= today,
                    appeal.c.id.is_(None),
                ),
            ),
        )
    )
    return bool(conn.scalar(q))


def _publish_one(conn: Connection, catalog: Catalog, e: Any, now: datetime) -> bool:
    today = now.date()
    listing = catalog.lists[e.list_id]
    ends = term_end(listing, today)
    view = lists_service.apply(
        conn,
        listing,
        e.id,
        Action.PUBLISH,
        actor="system:maintain",
        reason=f"the notice period ended with no objection pending; listed for {listing.term_months} months",
        listed_on=today,
        ends_on=ends,
    )
    g = lists_service.ground(conn, catalog, e.record_id)
    public = "; the entry is public." if listing.public else "; the entry is not public."
    repair = "; after the minimum period you may apply for credit repair." if listing.repairable else "."
    outbox.put(
        conn,
        subject_id=e.subject_id,
        event_ref=f"entry:{e.id}:{view.seq}",
        notice=Notice(
            NoticeKind.LISTED,
            f"Listed on the {listing.name}",
            f"you are listed on the {listing.name} from {today.isoformat()} to {ends.isoformat()} (entry {e.id})"
            + public,
            f"{g.text}; legal basis: {basis_text(listing.legal_basis)}",
            "object at any time; once the obligation is met, the entry is removed within "
            f"{_within(listing, 'obligation_met')} working days{repair}",
        ),
    )
    return True


def publish(conn: Connection, catalog: Catalog, now: datetime) -> tuple[int, int]:
    """List the notified entries whose notice period ended with nothing pending; count the held ones."""
    today = now.date()
    due = (
        select(list_entries, list_entry_state.c.seq)
        .join(list_entry_state, list_entry_state.c.entry_id == list_entries.c.id)
        .where(list_entry_state.c.state == State.NOTIFIED.value, list_entry_state.c.notice_ends_on <= today)
        .order_by(list_entries.c.id)
    )
    published = held = 0
    for e in conn.execute(due).all():
        if _held(conn, e, today):
            held += 1
        elif guarded(conn, _publish_one, conn, catalog, e, now):
            published += 1
    return published, held


def _within(listing: ListDefinition, when: str) -> str:
    rule = next((r for r in listing.removal if r.when == when), None)
    return str(rule.within_working_days) if rule else "a few"


def refresh_state(conn: Connection, catalog: Catalog) -> int:
    """Rebuild state rows that disagree with their transitions (none, unless written by other means)."""
    latest = (
        select(list_transitions.c.entry_id, func.max(list_transitions.c.seq).label("seq"))
        .group_by(list_transitions.c.entry_id)
        .subquery()
    )
    stale = conn.execute(
        select(latest.c.entry_id)
        .outerjoin(list_entry_state, list_entry_state.c.entry_id == latest.c.entry_id)
        .where(or_(list_entry_state.c.seq.is_(None), list_entry_state.c.seq != latest.c.seq))
    ).all()
    for (entry_id,) in stale:
        e = lists_service.entry_row(conn, entry_id)
        view = fold(lists_service.transitions_of(conn, entry_id))
        if view is None:
            continue
        values = {
            "list_id": e.list_id,
            "subject_id": e.subject_id,
            "state": view.state.value,
            "seq": view.seq,
            "notified_at": view.notified_at,
            "notice_ends_on": view.notice_ends_on(catalog.lists[e.list_id].notice_days),
            "listed_on": view.listed_on,
            "ends_on": view.ends_on,
        }
        conn.execute(list_entry_state.delete().where(list_entry_state.c.entry_id == entry_id))
        conn.execute(insert(list_entry_state).values(entry_id=entry_id, **values))
    return len(stale)


def overdue(conn: Connection, today: date) -> dict[str, int]:
    o = conn.scalar(
        select(func.count())
        .select_from(objections.outerjoin(objection_decisions, objection_decisions.c.objection_id == objections.c.id))
        .where(objection_decisions.c.id.is_(None), objections.c.due_on < today)
    )
    r = conn.scalar(
        select(func.count())
        .select_from(repairs.outerjoin(repair_decisions, repair_decisions.c.repair_id == repairs.c.id))
        .where(repair_decisions.c.id.is_(None), repairs.c.due_on < today)
    )
    return {"overdue_objections": int(o or 0), "overdue_repairs": int(r or 0)}


def maintain(
    engine: Engine, catalog: Catalog, now: datetime | None = None, *, audit: AuditNote | None = None
) -> dict[str, Any]:
    """One maintenance run evaluated as of `now` (which entries are due then; never ahead of the
    clock); returns what it did. What it writes is stamped with the clock, whatever `now` is.
    `audit`: the run's event (target "lists" unless it names one), stored with the run or not at all."""
    now = CLOCK.as_of(now, "the moment of maintenance")
    started = CLOCK.now()
    counts: Counter[str] = Counter()
    with UnitOfWork.writing(engine, lock="maintain") as uow:
        conn = uow.conn
        uow.audit(audit, "lists")
        # The run's one stamp, taken before any row lock and outside the savepoints of its steps,
        # whose writes then share it (see store.clock).
        uow.stamp()
        counts["state_rows_rebuilt"] = refresh_state(conn, catalog)
        counts["ended_ground_changed"] = ground_changes(conn, catalog)
        counts["expired"] = expire(conn, catalog, now)
        counts["ended_ground_lapsed"] = ground_lapsed(conn, catalog, now)
        for listing in catalog.lists.values():
            counts["proposed"] += propose(conn, catalog, listing, now)
        counts["published"], counts["held_by_objection"] = publish(conn, catalog, now)
        counts.update(overdue(conn, now.date()))
        result = {k: int(v) for k, v in counts.items()}
        conn.execute(
            insert(maintenance_runs).values(now=now, started_at=started, finished_at=CLOCK.now(), counts=result)
        )
    return result
