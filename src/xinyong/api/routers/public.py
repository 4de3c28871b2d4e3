"""The public portal's data: organisations, and persons only while on a public list, masked.

Rate limited per client (a sliding window of one minute, per process): the public view of the
lists is for looking someone up, not for harvesting the register.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from threading import Lock
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from xinyong.api import errors
from xinyong.api.deps import Ctx, RowId, guard
from xinyong.services.keys import Principal
from xinyong.services.portal import public_search, public_subject

router = APIRouter(tags=["public"], responses=errors.RESPONSES)


class RateLimiter:
    def __init__(self) -> None:
        self.hits: dict[str, deque[float]] = defaultdict(deque)
        self.lock = Lock()

    async def __call__(self, request: Request) -> None:
        limit = request.app.state.ctx.settings.public_rate_per_minute
        client = request.client.host if request.client else "unknown"
        now = time.monotonic()
        with self.lock:
            window = self.hits[client]
            while window and now - window[0] > 60:
                window.popleft()
            if len(window) >= limit:
                retry = int(60 - (now - window[0])) + 1
                raise HTTPException(
                    429, f"at most {limit} public requests a minute; retry in {retry} s", {"Retry-After": str(retry)}
                )
            window.append(now)


limiter = RateLimiter()


@router.get("/v1/public/subjects", name="public_search", response_model=list[dict[str, Any]])
def search(
    ctx: Ctx,
    _: Annotated[Principal, Depends(guard("public_search"))],
    __: Annotated[None, Depends(limiter)],
    q: Annotated[
        str, Query(min_length=2, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$", description="A name, or a USCC.")
    ],
) -> list[dict[str, Any]]:
    """Find organisations by name or USCC, and persons only while they are on a public list (masked)."""
    return public_search(ctx.engine, ctx.catalog, q)


@router.get(
    "/v1/public/subjects/{subject_id}",
    name="public_subject",
    response_model=dict[str, Any],
)
def subject(
    subject_id: RowId,
    ctx: Ctx,
    _: Annotated[Principal, Depends(guard("public_subject"))],
    __: Annotated[None, Depends(limiter)],
) -> dict[str, Any]:
    """What the law makes public of one subject: public records inside their publication period."""
    return public_subject(ctx.engine, ctx.catalog, subject_id)
