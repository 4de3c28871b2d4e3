"""The reads of open objections that views and checks share: what is disputed, and until when."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select

from xinyong.store.tables import objection_decisions, objections


def open_objections() -> Any:
    return objections.outerjoin(objection_decisions, objection_decisions.c.objection_id == objections.c.id)


# What a list of objections shows of each one's decision, if it has one (NULL while it is open).
DECISION_COLUMNS = (
    objection_decisions.c.outcome,
    objection_decisions.c.actor.label("decided_by"),
    objection_decisions.c.at.label("decided_at"),
    objection_decisions.c.reason.label("decision_reason"),
    objection_decisions.c.appeal_until,
    objection_decisions.c.remedy,
)


# What `disputes_from` reads of an open objection, in its order.
DISPUTE_COLUMNS = (
    objections.c.target_kind,
    objections.c.source_id,
    objections.c.source_ref,
    objections.c.entry_id,
    objections.c.score_id,
)


def open_objections_of(subject_id: Any) -> Select[Any]:
    """The DISPUTE_COLUMNS of a subject's open objections."""
    return (
        select(*DISPUTE_COLUMNS)
        .select_from(open_objections())
        .where(objections.c.subject_id == subject_id, objection_decisions.c.id.is_(None))
    )


# The check's read adds each objection's id and deadline, to suspend what is overdue.
DEADLINE_COLUMNS = (*DISPUTE_COLUMNS, objections.c.id, objections.c.due_on)


def objections_open_at(subject_id: Any, asked: Any | None) -> Select[Any]:
    """The DEADLINE_COLUMNS of a subject's objections open when a check was asked (`asked`: not
    decided by then, so that a replay sees what the check saw), or open now (`asked` None)."""
    q = select(*DEADLINE_COLUMNS).select_from(open_objections()).where(objections.c.subject_id == subject_id)
    if asked is None:
        return q.where(objection_decisions.c.id.is_(None))
    return q.where(
        objections.c.filed_at <= asked, or_(objection_decisions.c.id.is_(None), objection_decisions.c.at > asked)
    )
