"""Objections that are the owner's to decide: forwarded to the source that owns a list, and closed.

A published entry of a list a source owns ends only by that source's decision (a corrected or
revoked record). So an objection to such an entry, or to the record of that source which grounds
it (the court's defaulter record behind a court listing: the platform can neither verify nor
correct a court's judgment), is forwarded to the owner (`forwarded_to`): the owner is told, a
platform reviewer's ruling is refused (`forwarded_refusal`), and the objection closes

- as resolved by the owner (`close_forwarded`) when the owner's corrected or revoked record ends
  the entry;
- as moot (`close_ended`) when the entry ends otherwise before the owner decided: its term ran
  out, its ground's valid time ended, credit repair the owner's law provides for was approved, or
  another objection voided it. No forwarded objection stays open after its entry has ended.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.disputes import Outcome, Target, TargetKind
from xinyong.domain.lists import State
from xinyong.domain.notices import Notice, NoticeKind, basis_text
from xinyong.services import lists as lists_service
from xinyong.services import notices as outbox
from xinyong.store.tables import list_entries, list_entry_state, objection_decisions, objections


def owner_of(conn: Connection, catalog: Catalog, subject_id: int, t: Target) -> tuple[str, Any] | None:
    """(owner, entry) when the objection is the owner's to decide, else None: a published entry of
    a list a source owns, or a record of that source grounding such an entry of this subject."""
    if t.kind is TargetKind.ENTRY and t.entry_id is not None:
        entry = lists_service.entry_row(conn, t.entry_id)
        listing = catalog.lists.get(entry.list_id)
        if listing is None or listing.owner is None:
            return None
        state = lists_service.current_view(conn, t.entry_id, lock=False).state
        return (listing.owner, entry) if state is State.LISTED else None
    if t.kind is TargetKind.RECORD:
        for entry in _grounded(conn, subject_id, str(t.source_id), str(t.source_ref), published=True):
            listing = catalog.lists.get(entry.list_id)
            if listing is not None and listing.owner is not None and listing.owner == t.source_id:
                return listing.owner, entry
    return None


def _grounded(conn: Connection, subject_id: int, source_id: str, source_ref: str, *, published: bool) -> list[Any]:
    """The subject's entries grounded on this record (published ones only, if asked), newest first."""
    q = (
        select(list_entries)
        .join(list_entry_state, list_entry_state.c.entry_id == list_entries.c.id)
        .where(
            list_entries.c.subject_id == subject_id,
            list_entries.c.source_id == source_id,
            list_entries.c.source_ref == source_ref,
        )
        .order_by(list_entries.c.id.desc())
    )
    if published:
        q = q.where(list_entry_state.c.state == State.LISTED.value)
    return list(conn.execute(q).all())


def forward(
    conn: Connection,
    catalog: Catalog,
    oid: int,
    subject_id: int,
    t: Target,
    grounds: str,
    owner: str,
    entry: Any,
    due: date,
) -> str:
    """Tell the owning source of the objection, with its grounds and deadline; what the subject is
    told it can do (wait for the owner's decision)."""
    listing = catalog.lists[entry.list_id]
    name = lists_service.owner_name(catalog, listing)
    ground = f"{entry.source_id}/{entry.source_ref}"
    if t.kind is TargetKind.RECORD:
        what = f"the subject objects to your record {ground}, the ground of entry {entry.id} on your {listing.name}"
        title = f"Objection {oid} to your record {ground}"
        why = (
            f"you made the record and own the {listing.name} ({basis_text(listing.legal_basis)}): the platform can "
            "neither verify nor correct your decision; only your decision changes the record and ends the entry."
        )
    else:
        what = f"the subject objects to entry {entry.id}, which rests on your record {ground}"
        title = f"Objection {oid} to entry {entry.id} on your {listing.name}"
        why = f"you own the {listing.name} ({basis_text(listing.legal_basis)}): only your decision ends the entry."
    outbox.put(
        conn,
        subject_id=subject_id,
        recipient=f"source:{owner}",
        event_ref=f"objection:{oid}:forwarded",
        notice=Notice(
            NoticeKind.OBJECTION_FORWARDED,
            title,
            f"{what}: {grounds}",
            why,
            "review your record; if it is wrong or the obligation is met, submit it corrected or revoked with a "
            "higher revision. The entry then ends, and the objection is closed as resolved by you. If it is right, "
            f"answer so with your reasons (POST /v1/forwarded-objections/{oid}/answer, answer record_stands): the "
            "objection is closed as maintained by you, and the subject is told your reasons.",
            due,
        ),
    )
    whose = "made the record and owns the list it grounds" if t.kind is TargetKind.RECORD else "owns the list"
    return (
        f"it is forwarded to {name}, which {whose}: only its decision (a corrected or revoked record) ends the "
        "entry; you will be told the outcome."
    )


def forwarded_entry(conn: Connection, o: Any) -> Any:
    """The entry a forwarded objection concerns: its target, or the newest entry its record grounds."""
    if o.entry_id is not None:
        return lists_service.entry_row(conn, int(o.entry_id))
    found = _grounded(conn, int(o.subject_id), str(o.source_id), str(o.source_ref), published=False)
    return found[0]  # forwarded because it grounded one; entries are never deleted


def forwarded_refusal(conn: Connection, catalog: Catalog, o: Any, what: str) -> str:
    """Why a platform reviewer may not `what` (uphold, dismiss) a forwarded objection: who decides, and how."""
    e = forwarded_entry(conn, o)
    listing = catalog.lists[e.list_id]
    name = lists_service.owner_name(catalog, listing)
    ground = f"{e.source_id}/{e.source_ref}"
    if o.target_kind == TargetKind.RECORD.value:
        return (
            f"objection {o.id} is forwarded to {name} ({o.forwarded_to}), which made record {ground} and owns the "
            f"{listing.name} it grounds: a platform reviewer cannot {what} it. Only {name}'s decision changes the "
            f"record: a corrected or revoked record {ground} from {o.forwarded_to}, which ends entry {e.id} and "
            "closes the objection as resolved by the owner"
        )
    return (
        f"objection {o.id} is forwarded to {name} ({o.forwarded_to}), which owns the {listing.name}: a platform "
        f"reviewer cannot {what} it. Only {name}'s decision ends entry {e.id}: a corrected or revoked record "
        f"{ground} from {o.forwarded_to}, which closes the objection as resolved by the owner"
    )


def _open_about(conn: Connection, entry: Any) -> list[Any]:
    """The undecided objections forwarded about `entry`: to the entry itself, or to its ground record."""
    o = objections
    about_record = and_(
        o.c.target_kind == TargetKind.RECORD.value,
        o.c.subject_id == entry.subject_id,
        o.c.source_id == entry.source_id,
        o.c.source_ref == entry.source_ref,
    )
    return list(
        conn.execute(
            select(o)
            .outerjoin(objection_decisions, objection_decisions.c.objection_id == o.c.id)
            .where(
                or_(o.c.entry_id == entry.id, about_record),
                o.c.forwarded_to.isnot(None),
                objection_decisions.c.id.is_(None),
            )
            .order_by(o.c.id)
        ).all()
    )


def _close(conn: Connection, o: Any, outcome: Outcome, actor: str, why: str, notice: Notice) -> None:
    conn.execute(
        insert(objection_decisions).values(
            objection_id=o.id,
            outcome=outcome.value,
            actor=actor,
            at=CLOCK.now(),
            reason=why[:1000],
            remedy={"entry_ended": True},
            appeal_until=None,
        )
    )
    outbox.put(conn, subject_id=int(o.subject_id), event_ref=f"objection:{o.id}:decided:subject", notice=notice)


def close_forwarded(conn: Connection, entry: Any, why: str) -> int:
    """Close the open objections forwarded about `entry`, which its owner's record just ended: each
    is resolved by the owner (the decision's actor is the source) and the subject is told."""
    open_ones = _open_about(conn, entry)
    for o in open_ones:
        notice = Notice(
            NoticeKind.OBJECTION_UPHELD,
            f"Objection {o.id} resolved by {o.forwarded_to}",
            f"the source that owns the list decided on your objection: entry {entry.id} has ended.",
            why,
            "nothing; measures based on this entry no longer apply.",
        )
        _close(conn, o, Outcome.OWNER_RESOLVED, f"source:{o.forwarded_to}", why, notice)
    return len(open_ones)


def close_ended(conn: Connection, entry: Any, why: str, *, actor: str = "system:maintain") -> int:
    """Close the open objections forwarded about `entry`, which ended before its owner decided
    (`why` says how and when): nothing is left for the owner to decide about the entry, so each is
    closed as `entry_ended`, and the subject is told, and that a record may be objected to again."""
    open_ones = _open_about(conn, entry)
    for o in open_ones:
        again = (
            f" You may object to record {o.source_id}/{o.source_ref} again: as it grounds no published listing of "
            "its source any more, the platform's reviewers decide that objection."
            if o.target_kind == TargetKind.RECORD.value
            else ""
        )
        notice = Notice(
            NoticeKind.OBJECTION_CLOSED,
            f"Objection {o.id} closed: entry {entry.id} has ended",
            f"entry {entry.id}, which your objection concerned, ended before {o.forwarded_to} decided on it; "
            "the objection is closed.",
            why,
            "nothing; measures based on this entry no longer apply." + again,
        )
        _close(conn, o, Outcome.ENTRY_ENDED, actor, why, notice)
    return len(open_ones)
