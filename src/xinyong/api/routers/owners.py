"""Source departments that own a list: the objections forwarded to them, and their answer.

An objection to a published entry of a list a source owns, or to that source's record grounding
one, is the source's to decide (`services.objection_forwarding`). The source reads them here and,
finding its record right, answers so with reasons (`services.owner_answers`); a correction or a
revocation it makes as always, by submitting the record with a higher revision. A source sees and
answers only what is forwarded to it: another's objection is answered as a missing one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from xinyong.api import errors
from xinyong.api.deps import Ctx, RowId, guard
from xinyong.api.models.owners import ForwardedObjection, OwnerAnswer, OwnerAnswered
from xinyong.api.paging import Cursor, Limit, Page, page, position
from xinyong.services.keys import Principal
from xinyong.services.owner_answers import RECENT_DAYS, answer_forwarded, forwarded_objections
from xinyong.store.unit_of_work import AuditEvent, AuditNote, record

router = APIRouter(tags=["sources"], responses=errors.RESPONSES)

ANSWER = (
    "Answer an objection forwarded to your department that your record stands, with reasons the subject "
    "reads (and your own decision document's number, if any). The objection closes as `owner_maintained`, "
    "the record is no longer marked disputed, and the subject is told your reasons, that the platform cannot "
    "change your decision, and how to ask you to review it. `record_stands` is the only answer: to correct or "
    "revoke the record, submit it with a higher revision (POST /v1/records). An objection not forwarded to you "
    "is not found; one about your record that was not forwarded is the platform's to decide (409), as is one "
    "already closed (409, naming how)."
)


@router.get(
    "/v1/forwarded-objections",
    name="forwarded_objections",
    response_model=Page[ForwardedObjection],
    description="Objections forwarded to your department as the owner of a list, by id: the open ones and "
    f"those closed in the last {RECENT_DAYS} days (`state` open or closed for one kind). Each names its target, "
    "the subject's grounds, when it was filed and is due, your entry and the record that grounds it.",
)
def list_forwarded(
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("forwarded_objections"))],
    state: Annotated[Literal["open", "closed"] | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    start = position(cursor)
    source = who.source
    record(
        ctx.engine,
        AuditEvent(
            actor=who.actor, action="read_forwarded_objections", target=f"source:{source}", purpose="due process"
        ),
    )  # the subjects' grounds are personal data: the read is audited before anything is answered
    rows, total = forwarded_objections(ctx.engine, source, state=state, now=datetime.now(UTC), start=start, limit=limit)
    return page(rows, start, limit, total=total)


@router.post(
    "/v1/forwarded-objections/{objection_id}/answer",
    name="answer_objection",
    response_model=OwnerAnswered,
    description=ANSWER,
)
def answer_objection(
    objection_id: RowId,
    body: OwnerAnswer,
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("answer_objection"))],
) -> dict[str, Any]:
    return answer_forwarded(
        ctx.engine,
        ctx.catalog,
        objection_id,
        source=who.source,
        answer=body.answer,
        reasons=body.reasons,
        reference=body.reference,
        now=datetime.now(UTC),
        audit=AuditNote(who.actor, "objection_record_stands", "due process", f"objection:{objection_id}"),
    )
