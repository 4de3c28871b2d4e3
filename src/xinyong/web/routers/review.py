"""Reviewers' queues and decisions. Staff read; only a reviewer decides, and every decision
needs a reason and is shown, before it is taken, with what it will change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path
from fastapi.responses import HTMLResponse, Response

from xinyong.domain.errors import XinyongError
from xinyong.web import services as portal
from xinyong.web.pages import Viewer, decided, guard, render

router = APIRouter(include_in_schema=False)
RowId = Annotated[int, Path(ge=1, le=2**53 - 1)]
Reason = Annotated[str, Form(max_length=1000)]
Csrf = Annotated[str, Form(max_length=200)]
Choice = Annotated[str, Form(max_length=20)]


def _today() -> object:
    return datetime.now(UTC).date()


@router.get("/review", name="web_queues", response_class=HTMLResponse)
def queues(viewer: Annotated[Viewer, Depends(guard("web_queues"))]) -> HTMLResponse:
    return render(viewer, "queues.html", q=portal.queues(viewer.ctx, viewer.principal), today=_today())


def _entry_page(
    viewer: Viewer, entry_id: int, status: int = 200, error: str | None = None, **form: str
) -> HTMLResponse:
    data = portal.entry(viewer.ctx, viewer.principal, entry_id)
    return render(viewer, "entry.html", status, e=data, error=error, form=form, catalog=viewer.ctx.catalog)


@router.get("/review/entries/{entry_id}", name="web_entry", response_class=HTMLResponse)
def entry(entry_id: RowId, viewer: Annotated[Viewer, Depends(guard("web_entry"))]) -> HTMLResponse:
    return _entry_page(viewer, entry_id)


@router.post("/review/entries/{entry_id}/decision", name="web_decide_entry", response_class=HTMLResponse)
def decide_entry(
    entry_id: RowId,
    viewer: Annotated[Viewer, Depends(guard("web_decide_entry"))],
    decision: Choice = "",
    reason: Reason = "",
    csrf: Csrf = "",
) -> Response:
    viewer.require_csrf(csrf)
    return decided(
        viewer, _entry_page, entry_id,
        lambda: portal.decide_entry(viewer.ctx, viewer.principal, entry_id, decision == "approve", reason),
        {"decision": decision, "reason": reason}, back=f"/review/entries/{entry_id}", choice=decision,
        choices=("approve", "reject"),
    )  # fmt: skip


def _objection_page(viewer: Viewer, oid: int, status: int = 200, error: str | None = None, **form: str) -> HTMLResponse:
    data = portal.objection(viewer.ctx, viewer.principal, oid)
    return render(viewer, "objection.html", status, o=data, error=error, form=form, catalog=viewer.ctx.catalog)


@router.get("/review/objections/{objection_id}", name="web_objection", response_class=HTMLResponse)
def objection(objection_id: RowId, viewer: Annotated[Viewer, Depends(guard("web_objection"))]) -> HTMLResponse:
    return _objection_page(viewer, objection_id)


def _attributes(text: str) -> dict[str, str] | None:
    """`name=value` lines of a correction, or None for none; a line without `=` is refused."""
    pairs = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, eq, value = line.partition("=")
        if not eq or not name.strip():
            raise ValueError(f"line {n}: write each correction as name=value")
        pairs[name.strip()] = value.strip()
    return pairs or None


@router.post("/review/objections/{objection_id}/decision", name="web_decide_objection", response_class=HTMLResponse)
def decide_objection(
    objection_id: RowId,
    viewer: Annotated[Viewer, Depends(guard("web_decide_objection"))],
    decision: Choice = "",
    remedy: Choice = "",
    corrections: Annotated[str, Form(max_length=2000)] = "",
    reason: Reason = "",
    csrf: Csrf = "",
) -> Response:
    viewer.require_csrf(csrf)

    def decide() -> object:
        return portal.decide_objection(
            viewer.ctx,
            viewer.principal,
            objection_id,
            uphold=decision == "uphold",
            reason=reason,
            revoke=decision == "uphold" and remedy == "revoke",
            set_attributes=_attributes(corrections) if decision == "uphold" and remedy == "correct" else None,
        )

    return decided(
        viewer, _objection_page, objection_id, decide,
        {"decision": decision, "remedy": remedy, "corrections": corrections, "reason": reason},
        back=f"/review/objections/{objection_id}", choice=decision, choices=("uphold", "dismiss"),
        refusals=(XinyongError, ValueError),  # ValueError: a correction line that is not name=value
    )  # fmt: skip


def _repair_page(viewer: Viewer, rid: int, status: int = 200, error: str | None = None, **form: str) -> HTMLResponse:
    data = portal.repair(viewer.ctx, viewer.principal, rid)
    return render(viewer, "repair.html", status, r=data, error=error, form=form)


@router.get("/review/repairs/{repair_id}", name="web_repair", response_class=HTMLResponse)
def repair(repair_id: RowId, viewer: Annotated[Viewer, Depends(guard("web_repair"))]) -> HTMLResponse:
    return _repair_page(viewer, repair_id)


@router.post("/review/repairs/{repair_id}/decision", name="web_decide_repair", response_class=HTMLResponse)
def decide_repair(
    repair_id: RowId,
    viewer: Annotated[Viewer, Depends(guard("web_decide_repair"))],
    decision: Choice = "",
    reason: Reason = "",
    unmet: Annotated[list[str] | None, Form(max_length=10)] = None,
    csrf: Csrf = "",
) -> Response:
    viewer.require_csrf(csrf)
    return decided(
        viewer, _repair_page, repair_id,
        lambda: portal.decide_repair(
            viewer.ctx, viewer.principal, repair_id, approve=decision == "approve", reason=reason, unmet=unmet
        ),
        {"decision": decision, "reason": reason}, back=f"/review/repairs/{repair_id}", choice=decision,
        choices=("approve", "refuse"),
    )  # fmt: skip
