"""Credit reports and open data over HTTP.

An organisation's public report goes to anyone (rate limited like the public routes); a person's
report only ever to that person, with their subject token (`/v1/me/report`). Anyone may ask
whether a verification code was issued, and fetch the latest open-data files.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, Response

from xinyong.api import errors
from xinyong.api.deps import Ctx, RowId, guard
from xinyong.api.models.reports import Signer, Verification
from xinyong.api.ratelimit import rate_limited as limiter
from xinyong.reports.issue import issue_report, verify_code
from xinyong.reports.publish import FILES, published_file
from xinyong.services.keys import Principal

router = APIRouter(tags=["reports"], responses=errors.RESPONSES)

_DOCUMENT = {
    "description": "The signed report: JSON (an Ed25519-signed document), a signed PDF, or an HTML page.",
    "content": {
        "application/json": {"schema": {"type": "object"}},
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        "text/html": {"schema": {"type": "string"}},
    },
}
_DATA = {
    "description": "An open-data file of the latest publication.",
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/x-ndjson": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object"}},
    },
}

First = Annotated[date | None, Query(alias="from", description="First day of the period; default 36 months back.")]
Last = Annotated[date | None, Query(alias="to", description="Last day of the period; default today.")]
Purpose = Annotated[
    str | None,
    Query(max_length=64, pattern=r"^[a-z][a-z0-9_.]*$", description="A context id, e.g. procurement.tender."),
]
Lang = Annotated[Literal["zh", "en"], Query(description="The report's language.")]
Format = Annotated[Literal["pdf", "json", "html"], Query(alias="format", description="pdf, json or html.")]
Code = Annotated[
    str,
    Path(min_length=19, max_length=19, pattern=r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$", description="A verification code."),
]


def _answer(ctx: Any, request: Request, who: Principal, subject_id: int, **kw: Any) -> Response:
    issued = issue_report(
        ctx.engine,
        ctx.catalog,
        ctx.signing_key,
        subject_id=subject_id,
        requester=who.actor,
        base_url=str(request.base_url),
        **kw,
    )
    disposition = f'inline; filename="report-{issued.code}.{issued.format}"'
    return Response(issued.content, media_type=issued.media_type, headers={"Content-Disposition": disposition})


@router.get(
    "/v1/public/subjects/{subject_id}/report",
    name="public_report",
    response_class=Response,
    responses={200: _DOCUMENT},
)
def public_report(
    subject_id: RowId,
    request: Request,
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("public_report"))],
    _: Annotated[None, Depends(limiter)],
    first: First = None,
    last: Last = None,
    purpose: Purpose = None,
    lang: Lang = "zh",
    fmt: Format = "pdf",
) -> Response:
    """An organisation's public credit report, signed; stored and audited. Persons: see /v1/me/report."""
    return _answer(
        ctx, request, who, subject_id, by_subject=False, public=True,
        first=first, last=last, purpose=purpose, lang=lang, fmt=fmt,
    )  # fmt: skip


@router.get("/v1/me/report", name="my_report", response_class=Response, responses={200: _DOCUMENT})
def my_report(
    request: Request,
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("my_report"))],
    first: First = None,
    last: Last = None,
    purpose: Purpose = None,
    lang: Lang = "zh",
    fmt: Format = "pdf",
) -> Response:
    """Your own credit report, whole (non-public records and pending list steps included)."""
    if who.subject_id is None:  # a subject token always names its subject (see keys.create_key)
        raise ValueError("subject token without a subject")
    return _answer(
        ctx, request, who, who.subject_id, by_subject=True, public=False,
        first=first, last=last, purpose=purpose, lang=lang, fmt=fmt,
    )  # fmt: skip


@router.get("/v1/reports/{code}/verify", name="verify_report", response_model=Verification)
def verify(
    code: Code,
    ctx: Ctx,
    _: Annotated[Principal, Depends(guard("verify_report"))],
    __: Annotated[None, Depends(limiter)],
) -> dict[str, Any]:
    """Whether a report with this code was issued: for which subject (masked), when, and the SHA-256
    of its JSON and PDF, to compare with the document in hand."""
    return verify_code(ctx.engine, code)


@router.get("/v1/reports/signer", name="report_signer", response_model=Signer)
def signer(ctx: Ctx, _: Annotated[Principal, Depends(guard("report_signer"))]) -> dict[str, Any]:
    """The certificate that signs report PDFs, and its key's SHA-256 (each report's JSON names it)."""
    from xinyong.reports.signer import report_signer

    s = report_signer(ctx.signing_key)
    return {"certificate_pem": s.certificate_pem().decode(), "spki_sha256": s.spki_sha256}


@router.get("/v1/public/data/{name}", name="public_data", response_class=FileResponse, responses={200: _DATA})
def public_data(
    name: Annotated[str, Path(max_length=40, description=f"One of {', '.join(FILES)}.")],
    ctx: Ctx,
    _: Annotated[Principal, Depends(guard("public_data"))],
    __: Annotated[None, Depends(limiter)],
) -> FileResponse:
    """A file of the latest open-data publication, as its signed manifest lists it."""
    path, media_type = published_file(ctx.engine, name)
    return FileResponse(path, media_type=media_type, filename=name)
