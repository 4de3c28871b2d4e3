"""A reviewer's ruling on an objection, and the remedy an upheld one brings.

Upheld, the record is corrected or revoked as a new version (or its subject link undone, or the
entry ended), the entries and scores it touched are recomputed, and the subject and the source are
told; dismissed, with reasons, the subject may appeal once, to a different reviewer. An objection
forwarded to the source that owns a list (about an entry of it, or that source's record grounding
one) is not the platform's to rule on: only the owner's corrected or revoked record ends the entry,
and that closes the objection (`services.objection_forwarding`).
Every time a ruling stores is the clock's stamp of its write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert
from sqlalchemy.exc import IntegrityError

from xinyong.domain.catalog import Catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.disputes import Outcome, Target, TargetKind, appeal_until, correction_due
from xinyong.domain.errors import Conflict, InvalidInput
from xinyong.domain.lists import Action, OwnedByAnother, State
from xinyong.domain.notices import Notice, NoticeKind
from xinyong.services import lists as lists_service
from xinyong.services import notices as outbox
from xinyong.services.corrections import new_version
from xinyong.services.lists import need_actor, need_reason
from xinyong.services.objection_forwarding import forwarded_refusal
from xinyong.services.objections import decision_row, objection_row
from xinyong.services.refresh import refresh_entries_of_record, rescore_subjects
from xinyong.store.tables import objection_decisions
from xinyong.store.unit_of_work import AuditNote, UnitOfWork


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
    """Decide an objection; an upheld one is remedied in the same transaction, with `audit`.
    `now`: the moment the decision is evaluated at (never ahead of the clock); it is stamped with
    the clock, and an appeal period runs from that stamp."""
    need_actor(actor, "reviewer")
    reason = need_reason(reason, "a decision on an objection")
    now = CLOCK.as_of(now, "now")
    touched: set[int] = set()
    with UnitOfWork.writing(engine) as uow:
        conn = uow.conn
        uow.audit(audit, f"objection:{objection_id}")
        at = uow.stamp()
        o = objection_row(conn, objection_id)
        if decision_row(conn, objection_id) is not None:
            raise Conflict(f"objection {objection_id} is already decided")
        _may_decide(conn, catalog, o, actor, uphold)
        t = Target(TargetKind(o.target_kind), o.source_id, o.source_ref, o.entry_id, o.score_id)
        remedy: dict[str, Any] = {}
        if uphold:
            remedy = _remedy(
                conn, catalog, o, t, actor=actor, reason=reason, revoke=revoke, set_attributes=set_attributes,
                touched=touched,
            )  # fmt: skip
        else:
            if revoke or set_attributes:
                raise InvalidInput("a dismissed objection changes nothing: drop --revoke and --set")
            _dismiss_entry(conn, catalog, t, actor, reason, objection_id)
        may_appeal = None if (uphold or o.appeal_of is not None) else appeal_until(catalog.procedure, at.date())
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(objection_decisions).values(
                        objection_id=objection_id,
                        outcome=(Outcome.UPHELD if uphold else Outcome.DISMISSED).value,
                        actor=actor,
                        at=at,
                        reason=reason,
                        remedy=remedy,
                        appeal_until=may_appeal,
                    )
                )
        except IntegrityError:
            raise Conflict(f"objection {objection_id} was decided by someone else at the same time") from None
        _tell_outcome(conn, o, t, uphold, reason, remedy, may_appeal)
    rescore_subjects(engine, catalog, touched, now)
    return {
        "id": objection_id,
        "outcome": "upheld" if uphold else "dismissed",
        "remedy": remedy,
        "appeal_until": may_appeal,
    }


def _may_decide(conn: Connection, catalog: Catalog, o: Any, actor: str, uphold: bool) -> None:
    """Refuse a decision that is not the platform's (a forwarded objection) or not this reviewer's
    (the appeal of their own dismissal)."""
    if o.forwarded_to is not None:
        raise OwnedByAnother(forwarded_refusal(conn, catalog, o, "uphold" if uphold else "dismiss"))
    if o.appeal_of is not None:
        first = decision_row(conn, o.appeal_of)
        if first is not None and first.actor == actor:
            raise InvalidInput(f"{actor} dismissed objection {o.appeal_of}: its appeal goes to a different reviewer")


def _dismiss_entry(conn: Connection, catalog: Catalog, t: Target, actor: str, reason: str, objection_id: int) -> None:
    """A dismissed objection to an entry: the entry leaves its objected state."""
    if t.kind is not TargetKind.ENTRY or t.entry_id is None:
        return
    view = lists_service.current_view(conn, t.entry_id, lock=True)
    if view.state is State.OBJECTED:
        listing = catalog.lists[lists_service.entry_row(conn, t.entry_id).list_id]
        lists_service.apply(
            conn, listing, t.entry_id, Action.DISMISS, actor=actor, reason=reason, ref=f"objection:{objection_id}",
            view=view,
        )  # fmt: skip


def _remedy(
    conn: Connection,
    catalog: Catalog,
    o: Any,
    t: Target,
    *,
    actor: str,
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
            cause=cause,
            status="revoked" if revoke else None,
            set_attributes=set_attributes,
        )
        refresh_entries_of_record(conn, catalog, str(t.source_id), str(t.source_ref), cause=cause, void=int(o.id))
        _tell_source(conn, catalog, o, t, reason)
        return {"revoked": True} if revoke else {"set": dict(set_attributes or {})}
    if revoke or set_attributes:
        raise InvalidInput(f"--revoke and --set apply to record objections, not to a {t.kind.value}")
    if t.kind is TargetKind.LINK:
        new_version(conn, catalog, str(t.source_id), str(t.source_ref), cause=cause, unlink=True)
        refresh_entries_of_record(conn, catalog, str(t.source_id), str(t.source_ref), cause=cause, void=int(o.id))
        _tell_source(conn, catalog, o, t, reason)
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
                reason=reason,
                ref=f"objection:{o.id}",
                kind=kind,
            )
        return {"entry_ended": True}
    return {"rescored": True}


def _tell_source(conn: Connection, catalog: Catalog, o: Any, t: Target, reason: str) -> None:
    due = correction_due(catalog.procedure, CLOCK.now().date())
    outbox.put(
        conn,
        subject_id=int(o.subject_id),
        recipient=f"source:{t.source_id}",
        event_ref=f"objection:{o.id}:decided",
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
    o: Any,
    t: Target,
    uphold: bool,
    reason: str,
    remedy: dict[str, Any],
    may_appeal: Any,
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
    outbox.put(conn, subject_id=int(o.subject_id), event_ref=f"objection:{o.id}:decided:subject", notice=notice)
