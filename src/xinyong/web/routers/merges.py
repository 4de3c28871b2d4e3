"""Reviewers' merges and splits of subjects: one proposal with both subjects side by side, what
confirming it moves, its decisions and their undoing; a subject's merge history. Staff read; only
a reviewer decides or undoes, always with a reason, and the service's rules (another reviewer
than the proposer decides, a proposal is decided once) are its own: a refusal is shown on the
page with what the reviewer typed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path
from fastapi.responses import HTMLResponse, Response

from xinyong.web import services as portal
from xinyong.web.pages import Viewer, decided, guard, render

router = APIRouter(include_in_schema=False)
RowId = Annotated[int, Path(ge=1, le=2**53 - 1)]
# Longer than the service's limit of 1000: a reason too long is refused by the service, with its
# message, on the page that keeps the text, not by the form parser with a bare error page.
Reason = Annotated[str, Form(max_length=4000)]
Csrf = Annotated[str, Form(max_length=200)]
Choice = Annotated[str, Form(max_length=20)]
OUTCOMES = ("confirm", "reject")


def _merge_page(viewer: Viewer, pid: int, status: int = 200, error: str | None = None, **form: str) -> HTMLResponse:
    data = portal.merge(viewer.ctx, viewer.principal, pid)
    return render(viewer, "merge.html", status, p=data, error=error, form=form)


@router.get("/review/merges/{proposal_id}", name="web_merge", response_class=HTMLResponse)
def merge(proposal_id: RowId, viewer: Annotated[Viewer, Depends(guard("web_merge"))]) -> HTMLResponse:
    return _merge_page(viewer, proposal_id)


@router.post("/review/merges/{proposal_id}/decision", name="web_decide_merge", response_class=HTMLResponse)
def decide_merge(
    proposal_id: RowId,
    viewer: Annotated[Viewer, Depends(guard("web_decide_merge"))],
    decision: Choice = "",
    reason: Reason = "",
    csrf: Csrf = "",
) -> Response:
    viewer.require_csrf(csrf)
    return decided(
        viewer, _merge_page, proposal_id,
        lambda: portal.decide_merge(viewer.ctx, viewer.principal, proposal_id, decision, reason),
        {"decision": decision, "reason": reason}, back=f"/review/merges/{proposal_id}", choice=decision,
        choices=OUTCOMES,
    )  # fmt: skip


@router.post(
    "/review/merges/{proposal_id}/decisions/{decision_id}/undo", name="web_undo_merge", response_class=HTMLResponse
)
def undo_merge(
    proposal_id: RowId,
    decision_id: RowId,
    viewer: Annotated[Viewer, Depends(guard("web_undo_merge"))],
    reason: Reason = "",
    csrf: Csrf = "",
) -> Response:
    viewer.require_csrf(csrf)
    return decided(
        viewer, _merge_page, proposal_id,
        lambda: portal.undo_merge(viewer.ctx, viewer.principal, proposal_id, decision_id, reason),
        {"undo": str(decision_id), "undo_reason": reason}, back=f"/review/merges/{proposal_id}",
    )  # fmt: skip


@router.get("/review/subjects/{subject_id}/merges", name="web_subject_merges", response_class=HTMLResponse)
def subject_merges(subject_id: RowId, viewer: Annotated[Viewer, Depends(guard("web_subject_merges"))]) -> HTMLResponse:
    data = portal.merge_history(viewer.ctx, viewer.principal, subject_id)
    return render(viewer, "subject_merges.html", h=data)
