"""The public portal's data: organisations, and persons only while on a public list, masked.

Rate limited per client (`api.ratelimit`: a moving window of one minute, shared by every process
through Redis when it is configured): the public view of the lists is for looking someone up,
not for harvesting the register.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from xinyong.api import errors
from xinyong.api.deps import Ctx, RowId, guard
from xinyong.api.models.public import Found, PublicSubject
from xinyong.api.paging import Cursor, Page, page, position
from xinyong.api.ratelimit import RateLimited
from xinyong.services.keys import Principal
from xinyong.services.portal import public_subject
from xinyong.services.public_search import SEARCH_MAX, search_page

router = APIRouter(tags=["public"], responses=errors.RESPONSES)


@router.get("/v1/public/subjects", name="public_search", response_model=Page[Found])
def search(
    __: RateLimited,
    ctx: Ctx,
    _: Annotated[Principal, Depends(guard("public_search"))],
    q: Annotated[
        str,
        Query(
            min_length=2,
            max_length=100,
            pattern=r"^[^\x00-\x1f\x7f]+$",
            description="An organisation's name, part of it, or USCC; a person's exact full name or resident number.",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=SEARCH_MAX, description=f"Items per page: 1 to {SEARCH_MAX}.")] = 20,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Find organisations by name or USCC, and persons only while they are on a public list (masked),
    only by their exact full name or full resident number."""
    start = position(cursor)
    found, total = search_page(ctx.engine, ctx.catalog, q, start=start, limit=limit, vault=ctx.vault)
    return page(found, start, limit, total=total)


@router.get(
    "/v1/public/subjects/{subject_id}",
    name="public_subject",
    response_model=PublicSubject,
)
def subject(
    __: RateLimited,
    subject_id: RowId,
    ctx: Ctx,
    _: Annotated[Principal, Depends(guard("public_subject"))],
) -> dict[str, Any]:
    """What the law makes public of one subject: public records inside their publication period."""
    return public_subject(ctx.engine, ctx.catalog, subject_id)
