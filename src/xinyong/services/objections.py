"""Objections: a subject challenges a record, a list entry, a subject link or a score.

Filing marks the target disputed at once (`disputes_of`), and during a notice period it holds
publication. A reviewer decides within the deadline (`services.objection_rulings`); a dismissal
may be appealed once, to a different reviewer. An objection to a published entry of a list a
source owns, or to that source's record grounding one, is forwarded to that source
(`forwarded_to`, `services.objection_forwarding`), whose decision alone ends the entry.
A filing is stamped with the clock, and its deadline runs from that stamp: no caller backdates it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, select
from sqlalchemy.exc import IntegrityError

from xinyong.domain.catalog import Catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.disputes import Outcome, Target, TargetKind, objection_due, parse_target
from xinyong.domain.errors import Conflict, InvalidInput, NotFound
from xinyong.domain.free_text import plain_free_text
from xinyong.domain.lists import Action, State
from xinyong.domain.notices import Notice, NoticeKind, basis_text
from xinyong.services import lists as lists_service
from xinyong.services import notices as outbox
from xinyong.services.corrections import current_record
from xinyong.services.objection_forwarding import forward, owner_of
from xinyong.services.objection_views import open_objections
from xinyong.store.tables import list_entries, objection_decisions, objections, scores
from xinyong.store.unit_of_work import AuditNote, UnitOfWork

GROUNDS_MAX = 2000


def _check_owner(conn: Connection, subject_id: int, t: Target) -> None:
    """Refuse a target outside the subject's file exactly as one that does not exist: the same
    error, the same words, so that objecting is no oracle for what is in someone else's file."""
    owner: Any = None
    if t.kind in (TargetKind.RECORD, TargetKind.LINK):
        try:
            owner = current_record(conn, str(t.source_id), str(t.source_ref)).subject_id
        except NotFound:
            owner = None
    elif t.kind is TargetKind.ENTRY:
        owner = conn.scalar(select(list_entries.c.subject_id).where(list_entries.c.id == t.entry_id))
    else:
        owner = conn.scalar(select(scores.c.subject_id).where(scores.c.id == t.score_id))
    if owner is None or int(owner) != subject_id:
        raise NotFound(f"no {t.text} in your file")


def _same_target(t: Target) -> Any:
    pairs = (
        (objections.c.source_id, t.source_id),
        (objections.c.source_ref, t.source_ref),
        (objections.c.entry_id, t.entry_id),
        (objections.c.score_id, t.score_id),
    )
    return and_(
        objections.c.target_kind == t.kind.value, *(col.is_(None) if v is None else col == v for col, v in pairs)
    )


def _insert(
    conn: Connection,
    catalog: Catalog,
    subject_id: int,
    t: Target,
    grounds: str,
    actor: str,
    at: datetime,
    appeal_of: int | None,
) -> dict[str, Any]:
    """Store the objection, stamped `at` (the write's clock stamp), hold a publication it
    concerns, forward it to a list's owner, and tell the subject."""
    pending = conn.scalar(
        select(objections.c.id)
        .select_from(open_objections())
        .where(objections.c.subject_id == subject_id, _same_target(t), objection_decisions.c.id.is_(None))
    )
    if pending is not None:
        raise Conflict(f"objection {pending} to this {t.text} is still open; it will be decided first")
    due = objection_due(catalog.procedure, at.date())
    forwarded = owner_of(conn, catalog, subject_id, t)
    owner = forwarded[0] if forwarded else None
    oid = conn.execute(
        insert(objections)
        .values(
            subject_id=subject_id,
            target_kind=t.kind.value,
            source_id=t.source_id,
            source_ref=t.source_ref,
            entry_id=t.entry_id,
            score_id=t.score_id,
            grounds=grounds,
            filed_by=actor,
            filed_at=at,
            due_on=due,
            appeal_of=appeal_of,
            forwarded_to=owner,
        )
        .returning(objections.c.id)
    ).scalar_one()
    _hold_publication(conn, catalog, t, int(oid), actor)
    what = "appeal" if appeal_of else "objection"
    then = "nothing more is needed; you will be told the outcome and the reasons."
    if forwarded is not None:
        then = forward(conn, catalog, int(oid), subject_id, t, grounds, forwarded[0], forwarded[1], due)
    outbox.put(
        conn,
        subject_id=subject_id,
        event_ref=f"objection:{oid}:filed",
        notice=Notice(
            NoticeKind.OBJECTION_RECEIVED,
            f"Your {what} {oid} was received",
            f"your {what} to the {t.text} was received on {at.date().isoformat()}; the {t.kind.value} is marked "
            "disputed wherever it is shown or used until it is decided.",
            f"you have the right to object ({basis_text(catalog.procedure.legal_basis)}).",
            then,
            due,
        ),
    )
    filed: dict[str, Any] = {"id": int(oid), "due_on": due, "target": t.text}
    if owner is not None:
        filed["forwarded_to"] = owner
    return filed


def _hold_publication(conn: Connection, catalog: Catalog, t: Target, oid: int, actor: str) -> None:
    """An objection to an entry in its notice period holds its publication until it is decided."""
    if t.kind is not TargetKind.ENTRY or t.entry_id is None:
        return
    view = lists_service.current_view(conn, t.entry_id, lock=True)
    if view.state is State.NOTIFIED:
        listing = catalog.lists[lists_service.entry_row(conn, t.entry_id).list_id]
        lists_service.apply(
            conn,
            listing,
            t.entry_id,
            Action.OBJECT,
            actor=actor,
            reason=f"objection {oid}: publication held until it is decided",
            ref=f"objection:{oid}",
            view=view,
        )


def file_objection(
    engine: Engine,
    catalog: Catalog,
    *,
    subject_id: int,
    target: str,
    grounds: str,
    actor: str,
    now: datetime,
    audit: AuditNote | None = None,
) -> dict[str, Any]:
    """File a subject's objection; the target is disputed from this moment. `audit`: the event
    stored with it (its target: the new objection)."""
    t = parse_target(target)
    grounds = grounds.strip()
    if not 10 <= len(grounds) <= GROUNDS_MAX:
        raise InvalidInput(f"grounds: say in 10 to {GROUNDS_MAX} characters what is wrong (got {len(grounds)})")
    plain_free_text(grounds, "grounds", lines=True)
    CLOCK.as_of(now, "now")  # a moment ahead of the clock is refused; the filing is stamped by it
    with UnitOfWork.writing(engine) as uow:
        _check_owner(uow.conn, subject_id, t)
        filed = _insert(uow.conn, catalog, subject_id, t, grounds, actor, uow.stamp(), None)
        uow.audit(audit, f"objection:{filed['id']}")
        return filed


def appeal(
    engine: Engine,
    catalog: Catalog,
    objection_id: int,
    *,
    grounds: str,
    actor: str | None,
    now: datetime,
    audit: AuditNote | None = None,
) -> dict[str, Any]:
    """Appeal a dismissal, once, within the appeal period; a different reviewer will decide it.

    The appeal is the subject's own: `actor` defaults to the subject of the objection."""
    plain_free_text(grounds, "grounds", lines=True)
    CLOCK.as_of(now, "now")
    with UnitOfWork.writing(engine) as uow:
        conn = uow.conn
        at = uow.stamp()  # the appeal's time: its period is judged by the clock, not by the caller
        o = objection_row(conn, objection_id)
        d = decision_row(conn, objection_id)
        if o.appeal_of is not None:
            raise InvalidInput(f"objection {objection_id} is itself an appeal: a dismissal may be appealed only once")
        if d is None or d.outcome != Outcome.DISMISSED:
            raise InvalidInput(f"objection {objection_id} was not dismissed: only a dismissal can be appealed")
        if at.date() > d.appeal_until:
            raise InvalidInput(f"the appeal period of objection {objection_id} ended on {d.appeal_until.isoformat()}")
        t = Target(TargetKind(o.target_kind), o.source_id, o.source_ref, o.entry_id, o.score_id)
        actor = actor or f"subject:{o.subject_id}"
        try:
            with conn.begin_nested():
                filed = _insert(
                    conn, catalog, int(o.subject_id), t, grounds.strip() or o.grounds, actor, at, objection_id
                )
        except IntegrityError:
            raise Conflict(f"objection {objection_id} has already been appealed") from None
        uow.audit(audit, f"objection:{filed['id']}")
        return filed


def objection_row(conn: Connection, objection_id: int) -> Any:
    o = conn.execute(select(objections).where(objections.c.id == objection_id)).first()
    if o is None:
        raise NotFound(f"no objection {objection_id}")
    return o


def decision_row(conn: Connection, objection_id: int) -> Any:
    return conn.execute(select(objection_decisions).where(objection_decisions.c.objection_id == objection_id)).first()
