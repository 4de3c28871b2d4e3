"""Discovery: the contexts a consumer may ask in (with their purpose codes), the measures with
their legal basis, the record types and the lists, so no client needs a 422 to learn them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from xinyong.api import errors
from xinyong.api.deps import Ctx, guard
from xinyong.api.models.catalog import CatalogView
from xinyong.services.catalog_view import catalog_view
from xinyong.services.keys import Principal

router = APIRouter(tags=["catalog"], responses=errors.RESPONSES)


@router.get("/v1/catalog", name="catalog", response_model=CatalogView)
async def catalog(ctx: Ctx, _: Annotated[Principal, Depends(guard("catalog"))]) -> dict[str, Any]:
    """The published catalog in force: contexts with their purpose codes, measures with their legal
    basis, record types and lists."""
    return catalog_view(ctx.catalog)
