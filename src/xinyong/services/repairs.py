"""Credit repair: the subject shows the obligation met and files a commitment; a reviewer decides.

Eligibility is policy data (the minimum period per severity tier). An approval writes a new
version of the record with status `repaired`, so it stops counting; its list entries end and the
subject's score is recomputed. A refusal names each unmet condition and the day the subject may
apply again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from xinyong.domain.catalog import Catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.disputes import (
    UNMET_TEXT,
    RepairAssessment,
    RepairOutcome,
    Unmet,
    assess_repair,
    parse_record_ref,
    repair_due,
)
from xinyong.domain.errors import Conflict, InvalidInput, NotFound
from xinyong.domain.free_text import plain_free_text
from xinyong.domain.lists import OwnedByAnother, State, owner_refusal, repairs_end
from xinyong.domain.notices import Notice, NoticeKind, basis_text
from xinyong.services import notices as outbox
from xinyong.services.corrections import current_record, new_version
from xinyong.services.lists import need_actor, need_reason, owner_name
from xinyong.services.refresh import refresh_entries_of_record, rescore_subjects
from xinyong.store.tables import list_entries, list_entry_state, repair_decisions, repairs
from xinyong.store.unit_of_work import AuditNote, UnitOfWork

EVIDENCE_MAX = 200


def _repairable(conn: Connection, catalog: Catalog, source_id: str, source_ref: str) -> bool:
    lists = conn.scalars(
        select(list_entries.c.list_id).where(
            list_entries.c.source_id == source_id, list_entries.c.source_ref == source_ref
        )
    )
    return all(catalog.lists[list_id].repairable for list_id in lists if list_id in catalog.lists)


def _refuse_owned(conn: Connection, catalog: Catalog, source_id: str, source_ref: str) -> None:
    """Credit repair does not end a published entry of a list whose owner's law provides no repair."""
    rows = conn.execute(
        select(list_entries.c.id, list_entries.c.list_id, list_entry_state.c.state)
        .join(list_entry_state, list_entry_state.c.entry_id == list_entries.c.id)
        .where(list_entries.c.source_id == source_id, list_entries.c.source_ref == source_ref)
    )
    for entry_id, list_id, state in rows:
        listing = catalog.lists.get(list_id)
        if listing is not None and not repairs_end(listing):
            owner_refusal(listing, owner_name(catalog, listing), int(entry_id), State(state), "credit repair")


def assess(conn: Connection, catalog: Catalog, repair: Any, today: date, *, obligation_met: bool) -> RepairAssessment:
    record = current_record(conn, repair.source_id, repair.source_ref)
    return assess_repair(
        catalog.procedure,
        catalog.record_types[record.record_type],
        valid_from=record.valid_from,
        counting=record.status == "active" and record.subject_id == repair.subject_id,
        repairable=_repairable(conn, catalog, repair.source_id, repair.source_ref),
        obligation_met=obligation_met,
        commitment=bool(repair.commitment),
        today=today,
    )


def file_repair(
    engine: Engine,
    catalog: Catalog,
    *,
    subject_id: int,
    record: str,
    evidence_ref: str | None,
    commitment: bool,
    actor: str,
    now: datetime,
    audit: AuditNote | None = None,
) -> dict[str, Any]:
    """File a repair request; it is answered within the deadline whatever the pre-assessment says."""
    source_id, source_ref = parse_record_ref(record)
    evidence = (evidence_ref or "").strip() or None
    if evidence is not None and len(evidence) > EVIDENCE_MAX:
        raise InvalidInput(f"evidence: a reference (document number, receipt id) of at most {EVIDENCE_MAX} characters")
    if evidence is not None:
        plain_free_text(evidence, "evidence")
    CLOCK.as_of(now, "now")  # a moment ahead of the clock is refused; the filing is stamped by it
    with UnitOfWork.writing(engine, dated=False) as uow:  # a request only: no record or list entry moves
        conn = uow.conn
        at = CLOCK.now()  # the filing's time, which its deadline runs from
        rec = current_record(conn, source_id, source_ref)
        if rec.subject_id != subject_id:
            raise InvalidInput(f"record {record} is not in the file of subject {subject_id}")
        last = conn.execute(
            select(repairs.c.id, repair_decisions.c.id.label("decision"), repair_decisions.c.reapply_on)
            .outerjoin(repair_decisions, repair_decisions.c.repair_id == repairs.c.id)
            .where(repairs.c.source_id == source_id, repairs.c.source_ref == source_ref)
            .order_by(repairs.c.id.desc())
            .limit(1)
        ).first()
        if last is not None and last.decision is None:
            raise Conflict(f"repair request {last.id} for this record is still open")
        if last is not None and last.reapply_on is not None and at.date() < last.reapply_on:
            raise InvalidInput(
                f"repair request {last.id} was refused: you may apply again from {last.reapply_on.isoformat()}"
            )
        due = repair_due(catalog.procedure, at.date())
        rid = conn.execute(
            insert(repairs)
            .values(
                subject_id=subject_id,
                source_id=source_id,
                source_ref=source_ref,
                evidence_ref=evidence,
                commitment=int(commitment),
                filed_by=actor,
                filed_at=at,
                due_on=due,
            )
            .returning(repairs.c.id)
        ).scalar_one()
        uow.audit(audit, f"repair:{rid}")
        row = conn.execute(select(repairs).where(repairs.c.id == rid)).one()
        pre = assess(conn, catalog, row, at.date(), obligation_met=evidence is not None)
        outbox.put(
            conn,
            subject_id=subject_id,
            event_ref=f"repair:{rid}:filed",
            notice=Notice(
                NoticeKind.REPAIR_RECEIVED,
                f"Your credit repair request {rid} was received",
                f"your request to repair record {record} was received on {at.date().isoformat()}.",
                f"first check: {pre.explain()}. Credit repair is free ({basis_text(catalog.procedure.legal_basis)}).",
                "nothing more is needed unless a condition above is unmet; the decision comes with its reasons.",
                due,
            ),
        )
        return {"id": int(rid), "due_on": due, "unmet": [u.value for u in pre.unmet]}


def decide_repair(
    engine: Engine,
    catalog: Catalog,
    repair_id: int,
    *,
    approve: bool,
    actor: str,
    reason: str,
    now: datetime,
    unmet: list[str] | None = None,
    audit: AuditNote | None = None,
) -> dict[str, Any]:
    """Approve (the record stops counting) or refuse (naming what is unmet and when to apply again)."""
    need_actor(actor, "reviewer")
    reason = need_reason(reason, "a decision on credit repair")
    try:
        named = [Unmet(u) for u in unmet or []]
    except ValueError:
        raise InvalidInput(f"unmet: expected some of {', '.join(u.value for u in Unmet)}") from None
    now = CLOCK.as_of(now, "now")  # the moment the conditions are judged at; the decision is stamped by the clock
    subjects: set[int] = set()
    with UnitOfWork.writing(engine) as uow:
        conn = uow.conn
        uow.audit(audit, f"repair:{repair_id}")
        at = uow.stamp()
        r = conn.execute(select(repairs).where(repairs.c.id == repair_id)).first()
        if r is None:
            raise NotFound(f"no repair request {repair_id}")
        if conn.scalar(select(repair_decisions.c.id).where(repair_decisions.c.repair_id == repair_id)) is not None:
            raise Conflict(f"repair request {repair_id} is already decided")
        met = r.evidence_ref is not None and Unmet.OBLIGATION_NOT_MET not in named
        a = assess(conn, catalog, r, now.date(), obligation_met=met)
        if approve:
            if named:
                raise InvalidInput("an approval names no unmet condition: drop --unmet")
            try:
                _refuse_owned(conn, catalog, r.source_id, r.source_ref)
            except OwnedByAnother as exc:
                raise InvalidInput(f"repair request {repair_id} cannot be approved: {exc}") from None
            if not a.eligible:
                raise InvalidInput(f"repair request {repair_id} cannot be approved: {a.explain()}")
            conditions: list[Unmet] = []
            reapply: date | None = None
        else:
            conditions = sorted(set(named) | set(a.unmet), key=list(Unmet).index)
            if not conditions:
                raise InvalidInput("a refusal must name the unmet condition (--unmet): every condition is met")
            reapply = a.served_on if Unmet.PERIOD_NOT_SERVED in conditions else at.date()
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(repair_decisions).values(
                        repair_id=repair_id,
                        outcome=(RepairOutcome.APPROVED if approve else RepairOutcome.REFUSED).value,
                        unmet=",".join(c.value for c in conditions) or None,
                        reapply_on=reapply,
                        actor=actor,
                        at=at,
                        reason=reason,
                    )
                )
        except IntegrityError:
            raise Conflict(f"repair request {repair_id} was decided by someone else at the same time") from None
        if approve:
            cause = f"repair {repair_id} approved"
            new_version(conn, catalog, r.source_id, r.source_ref, cause=cause, status="repaired")
            refresh_entries_of_record(conn, catalog, r.source_id, r.source_ref, cause=cause)
            subjects.add(int(r.subject_id))
        notice = _decision_notice(repair_id, r, reason, approve, conditions, reapply)
        outbox.put(conn, subject_id=int(r.subject_id), event_ref=f"repair:{repair_id}:decided", notice=notice)
    rescore_subjects(engine, catalog, subjects, now)
    return {
        "id": repair_id,
        "outcome": "approved" if approve else "refused",
        "unmet": [c.value for c in conditions],
        "reapply_on": reapply,
    }


def _decision_notice(
    repair_id: int, r: Any, reason: str, approve: bool, conditions: list[Unmet], reapply: date | None
) -> Notice:
    """The notice of a repair decision to its subject: what changed, or what is unmet and when to apply again."""
    if approve:
        return Notice(
            NoticeKind.REPAIR_APPROVED,
            f"Credit repair {repair_id} approved",
            f"record {r.source_id}/{r.source_ref} is repaired: it no longer counts in your score or for any list.",
            reason,
            "nothing; list entries resting on it have ended and your score has been recomputed.",
        )
    text = "; ".join(UNMET_TEXT[c] for c in conditions)
    return Notice(
        NoticeKind.REPAIR_REFUSED,
        f"Credit repair {repair_id} refused",
        f"your request to repair record {r.source_id}/{r.source_ref} was refused: {text}.",
        reason,
        f"apply again from {reapply.isoformat() if reapply else 'any day'} once the condition is met; "
        "you may also object to the decision.",
        reapply,
    )


def repair_rows(
    engine: Engine,
    *,
    state: str | None = None,
    subject_id: int | None = None,
    today: date | None = None,
    limit: int = 200,
    repair_id: int | None = None,
) -> list[dict[str, Any]]:
    """Repair requests with their decision; state: open, overdue or decided."""
    q = (
        select(
            repairs,
            repair_decisions.c.outcome,
            repair_decisions.c.unmet,
            repair_decisions.c.reapply_on,
            repair_decisions.c.actor.label("decided_by"),
            repair_decisions.c.at.label("decided_at"),
            repair_decisions.c.reason.label("decision_reason"),
        )
        .outerjoin(repair_decisions, repair_decisions.c.repair_id == repairs.c.id)
        .order_by(repairs.c.id)
        .limit(limit)
    )
    if subject_id is not None:
        q = q.where(repairs.c.subject_id == subject_id)
    if repair_id is not None:
        q = q.where(repairs.c.id == repair_id)
    if state in ("open", "overdue"):
        q = q.where(repair_decisions.c.id.is_(None))
    if state == "overdue" and today is not None:
        q = q.where(repairs.c.due_on < today)
    if state == "decided":
        q = q.where(repair_decisions.c.id.isnot(None))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def repair_detail(engine: Engine, catalog: Catalog, repair_id: int, today: date) -> dict[str, Any]:
    """One repair request, its decision, and what holds of its conditions today."""
    rows = repair_rows(engine, repair_id=repair_id)
    if not rows:
        raise NotFound(f"no repair request {repair_id}")
    detail = rows[0]
    with engine.connect() as conn:
        r = conn.execute(select(repairs).where(repairs.c.id == repair_id)).one()
        a = assess(conn, catalog, r, today, obligation_met=r.evidence_ref is not None)
    detail["assessment_today"] = {"unmet": [u.value for u in a.unmet], "served_on": a.served_on, "text": a.explain()}
    return detail
