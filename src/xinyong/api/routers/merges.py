"""Reviewers: merges and splits of subjects over HTTP (propose, decide, undo, history)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from xinyong.api import errors
from xinyong.api.deps import Ctx, decision_note, guard
from xinyong.api.routers.matches import Reason
from xinyong.services import merges
from xinyong.services.keys import Principal
from xinyong.store.unit_of_work import AuditEvent, record

router = APIRouter(tags=["merges"], responses=errors.RESPONSES)
_ID = {"ge": 1, "le": 2**53 - 1}
SubjectId = Annotated[int, Path(**_ID, description="A subject's internal id.")]
ProposalId = Annotated[int, Path(**_ID, description="A merge or split proposal's id.")]
DecisionId = Annotated[int, Path(**_ID, description="A merge or split decision's id.")]
Id = Annotated[int, Field(ge=1, le=2**53 - 1)]


class MergeProposal(BaseModel):
    kept: Id = Field(description="The subject that stays.")
    absorbed: Id = Field(description="The subject that is the same person or organisation.")
    reason: Reason
    document_no: str | None = Field(
        None, max_length=64, description="The document that says they are one; cite it in the reason."
    )


class SplitProposal(BaseModel):
    subject: Id
    merge: Id | None = Field(None, description="The merge into `subject` to reverse.")
    records: list[Annotated[str, Field(max_length=100)]] | None = Field(
        None, max_length=1000, description="Records SOURCE/REF to move off `subject`."
    )
    to: Id | None = Field(None, description="The subject the records move to.")
    reason: Reason


class MergeDecision(BaseModel):
    decision: Literal["confirm", "reject"]
    reason: Reason


class MergeUndo(BaseModel):
    reason: Reason


@router.post("/v1/subjects/merges", name="propose_merge", response_model=dict[str, Any])
def propose_merge(
    body: MergeProposal, ctx: Ctx, who: Annotated[Principal, Depends(guard("propose_merge"))]
) -> dict[str, Any]:
    """Propose that two subjects are one; another reviewer decides."""
    return merges.propose_merge(
        ctx.engine, body.kept, body.absorbed, by=who.actor, reason=body.reason, document_no=body.document_no,
        now=datetime.now(UTC), audit=decision_note(who, "merge_propose", f"subject:{body.absorbed}"),
    )  # fmt: skip


@router.post("/v1/subjects/splits", name="propose_split", response_model=dict[str, Any])
def propose_split(
    body: SplitProposal, ctx: Ctx, who: Annotated[Principal, Depends(guard("propose_split"))]
) -> dict[str, Any]:
    """Propose to reverse a merge, or to move named records off a subject onto another."""
    return merges.propose_split(
        ctx.engine, body.subject, by=who.actor, reason=body.reason, merge_id=body.merge, records=body.records,
        to=body.to, now=datetime.now(UTC), audit=decision_note(who, "split_propose", f"subject:{body.subject}"),
    )  # fmt: skip


@router.post("/v1/subjects/merges/{proposal_id}/decision", name="decide_merge", response_model=dict[str, Any])
def decide_merge(
    proposal_id: ProposalId, body: MergeDecision, ctx: Ctx, who: Annotated[Principal, Depends(guard("decide_merge"))]
) -> dict[str, Any]:
    """Confirm or reject someone else's proposal; a confirmation moves the records from now on."""
    return merges.decide(
        ctx.engine, ctx.catalog, proposal_id, body.decision, reviewer=who.actor, reason=body.reason,
        now=datetime.now(UTC), audit=decision_note(who, f"merge_{body.decision}", f"subject_merge:{proposal_id}"),
    )  # fmt: skip


@router.post("/v1/subjects/merges/decisions/{decision_id}/undo", name="undo_merge", response_model=dict[str, Any])
def undo_merge(
    decision_id: DecisionId, body: MergeUndo, ctx: Ctx, who: Annotated[Principal, Depends(guard("undo_merge"))]
) -> dict[str, Any]:
    """Reverse a decision by a new one (history kept); an undone confirmation moves the records back."""
    return merges.undo(
        ctx.engine, ctx.catalog, decision_id, reviewer=who.actor, reason=body.reason, now=datetime.now(UTC),
        audit=decision_note(who, "merge_undo", f"subject_merge_decision:{decision_id}"),
    )  # fmt: skip


@router.get("/v1/subjects/{subject_id}/merges", name="merge_history", response_model=dict[str, Any])
def merge_history(
    subject_id: SubjectId, ctx: Ctx, who: Annotated[Principal, Depends(guard("merge_history"))]
) -> dict[str, Any]:
    """Every merge and split proposal about a subject, its decisions, and what they did."""
    found = merges.history(ctx.engine, subject_id, datetime.now(UTC))
    record(ctx.engine, AuditEvent(who.actor, "read_subject_merges", f"subject:{subject_id}", "due process"))
    return found
