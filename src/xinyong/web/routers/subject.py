"""A resident's or company's own file, and the forms to object and to ask for credit repair.

Each view of the file is audited as the API's `GET /v1/me` is; each filing is stored with its
audit event. A form refused by the service is shown again with what to fix.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, Response

from xinyong.domain.errors import XinyongError
from xinyong.web import services as portal
from xinyong.web.pages import Viewer, guard, render, see_other

router = APIRouter(include_in_schema=False)
Ref = Annotated[str, Query(max_length=200)]


@router.get("/me", name="web_my_file", response_class=HTMLResponse)
def my_file(
    viewer: Annotated[Viewer, Depends(guard("web_my_file"))],
    filed: Annotated[str, Query(max_length=40, pattern=r"^(objection|repair):\d{1,15}$")] = "",
) -> HTMLResponse:
    data = portal.my_file(viewer.ctx, viewer.principal)
    kind, _, number = filed.partition(":")
    return render(viewer, "my_file.html", f=data, catalog=viewer.ctx.catalog, filed_kind=kind, filed_id=number)


@router.get("/me/report", name="web_my_report", response_class=Response)
def my_report(
    viewer: Annotated[Viewer, Depends(guard("web_my_report"))],
    fmt: Annotated[Literal["pdf", "html", "json"], Query(alias="format")] = "pdf",
) -> Response:
    """The subject's own signed credit report, for download: the button on "My file"."""
    base_url = str(viewer.request.base_url)
    content, media_type, name = portal.my_report(viewer.ctx, viewer.principal, fmt, viewer.lang, base_url)
    return Response(content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/me/objections/new", name="web_objection_form", response_class=HTMLResponse)
def objection_form(viewer: Annotated[Viewer, Depends(guard("web_objection_form"))], target: Ref = "") -> HTMLResponse:
    return render(viewer, "objection_form.html", target=target, grounds="", error=None, **portal.deadlines(viewer.ctx))


@router.post("/me/objections", name="web_file_objection", response_class=HTMLResponse)
def file_objection(
    viewer: Annotated[Viewer, Depends(guard("web_file_objection"))],
    target: Annotated[str, Form(max_length=200)] = "",
    grounds: Annotated[str, Form(max_length=4000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    viewer.require_csrf(csrf)
    try:
        result = portal.file_objection(viewer.ctx, viewer.principal, target, grounds)
    except XinyongError as exc:
        return render(
            viewer,
            "objection_form.html",
            exc.status,
            target=target,
            grounds=grounds,
            error=str(exc),
            **portal.deadlines(viewer.ctx),
        )
    return see_other(f"/me?filed=objection:{result['id']}#objection-{result['id']}")


@router.get("/me/repairs/new", name="web_repair_form", response_class=HTMLResponse)
def repair_form(viewer: Annotated[Viewer, Depends(guard("web_repair_form"))], record: Ref = "") -> HTMLResponse:
    return render(
        viewer,
        "repair_form.html",
        record=record,
        evidence="",
        commitment=False,
        error=None,
        **portal.deadlines(viewer.ctx),
    )


@router.post("/me/repairs", name="web_file_repair", response_class=HTMLResponse)
def file_repair(
    viewer: Annotated[Viewer, Depends(guard("web_file_repair"))],
    record: Annotated[str, Form(max_length=200)] = "",
    evidence: Annotated[str, Form(max_length=200)] = "",
    commitment: Annotated[str, Form(max_length=10)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    viewer.require_csrf(csrf)
    committed = commitment == "yes"
    try:
        result = portal.file_repair(viewer.ctx, viewer.principal, record, evidence.strip() or None, committed)
    except XinyongError as exc:
        return render(
            viewer,
            "repair_form.html",
            exc.status,
            record=record,
            evidence=evidence,
            commitment=committed,
            error=str(exc),
            **portal.deadlines(viewer.ctx),
        )
    return see_other(f"/me?filed=repair:{result['id']}#repair-{result['id']}")
