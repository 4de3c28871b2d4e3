"""Reviewers: match proposals for records without a valid identifier, over HTTP (list, show, decide, undo)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from xinyong.api import errors
from xinyong.api.deps import Ctx, decision_note, guard
from xinyong.api.paging import Cursor, Page, page, position
from xinyong.services import linking
from xinyong.services.keys import Principal
from xinyong.services.linking_views import PAGE_MAX, open_proposals, proposal, what_it_changes
from xinyong.store.unit_of_work import AuditEvent, record

router = APIRouter(tags=["matches"], responses=errors.RESPONSES)
Reason = Annotated[str, Field(min_length=5, max_length=1000, examples=["the judgment names the same district"])]
ProposalId = Annotated[int, Path(ge=1, le=2**53 - 1, description="A match proposal's id.")]
JudgementId = Annotated[int, Path(ge=1, le=2**53 - 1, description="A match judgement's id.")]


class MatchDecision(BaseModel):
    decision: Literal["confirm", "reject", "unsure"]
    reason: Reason


class MatchUndo(BaseModel):
    reason: Reason


@router.get("/v1/matches", name="list_matches", response_model=Page[dict[str, Any]])
def list_matches(
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("list_matches"))],
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX, description=f"Items per page: 1 to {PAGE_MAX}.")] = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Open match proposals, best first (high priority, then probability), with their evidence;
    paged as every list is (`limit`, `cursor`, `total`)."""
    start = position(cursor)
    found = open_proposals(ctx.engine, limit=limit, offset=start)
    record(ctx.engine, AuditEvent(who.actor, "read_matches", "matches", "due process"))
    return page(found["items"], start, limit, total=found["total"])


@router.get("/v1/matches/{proposal_id}", name="show_match", response_model=dict[str, Any])
def show_match(
    proposal_id: ProposalId, ctx: Ctx, who: Annotated[Principal, Depends(guard("show_match"))]
) -> dict[str, Any]:
    """One proposal, every other candidate of its record, its judgements, and what each decision changes."""
    detail = proposal(ctx.engine, proposal_id)
    detail["effects"] = {o: what_it_changes(detail, o) for o in ("confirm", "reject", "unsure")}
    record(ctx.engine, AuditEvent(who.actor, "read_match", f"match:{proposal_id}", "due process"))
    return detail


@router.post("/v1/matches/{proposal_id}/decision", name="decide_match", response_model=dict[str, Any])
def decide_match(
    proposal_id: ProposalId,
    body: MatchDecision,
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("decide_match"))],
) -> dict[str, Any]:
    """Judge a proposal; a confirmation links the record from now on and tells the subject."""
    return linking.decide(
        ctx.engine,
        ctx.catalog,
        proposal_id,
        body.decision,
        reviewer=who.actor,
        reason=body.reason,
        now=datetime.now(UTC),
        audit=decision_note(who, f"match_{body.decision}", f"match:{proposal_id}"),
    )


@router.post("/v1/matches/judgements/{judgement_id}/undo", name="undo_match", response_model=dict[str, Any])
def undo_match(
    judgement_id: JudgementId, body: MatchUndo, ctx: Ctx, who: Annotated[Principal, Depends(guard("undo_match"))]
) -> dict[str, Any]:
    """Reverse a judgement by a new one (history kept); an undone confirmation unlinks the record."""
    return linking.undo(
        ctx.engine,
        ctx.catalog,
        judgement_id,
        reviewer=who.actor,
        reason=body.reason,
        now=datetime.now(UTC),
        audit=decision_note(who, "match_undo", f"match_judgement:{judgement_id}"),
    )
