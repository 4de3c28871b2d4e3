"""List entries in the store: appending transitions, reviewers' decisions, and what a list shows.

Every change of an entry is one appended `list_transitions` row, written together with the
derived `list_entry_state` row in one transaction. The state row is read FOR UPDATE and the
transition carries the next sequence number, so two deciders racing on one entry cannot both
win: the second waits, then finds the entry moved and gets a conflict error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.citations import words_problem
from xinyong.domain.catalog.models import ListDefinition
from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import InvalidInput, NotFound
from xinyong.domain.free_text import plain_free_text
from xinyong.domain.lists import (
    LINKS_THAT_MAY_LIST,
    Action,
    EntryView,
    GroundFact,
    InvalidTransition,
    State,
    Transition,
    actor_role,
    extension_end,
    fold,
    ground_ends,
    ground_from,
    next_state,
    owner_refusal,
)
from xinyong.domain.notices import Notice, NoticeKind, basis_text, record_text
from xinyong.domain.scoring import RecordFact
from xinyong.services import notices as outbox
from xinyong.services.proposals import proposal_notice
from xinyong.store import clock
from xinyong.store.list_columns import TRANSITION_COLUMNS
from xinyong.store.tables import list_entries, list_entry_state, list_transitions, records, sources
from xinyong.store.unit_of_work import AuditNote, UnitOfWork

REASON_MIN = 5


def need_reason(reason: str | None, what: str) -> str:
    text = (reason or "").strip()
    if len(text) < REASON_MIN:
        raise InvalidInput(f"{what} needs a reason the subject can read (at least {REASON_MIN} characters)")
    if len(text) > 1000:
        raise InvalidInput(f"{what}: the reason is {len(text)} characters; at most 1000")
    return plain_free_text(text, f"{what}: the reason", lines=True)


def need_actor(actor: str, role: str) -> str:
    if actor_role(actor) != role or not actor.partition(":")[2].strip():
        raise InvalidInput(f"actor '{actor}': expected '{role}:NAME'")
    return actor


@dataclass(frozen=True)
class Ground:
    """The record behind an entry, as the notice and the explanation name it."""

    record_id: int
    record_type: str
    source_id: str
    source_ref: str
    decided_on: date
    document_no: str | None
    text: str
    source_name: str


def ground(conn: Connection, catalog: Catalog, record_id: int) -> Ground:
    r = conn.execute(
        select(
            records.c.id,
            records.c.record_type,
            records.c.source_id,
            records.c.source_ref,
            records.c.decided_on,
            records.c.document_no,
            sources.c.name,
        )
        .join(sources, sources.c.id == records.c.source_id)
        .where(records.c.id == record_id)
    ).one()
    name = catalog.record_types[r.record_type].name if r.record_type in catalog.record_types else r.record_type
    return Ground(
        r.id,
        r.record_type,
        r.source_id,
        r.source_ref,
        r.decided_on,
        r.document_no,
        record_text(name, r.name, r.document_no, r.decided_on),
        r.name,
    )


def entry_row(conn: Connection, entry_id: int) -> Any:
    row = conn.execute(select(list_entries).where(list_entries.c.id == entry_id)).first()
    if row is None:
        raise NotFound(f"no list entry {entry_id}")
    return row


def current_view(conn: Connection, entry_id: int, *, lock: bool) -> EntryView:
    q = select(list_entry_state).where(list_entry_state.c.entry_id == entry_id)
    row = conn.execute(q.with_for_update() if lock else q).first()
    if row is None:
        raise NotFound(f"no list entry {entry_id}")
    return EntryView(State(row.state), row.seq, row.notified_at, row.listed_on, row.ends_on)


_TRANSITIONS = (
    select(*TRANSITION_COLUMNS)
    .where(list_transitions.c.entry_id == bindparam("entry_id"))
    .order_by(list_transitions.c.seq)
)


def transition(row: Any) -> Transition:
    """A Transition from a row that starts with TRANSITION_COLUMNS."""
    seq, action, from_state, to_state, actor, at, reason, listed_on, ends_on, ref = row[: len(TRANSITION_COLUMNS)]
    return Transition(
        seq,
        Action(action),
        State(from_state) if from_state else None,
        State(to_state),
        actor,
        at,
        reason,
        listed_on,
        ends_on,
        ref,
    )


def transitions_of(conn: Connection, entry_id: int) -> list[Transition]:
    return [transition(r) for r in conn.execute(_TRANSITIONS, {"entry_id": entry_id})]


def apply(
    conn: Connection,
    listing: ListDefinition,
    entry_id: int,
    action: Action,
    *,
    actor: str,
    reason: str,
    ref: str | None = None,
    listed_on: date | None = None,
    ends_on: date | None = None,
    view: EntryView | None = None,
) -> EntryView:
    """Append one transition to an entry and move its state row with it. The transition is
    stamped with the knowledge clock (so is the notice an approval starts), whatever moment the
    step was evaluated at (the one `listed_on` and `ends_on` were computed from)."""
    view = view if view is not None else current_view(conn, entry_id, lock=True)
    target = next_state(entry_id, view.state, action, actor_role(actor))
    seq = view.seq + 1
    known = clock.advance(conn)  # when the platform knows it: see store.clock
    try:
        with conn.begin_nested():
            conn.execute(
                insert(list_transitions).values(
                    entry_id=entry_id,
                    seq=seq,
                    action=action.value,
                    from_state=view.state.value,
                    to_state=target.value,
                    actor=actor,
                    at=known,
                    reason=reason,
                    legal_basis=basis_text(listing.legal_basis),
                    listed_on=listed_on,
                    ends_on=ends_on,
                    ref=ref,
                )
            )
    except IntegrityError:
        raise InvalidTransition(
            f"list entry {entry_id} was decided by someone else at the same time; reload it"
        ) from None
    notified_at = known if action is Action.APPROVE else view.notified_at  # a notice is never backdated
    new = EntryView(target, seq, notified_at, listed_on or view.listed_on, ends_on or view.ends_on)
    moved = conn.execute(
        update(list_entry_state)
        .where(list_entry_state.c.entry_id == entry_id, list_entry_state.c.seq == view.seq)
        .values(
            state=new.state.value,
            seq=seq,
            notified_at=new.notified_at,
            notice_ends_on=new.notice_ends_on(listing.notice_days),
            listed_on=new.listed_on,
            ends_on=new.ends_on,
        )
    ).rowcount
    if moved != 1:
        raise InvalidTransition(f"list entry {entry_id} was decided by someone else at the same time; reload it")
    return new


def approve(conn: Connection, catalog: Catalog, entry_id: int, *, actor: str, reason: str) -> EntryView:
    """Approve a proposal: the subject is notified and the notice period starts."""
    e = entry_row(conn, entry_id)
    listing = catalog.lists[e.list_id]
    view = apply(conn, listing, entry_id, Action.APPROVE, actor=actor, reason=reason)
    g = ground(conn, catalog, e.record_id)
    notified = view.notified_at or clock.advance(conn)  # an approval notifies: it is set
    notice = proposal_notice(listing, entry_id, actor, reason, g.text, g.source_name, notified)
    outbox.put(conn, subject_id=e.subject_id, event_ref=f"entry:{entry_id}:{view.seq}", notice=notice)
    return view


def decide(
    engine: Engine,
    catalog: Catalog,
    entry_id: int,
    *,
    approve_it: bool,
    actor: str,
    reason: str,
    now: datetime,
    audit: AuditNote | None = None,
) -> EntryView:
    """A reviewer's decision on a proposal: approve (notify the subject) or reject (withdraw it).
    It is stamped with the clock, and a notice period runs from that stamp; `now` may not lie ahead."""
    need_actor(actor, "reviewer")
    reason = need_reason(reason, "a decision on a proposal")
    CLOCK.as_of(now, "now")
    with UnitOfWork.writing(engine) as uow:
        conn = uow.conn
        uow.audit(audit, f"entry:{entry_id}")
        if approve_it:
            return approve(conn, catalog, entry_id, actor=actor, reason=reason)
        e = entry_row(conn, entry_id)
        return apply(conn, catalog.lists[e.list_id], entry_id, Action.REJECT, actor=actor, reason=reason)


def end_entry(
    conn: Connection,
    catalog: Catalog,
    entry_id: int,
    action: Action,
    *,
    actor: str,
    reason: str,
    ref: str | None = None,
    kind: NoticeKind,
) -> EntryView:
    """End an entry (remove, repair, expire, withdraw) and tell the subject."""
    e = entry_row(conn, entry_id)
    listing = catalog.lists[e.list_id]
    view = apply(conn, listing, entry_id, action, actor=actor, reason=reason, ref=ref)
    what = {
        NoticeKind.REMOVED: "removed from",
        NoticeKind.REPAIRED: "removed, after credit repair, from",
        NoticeKind.EXPIRED: "at the end of its term, off",
        NoticeKind.LISTING_WITHDRAWN: "withdrawn, before publication, from",
    }[kind]
    outbox.put(
        conn,
        subject_id=e.subject_id,
        event_ref=f"entry:{entry_id}:{view.seq}",
        notice=Notice(
            kind,
            f"Entry {entry_id}: {view.state.value}",
            f"your entry {entry_id} is {what} the {listing.name}.",
            reason,
            "nothing is required of you; measures based on this entry no longer apply.",
        ),
    )
    return view


def owner_name(catalog: Catalog, listing: ListDefinition) -> str:
    source = catalog.sources.get(listing.owner or "")
    return source.name if source else str(listing.owner)


def ground_fact(conn: Connection, catalog: Catalog, e: Any) -> GroundFact | None:
    """The current version of the record an entry rests on, or None when there is none."""
    r = conn.execute(
        select(records).where(
            records.c.source_id == e.source_id,
            records.c.source_ref == e.source_ref,
            records.c.superseded_at.is_(None),
        )
    ).first()
    if r is None:
        return None
    attributes = r.attributes if isinstance(r.attributes, dict) else {}
    fact = RecordFact(r.id, r.record_type, r.decided_on, r.valid_from, r.valid_until, attributes, r.status)
    linked = r.subject_id == e.subject_id and r.link_method in LINKS_THAT_MAY_LIST
    return ground_from(
        catalog,
        catalog.lists[e.list_id],
        fact,
        linked=linked,
        learned_on=r.recorded_at.date(),
        document_no=r.document_no,
    )


def extend(
    engine: Engine,
    catalog: Catalog,
    entry_id: int,
    *,
    months: int,
    actor: str,
    reason: str,
    now: datetime,
    audit: AuditNote | None = None,
) -> EntryView:
    """Lengthen a listing's term: only by a new reasoned decision of another reviewer, while its
    ground counts, within the list's longest stay (see `domain.lists.extension_refusal`)."""
    need_actor(actor, "reviewer")
    reason = need_reason(reason, "an extension")
    now = CLOCK.as_of(now, "now")  # the day the extension is judged at; it is stamped with the clock
    why = words_problem(reason)
    if why is not None:
        raise InvalidInput(f"an extension needs a reason the subject can read: the reason {why}")
    with UnitOfWork.writing(engine) as uow:
        conn = uow.conn
        uow.audit(audit, f"entry:{entry_id}")
        e = entry_row(conn, entry_id)
        listing = catalog.lists[e.list_id]
        current_view(conn, entry_id, lock=True)
        view = fold(transitions_of(conn, entry_id))
        if view is None:
            raise NotFound(f"no list entry {entry_id}")
        end = ground_ends(int(e.record_id), ground_fact(conn, catalog, e))
        ends = extension_end(listing, entry_id, view, end, months=months, reviewer=actor, day=now.date())
        new = apply(conn, listing, entry_id, Action.EXTEND, actor=actor, reason=reason, ends_on=ends, view=view)
        outbox.put(
            conn,
            subject_id=e.subject_id,
            event_ref=f"entry:{entry_id}:{new.seq}",
            notice=Notice(
                NoticeKind.LISTING_EXTENDED,
                f"Entry {entry_id} extended",
                f"your entry on the {listing.name} is extended by {months} months, to {ends.isoformat()}.",
                f"{reason}; legal basis: {basis_text(listing.legal_basis)}",
                "object to the extension within the objection period; it will be decided within the deadline.",
            ),
        )
        return new


def remove(
    engine: Engine,
    catalog: Catalog,
    entry_id: int,
    *,
    actor: str,
    reason: str,
    now: datetime,
    audit: AuditNote | None = None,
) -> EntryView:
    """A reviewer ends an entry: removal when listed, withdrawal before publication. A published
    entry of a list a source owns ends only by that source's decision (`owner_refusal`)."""
    need_actor(actor, "reviewer")
    reason = need_reason(reason, "a removal")
    CLOCK.as_of(now, "now")  # a moment ahead of the clock is refused; the removal is stamped by it
    with UnitOfWork.writing(engine) as uow:
        conn = uow.conn
        uow.audit(audit, f"entry:{entry_id}")
        view = current_view(conn, entry_id, lock=True)
        listing = catalog.lists[entry_row(conn, entry_id).list_id]
        owner_refusal(listing, owner_name(catalog, listing), entry_id, view.state, "removal")
        action, kind = (
            (Action.REMOVE, NoticeKind.REMOVED)
            if view.state is State.LISTED
            else (Action.WITHDRAW, NoticeKind.LISTING_WITHDRAWN)
        )
        return end_entry(conn, catalog, entry_id, action, actor=actor, reason=reason, kind=kind)
