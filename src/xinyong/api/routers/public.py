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
from xinyong.api.ratelimit import RateLimited
from xinyong.services.keys import Principal
from xinyong.services.portal import public_search, public_subject

router = APIRouter(tags=["public"], responses=errors.RESPONSES)


@router.get("/v1/public/subjects", name="public_search", response_model=list[dict[str, Any]])
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
) -> list[dict[str, Any]]:
    """Find organisations by name or USCC, and persons only while they are on a public list (masked),
    only by their exact full name or full resident number."""
    return public_search(ctx.engine, ctx.catalog, q, vault=ctx.vault)


@router.get(
    "/v1/public/subjects/{subject_id}",
    name="public_subject",
    response_model=dict[str, Any],
)
def subject(
    __: RateLimited,
    subject_id: RowId,
    ctx: Ctx,
    _: Annotated[Principal, Depends(guard("public_subject"))],
) -> dict[str, Any]:
    """What the law makes public of one subject: public records inside their publication period."""
    return public_subject(ctx.engine, ctx.catalog, subject_id)
