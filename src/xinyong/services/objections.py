"""Objections: a subject challenges a record, a list entry, a subject link or a score.

Filing marks the target disputed at once (`disputes_of`), and during a notice period it holds
publication. A reviewer decides within the deadline: upheld, the record is corrected or revoked as
a new version, the entries and scores it touched are recomputed, and the subject and the source
are told; dismissed, with reasons, the subject may appeal once, to a different reviewer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, select
from sqlalchemy.exc import IntegrityError

from xinyong.domain.catalog import Catalog
from xinyong.domain.disputes import (
    Outcome,
    Target,
    TargetKind,
    appeal_until,
    correction_due,
    objection_due,
    parse_target,
)
from xinyong.domain.errors import Conflict, InvalidInput, NotFound
from xinyong.domain.free_text import no_identifier
from xinyong.domain.lists import Action, State
from xinyong.domain.notices import Notice, NoticeKind, basis_text
from xinyong.services import lists as lists_service
from xinyong.services import notices as outbox
from xinyong.services.corrections import current_record, new_version
from xinyong.services.lists import need_actor, need_reason
from xinyong.services.objection_views import open_objections
from xinyong.services.refresh import refresh_entries_of_record, rescore_subjects
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
    now: datetime,
    appeal_of: int | None,
) -> dict[str, Any]:
    pending = conn.scalar(
        select(objections.c.id)
        .select_from(open_objections())
        .where(objections.c.subject_id == subject_id, _same_target(t), objection_decisions.c.id.is_(None))
    )
    if pending is not None:
        raise Conflict(f"objection {pending} to this {t.text} is still open; it will be decided first")
    due = objection_due(catalog.procedure, now.date())
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
            filed_at=now,
            due_on=due,
            appeal_of=appeal_of,
        )
        .returning(objections.c.id)
    ).scalar_one()
    if t.kind is TargetKind.ENTRY and t.entry_id is not None:
        view = lists_service.current_view(conn, t.entry_id, lock=True)
        if view.state is State.NOTIFIED:
            listing = catalog.lists[lists_service.entry_row(conn, t.entry_id).list_id]
            lists_service.apply(
                conn,
                listing,
                t.entry_id,
                Action.OBJECT,
                actor=actor,
                now=now,
                reason=f"objection {oid}: publication held until it is decided",
                ref=f"objection:{oid}",
                view=view,
            )
    what = "appeal" if appeal_of else "objection"
    outbox.put(
        conn,
        subject_id=subject_id,
        event_ref=f"objection:{oid}:filed",
        now=now,
        notice=Notice(
            NoticeKind.OBJECTION_RECEIVED,
            f"Your {what} {oid} was received",
            f"your {what} to the {t.text} was received on {now.date().isoformat()}; the {t.kind.value} is marked "
            "disputed wherever it is shown or used until it is decided.",
            f"you have the right to object ({basis_text(catalog.procedure.legal_basis)}).",
            "nothing more is needed; you will be told the outcome and the reasons.",
            due,
        ),
    )
    return {"id": int(oid), "due_on": due, "target": t.text}


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
    no_identifier(grounds, "grounds")
    with UnitOfWork.writing(engine) as uow:
        _check_owner(uow.conn, subject_id, t)
        filed = _insert(uow.conn, catalog, subject_id, t, grounds, actor, now, None)
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
    no_identifier(grounds, "grounds")
    with UnitOfWork.writing(engine) as uow:
        conn = uow.conn
        o = _objection(conn, objection_id)
        d = _decision(conn, objection_id)
        if o.appeal_of is not None:
            raise InvalidInput(f"objection {objection_id} is itself an appeal: a dismissal may be appealed only once")
        if d is None or d.outcome != Outcome.DISMISSED:
            raise InvalidInput(f"objection {objection_id} was not dismissed: only a dismissal can be appealed")
        if now.date() > d.appeal_until:
            raise InvalidInput(f"the appeal period of objection {objection_id} ended on {d.appeal_until.isoformat()}")
        t = Target(TargetKind(o.target_kind), o.source_id, o.source_ref, o.entry_id, o.score_id)
        actor = actor or f"subject:{o.subject_id}"
        try:
            with conn.begin_nested():
                filed = _insert(
                    conn, catalog, int(o.subject_id), t, grounds.strip() or o.grounds, actor, now, objection_id
                )
        except IntegrityError:
            raise Conflict(f"objection {objection_id} has already been appealed") from None
        uow.audit(audit, f"objection:{filed['id']}")
        return filed


def _objection(conn: Connection, objection_id: int) -> Any:
    o = conn.execute(select(objections).where(objections.c.id == objection_id)).first()
    if o is None:
        raise NotFound(f"no objection {objection_id}")
    return o


def _decision(conn: Connection, objection_id: int) -> Any:
    return conn.execute(select(objection_decisions).where(objection_decisions.c.objection_id == objection_id)).first()


def decide_objection(
    engine: Engine,
    catalog: Catalog,
    objection_id: int,
    *,
    uphold: bool,
    actor: str,
    reason: str,
    now: datetime,
    revoke: bool = False,
    set_attributes: dict[str, str] | None = None,
    audit: AuditNote | None = None,
) -> dict[str, Any]:
    """Decide an objection; an upheld one is remedied in the same transaction, with `audit`."""
    need_actor(actor, "reviewer")
    reason = need_reason(reason, "a decision on an objection")
    touched: set[int] = set()
    with UnitOfWork.writing(engine) as uow:
        conn = uow.conn
        uow.audit(audit, f"objection:{objection_id}")
        o = _objection(conn, objection_id)
        if _decision(conn, objection_id) is not None:
            raise Conflict(f"objection {objection_id} is already decided")
        if o.appeal_of is not None:
            first = _decision(conn, o.appeal_of)
            if first is not None and first.actor == actor:
                raise InvalidInput(
                    f"{actor} dismissed objection {o.appeal_of}: its appeal goes to a different reviewer"
                )
        t = Target(TargetKind(o.target_kind), o.source_id, o.source_ref, o.entry_id, o.score_id)
        remedy: dict[str, Any] = {}
        if uphold:
            remedy = _remedy(
                conn,
                catalog,
                o,
                t,
                actor=actor,
                now=now,
                reason=reason,
                revoke=revoke,
                set_attributes=set_attributes,
                touched=touched,
            )
        else:
            if revoke or set_attributes:
                raise InvalidInput("a dismissed objection changes nothing: drop --revoke and --set")
            if t.kind is TargetKind.ENTRY and t.entry_id is not None:
                view = lists_service.current_view(conn, t.entry_id, lock=True)
                if view.state is State.OBJECTED:
                    listing = catalog.lists[lists_service.entry_row(conn, t.entry_id).list_id]
                    lists_service.apply(
                        conn,
                        listing,
                        t.entry_id,
                        Action.DISMISS,
                        actor=actor,
                        now=now,
                        reason=reason,
                        ref=f"objection:{objection_id}",
                        view=view,
                    )
        may_appeal = None if (uphold or o.appeal_of is not None) else appeal_until(catalog.procedure, now.date())
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(objection_decisions).values(
                        objection_id=objection_id,
                        outcome=(Outcome.UPHELD if uphold else Outcome.DISMISSED).value,
                        actor=actor,
                        at=now,
                        reason=reason,
                        remedy=remedy,
                        appeal_until=may_appeal,
                    )
                )
        except IntegrityError:
            raise Conflict(f"objection {objection_id} was decided by someone else at the same time") from None
        _tell_outcome(conn, catalog, o, t, uphold, reason, remedy, may_appeal, now)
    rescore_subjects(engine, catalog, touched, now)
    return {
        "id": objection_id,
        "outcome": "upheld" if uphold else "dismissed",
        "remedy": remedy,
        "appeal_until": may_appeal,
    }


def _remedy(
    conn: Connection,
    catalog: Catalog,
    o: Any,
    t: Target,
    *,
    actor: str,
    now: datetime,
    reason: str,
    revoke: bool,
    set_attributes: dict[str, str] | None,
    touched: set[int],
) -> dict[str, Any]:
    cause = f"objection {o.id} upheld"
    touched.add(int(o.subject_id))
    if t.kind is TargetKind.RECORD:
        if revoke == bool(set_attributes):
            raise InvalidInput("an upheld objection to a record either revokes it (--revoke) or corrects it (--set)")
        new_version(
            conn,
            catalog,
            str(t.source_id),
            str(t.source_ref),
            now=now,
            cause=cause,
            status="revoked" if revoke else None,
            set_attributes=set_attributes,
        )
        refresh_entries_of_record(
            conn, catalog, str(t.source_id), str(t.source_ref), now=now, cause=cause, void=int(o.id)
        )
        _tell_source(conn, catalog, o, t, reason, now)
        return {"revoked": True} if revoke else {"set": dict(set_attributes or {})}
    if revoke or set_attributes:
        raise InvalidInput(f"--revoke and --set apply to record objections, not to a {t.kind.value}")
    if t.kind is TargetKind.LINK:
        new_version(conn, catalog, str(t.source_id), str(t.source_ref), now=now, cause=cause, unlink=True)
        refresh_entries_of_record(
            conn, catalog, str(t.source_id), str(t.source_ref), now=now, cause=cause, void=int(o.id)
        )
        _tell_source(conn, catalog, o, t, reason, now)
        return {"unlinked": True}
    if t.kind is TargetKind.ENTRY and t.entry_id is not None:
        view = lists_service.current_view(conn, t.entry_id, lock=True)
        listing = catalog.lists[lists_service.entry_row(conn, t.entry_id).list_id]
        if view.state is State.OBJECTED:
            lists_service.apply(
                conn,
                listing,
                t.entry_id,
                Action.UPHOLD,
                actor=actor,
                now=now,
                reason=reason,
                ref=f"objection:{o.id}",
                view=view,
            )
        elif view.state in (State.LISTED, State.NOTIFIED, State.PROPOSED):
            action, kind = (
                (Action.REMOVE, NoticeKind.REMOVED)
                if view.state is State.LISTED
                else (Action.WITHDRAW, NoticeKind.LISTING_WITHDRAWN)
            )
            lists_service.end_entry(
                conn,
                catalog,
                t.entry_id,
                action,
                actor=actor,
                now=now,
                reason=reason,
                ref=f"objection:{o.id}",
                kind=kind,
            )
        return {"entry_ended": True}
    return {"rescored": True}


def _tell_source(conn: Connection, catalog: Catalog, o: Any, t: Target, reason: str, now: datetime) -> None:
    due = correction_due(catalog.procedure, now.date())
    outbox.put(
        conn,
        subject_id=int(o.subject_id),
        recipient=f"source:{t.source_id}",
        event_ref=f"objection:{o.id}:decided",
        now=now,
        notice=Notice(
            NoticeKind.RECORD_CORRECTED,
            f"Your record {t.source_id}/{t.source_ref} was corrected after an objection",
            f"objection {o.id} to your {t.text} was upheld and the platform recorded a new version of it.",
            reason,
            "correct the record in your own system and submit it with a higher revision.",
            due,
        ),
    )


def _tell_outcome(
    conn: Connection,
    catalog: Catalog,
    o: Any,
    t: Target,
    uphold: bool,
    reason: str,
    remedy: dict[str, Any],
    may_appeal: Any,
    now: datetime,
) -> None:
    if uphold:
        notice = Notice(
            NoticeKind.OBJECTION_UPHELD,
            f"Objection {o.id} upheld",
            f"your objection to the {t.text} was upheld; remedy: {', '.join(remedy) or 'none needed'}.",
            reason,
            "nothing; scores and list entries that used it have been recomputed.",
        )
    else:
        can = (
            "appeal once, to a different reviewer, by the date below."
            if may_appeal
            else "this was the decision on your appeal; you may seek administrative review or go to court."
        )
        notice = Notice(
            NoticeKind.OBJECTION_DISMISSED,
            f"Objection {o.id} dismissed",
            f"your objection to the {t.text} was dismissed.",
            reason,
            can,
            may_appeal,
        )
    outbox.put(
        conn, subject_id=int(o.subject_id), event_ref=f"objection:{o.id}:decided:subject", now=now, notice=notice
    )
