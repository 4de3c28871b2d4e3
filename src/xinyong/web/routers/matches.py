"""Reviewers' match queue: one proposal with every candidate of its record and what each decision
changes; only a reviewer decides or undoes, always with a reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path
from fastapi.responses import HTMLResponse, Response

from xinyong.web import services as portal
from xinyong.web.pages import Viewer, decided, guard, render

router = APIRouter(include_in_schema=False)
RowId = Annotated[int, Path(ge=1, le=2**53 - 1)]
Reason = Annotated[str, Form(max_length=1000)]
Csrf = Annotated[str, Form(max_length=200)]
Choice = Annotated[str, Form(max_length=20)]
OUTCOMES = ("confirm", "reject", "unsure")


def _match_page(viewer: Viewer, pid: int, status: int = 200, error: str | None = None, **form: str) -> HTMLResponse:
    data = portal.match(viewer.ctx, viewer.principal, pid)
    return render(viewer, "match.html", status, m=data, error=error, form=form)


@router.get("/review/matches/{proposal_id}", name="web_match", response_class=HTMLResponse)
def match(proposal_id: RowId, viewer: Annotated[Viewer, Depends(guard("web_match"))]) -> HTMLResponse:
    return _match_page(viewer, proposal_id)


@router.post("/review/matches/{proposal_id}/decision", name="web_decide_match", response_class=HTMLResponse)
def decide_match(
    proposal_id: RowId,
    viewer: Annotated[Viewer, Depends(guard("web_decide_match"))],
    decision: Choice = "",
    reason: Reason = "",
    csrf: Csrf = "",
) -> Response:
    viewer.require_csrf(csrf)
    return decided(
        viewer, _match_page, proposal_id,
        lambda: portal.decide_match(viewer.ctx, viewer.principal, proposal_id, decision, reason),
        {"decision": decision, "reason": reason}, back=f"/review/matches/{proposal_id}", choice=decision,
        choices=OUTCOMES,
    )  # fmt: skip


@router.post(
    "/review/matches/{proposal_id}/judgements/{judgement_id}/undo", name="web_undo_match", response_class=HTMLResponse
)
def undo_match(
    proposal_id: RowId,
    judgement_id: RowId,
    viewer: Annotated[Viewer, Depends(guard("web_undo_match"))],
    reason: Reason = "",
    csrf: Csrf = "",
) -> Response:
    viewer.require_csrf(csrf)
    return decided(
        viewer, _match_page, proposal_id,
        lambda: portal.undo_match(viewer.ctx, viewer.principal, judgement_id, reason),
        {"reason": reason}, back=f"/review/matches/{proposal_id}",
    )  # fmt: skip
