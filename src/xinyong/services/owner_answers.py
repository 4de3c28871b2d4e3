"""A list's owner answers an objection forwarded to it: its record stands, with reasons.

An objection forwarded to the source that owns a list (`services.objection_forwarding`) closes when
the owner's corrected or revoked record ends the entry, or when the entry ends first. An owner that
examines the objection and finds its record right says so here, and the objection gets its
decision with reasons: it closes as `owner_maintained`, decided by the source, with the owner's
reasons and its own decision document's number; the dispute mark lifts; the subject is told who
answered and why, that the platform can neither change the owner's decision nor offer an appeal of
it, how to ask the owner itself to review it (the list's `review_route`, under its
`review_basis`), and that new facts allow a new objection. A correction or a revocation is no
answer: the owner submits the record with a higher revision, as any record, which ends the entry.

A source sees and answers only what is forwarded to it. Another source's objection is answered
exactly as one that does not exist (as another source's batch is), and so is one not forwarded
that concerns none of its records; one not forwarded about its own record is the platform's to
decide, and is refused as such.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from xinyong.domain.catalog import Catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.disputes import RECORD_STANDS, Outcome, Target, TargetKind
from xinyong.domain.errors import Conflict, InvalidInput, NotFound
from xinyong.domain.free_text import plain_free_text
from xinyong.domain.normalise import shown
from xinyong.domain.notices import Notice, NoticeKind, basis_text
from xinyong.services import lists as lists_service
from xinyong.services import notices as outbox
from xinyong.services.lists import REASON_MIN
from xinyong.services.objection_forwarding import forwarded_entry
from xinyong.services.objection_views import objection_state
from xinyong.store.objection_reads import DECISION_COLUMNS, open_objections
from xinyong.store.tables import list_entries, objection_decisions, objections
from xinyong.store.unit_of_work import AuditNote, UnitOfWork

REASONS_MAX = 1000  # objection_decisions.reason
REFERENCE_MAX = 200
RECENT_DAYS = 90  # how long a closed objection stays in the owner's list


def _mine(conn: Connection, objection_id: int, source: str) -> Any:
    """The objection, when `source` may answer it; refused as missing when it is not the source's
    business, as not the source's to decide when it concerns the source's record unforwarded."""
    o = conn.execute(select(objections).where(objections.c.id == objection_id)).first()
    missing = NotFound(f"no objection {objection_id} forwarded to you")
    if o is None:
        raise missing
    if o.forwarded_to is not None:
        if o.forwarded_to != source:
            raise missing
        return o
    if not _concerns(conn, o, source):
        raise missing
    raise Conflict(
        f"objection {objection_id} was not forwarded to a list's owner: it is the platform's to decide, by a "
        "reviewer. A department answers only the objections forwarded to it (GET /v1/forwarded-objections); to "
        "correct or revoke your record, submit it with a higher revision"
    )


def _concerns(conn: Connection, o: Any, source: str) -> bool:
    """Whether an objection is about a record of `source` (its target, or the ground of its entry)."""
    if o.target_kind in (TargetKind.RECORD.value, TargetKind.LINK.value):
        return bool(o.source_id == source)
    if o.target_kind == TargetKind.ENTRY.value and o.entry_id is not None:
        return conn.scalar(select(list_entries.c.source_id).where(list_entries.c.id == o.entry_id)) == source
    return False


def _reasons(reasons: str) -> str:
    text = (reasons or "").strip()
    if not REASON_MIN <= len(text) <= REASONS_MAX:
        raise InvalidInput(
            f"reasons: say in {REASON_MIN} to {REASONS_MAX} characters why your record stands; the subject reads "
            f"them (got {len(text)})"
        )
    return plain_free_text(text, "reasons", lines=True)  # as a reviewer's reasons


def _reference(reference: str | None) -> str | None:
    if reference is None:
        return None
    text = reference.strip()
    if not 1 <= len(text) <= REFERENCE_MAX:
        raise InvalidInput(
            f"reference: your decision document's number in 1 to {REFERENCE_MAX} characters, or leave it out "
            f"(got {len(text)})"
        )
    return plain_free_text(text, "reference")


def answer_forwarded(
    engine: Engine,
    catalog: Catalog,
    objection_id: int,
    *,
    source: str,
    answer: str,
    reasons: str,
    reference: str | None,
    now: datetime,
    audit: AuditNote | None = None,
) -> dict[str, Any]:
    """The owner `source` answers an objection forwarded to it that its record stands: the
    objection closes as `owner_maintained` and the subject is told, with `audit`, in one
    transaction. Stamped by the clock; `now` is never ahead of it."""
    if answer != RECORD_STANDS:
        raise InvalidInput(
            f"answer '{shown(answer)}': the only answer is {RECORD_STANDS} (your record is right, with your "
            "reasons). To correct or revoke the record, submit it corrected or revoked with a higher revision "
            "(POST /v1/records): that ends the entry and closes the objection as resolved by you"
        )
    reasons = _reasons(reasons)
    ref = _reference(reference)
    CLOCK.as_of(now, "now")
    with UnitOfWork.writing(engine) as uow:
        conn = uow.conn
        uow.audit(audit, f"objection:{objection_id}")
        at = uow.stamp()
        o = _mine(conn, objection_id, source)
        done = conn.execute(
            select(objection_decisions).where(objection_decisions.c.objection_id == objection_id)
        ).first()
        if done is not None:
            raise Conflict(
                f"objection {objection_id} is already closed: {done.outcome} by {done.actor} on "
                f"{done.at.date().isoformat()}; nothing is left to answer"
            )
        remedy: dict[str, Any] = {"record_stands": True, **({"reference": ref} if ref else {})}
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(objection_decisions).values(
                        objection_id=objection_id,
                        outcome=Outcome.OWNER_MAINTAINED.value,
                        actor=f"source:{source}",
                        at=at,
                        reason=reasons,
                        remedy=remedy,
                        appeal_until=None,  # the owner decided, not a reviewer: no platform appeal
                    )
                )
        except IntegrityError:
            raise Conflict(f"objection {objection_id} was closed by another decision at the same time") from None
        _tell_subject(conn, catalog, o, reasons, ref)
    return {
        "id": objection_id,
        "outcome": Outcome.OWNER_MAINTAINED.value,
        "decided_by": f"source:{source}",
        "decided_at": at,
        "reasons": reasons,
        "reference": ref,
    }


def _tell_subject(conn: Connection, catalog: Catalog, o: Any, reasons: str, ref: str | None) -> None:
    e = forwarded_entry(conn, o)
    listing = catalog.lists[e.list_id]
    name = lists_service.owner_name(catalog, listing)
    t = Target(TargetKind(o.target_kind), o.source_id, o.source_ref, o.entry_id, o.score_id)
    doc = f" (its decision {ref})" if ref else ""
    if listing.review_route is not None and listing.review_basis is not None:
        review = (
            f"You may ask {name} itself to review its decision: {listing.review_route} "
            f"({basis_text(listing.review_basis)})."
        )
    else:
        review = (
            f"You may seek the review that {name}'s own rules provide for its decisions on the {listing.name} "
            f"({basis_text(listing.legal_basis)})."
        )
    outbox.put(
        conn,
        subject_id=int(o.subject_id),
        event_ref=f"objection:{o.id}:decided:subject",
        notice=Notice(
            NoticeKind.OBJECTION_MAINTAINED,
            f"Objection {o.id} answered by {name}: its record stands",
            f"{name} ({o.forwarded_to}), which made record {e.source_id}/{e.source_ref} and owns the "
            f"{listing.name}, examined your objection to the {t.text} and answered that its record stands{doc}. "
            f"Entry {e.id} remains in force; your objection is closed.",
            reasons,
            f"the platform cannot change a decision of {name}, and offers no appeal of this answer: {name} "
            f"decided it, not a platform reviewer. {review} If new facts arise (the obligation performed, the "
            "decision revoked or changed), you may object again.",
        ),
    )


def forwarded_objections(
    engine: Engine,
    source: str,
    *,
    state: str | None,
    now: datetime,
    start: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """(a page of the objections forwarded to `source`, by id; how many in all): the open ones
    and (unless `state` is "open") those closed in the last RECENT_DAYS days."""
    today: date = now.date()
    decided = objection_decisions.c.id
    recent = and_(decided.isnot(None), objection_decisions.c.at >= now - timedelta(days=RECENT_DAYS))
    shown_rows = {"open": decided.is_(None), "closed": recent}.get(state or "", or_(decided.is_(None), recent))
    where = and_(objections.c.forwarded_to == source, shown_rows)
    q = (
        select(objections, *DECISION_COLUMNS)
        .select_from(open_objections())
        .where(where)
        .order_by(objections.c.id)
        .offset(start)
        .limit(limit)
    )
    with engine.connect() as conn:
        total = int(conn.scalar(select(func.count()).select_from(open_objections()).where(where)) or 0)
        rows = [_row(conn, r, today) for r in conn.execute(q)]
    return rows, total


def _row(conn: Connection, r: Any, today: date) -> dict[str, Any]:
    e = forwarded_entry(conn, r)
    t = Target(TargetKind(r.target_kind), r.source_id, r.source_ref, r.entry_id, r.score_id)
    remedy = r.remedy or {}
    return {
        "id": int(r.id),
        "target": t.text,
        "target_kind": r.target_kind,
        "grounds": r.grounds,
        "filed_at": r.filed_at,
        "due_on": r.due_on,
        "overdue": r.outcome is None and r.due_on < today,
        "entry_id": int(e.id),
        "list_id": e.list_id,
        "record": f"{e.source_id}/{e.source_ref}",
        "state": objection_state(r),
        "outcome": r.outcome,
        "decided_by": r.decided_by,
        "decided_at": r.decided_at,
        "reasons": r.decision_reason,
        "reference": remedy.get("reference") if r.outcome == Outcome.OWNER_MAINTAINED else None,
    }
