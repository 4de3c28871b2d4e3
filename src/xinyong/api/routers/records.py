"""Source departments submit records as JSON batches, validated and stored as a file would be.

A batch goes through the one ingestion service every entrypoint uses (`services.ingestion.submit`):
its rows are read as the lines of a JSONL file, without being written anywhere; the valid records
are stored in one transaction, idempotent on (source, source_ref, revision); the rest are
rejected, each named by its position in the batch (from 1) and field. The subjects whose records
changed are then rescored and the notices due delivered, as after `xinyong ingest`. A source may
submit only the record types its key allows. No answer names a path of the server.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from xinyong.api import errors
from xinyong.api.deps import Ctx, RowId, guard
from xinyong.api.models.records import Batch, BatchResult, RecordBatch, Reject
from xinyong.api.paging import Cursor, Limit, Page, page, position
from xinyong.services.batch_queries import batches_of, rejects_of
from xinyong.services.ingestion import RowBatch, submit
from xinyong.services.keys import Principal
from xinyong.store.unit_of_work import AuditNote

router = APIRouter(tags=["sources"], responses=errors.RESPONSES)

SUBMIT = (
    "Validate every record of the batch and store the valid ones, in one transaction; the batch is "
    "accepted in part: each invalid record is rejected, named by its position in the batch (from 1) and "
    "field, and counted in `rejected` (every reject at `rejects_url`). A record already stored with the "
    "same source, source_ref and revision is counted as `unchanged`, not stored twice. A record type the "
    "key's department may not submit refuses the whole batch (403) before anything is stored, as does a "
    "batch over the size limit (413). Once the batch is stored, the subjects whose records it changed are "
    "rescored and the notices due are delivered, as after `xinyong ingest`."
)


@router.post("/v1/records", name="submit_records", response_model=BatchResult, status_code=201, description=SUBMIT)
def submit_records(
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("submit_records"))],
    body: Annotated[RecordBatch, Body()],
) -> dict[str, Any]:
    done = submit(
        ctx.engine, ctx.catalog, ctx.vault, ctx.settings, [RowBatch(body.records, who.source)],
        audit=AuditNote(who.actor, "submit_records"),  # in the batch's transaction
    )  # fmt: skip
    [result] = done.batches
    shown = {k: v for k, v in result.as_dict().items() if k not in ("file", "report", "reading")}
    return {**shown, "rejects_url": f"/v1/batches/{result.batch_id}/rejects"}


@router.get("/v1/batches", name="list_batches", response_model=Page[Batch])
def list_batches(
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("list_batches"))],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """A source's own batches (every batch for an admin), newest first."""
    start = position(cursor)
    rows, total = batches_of(ctx.engine, who.source if who.role.value == "source" else None, start=start, limit=limit)
    return page(rows, start, limit, total=total)


@router.get("/v1/batches/{batch_id}/rejects", name="batch_rejects", response_model=Page[Reject])
def batch_rejects(
    batch_id: RowId,
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("batch_rejects"))],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Every rejected row of a batch: line, field, code and what to fix."""
    start = position(cursor)
    source = who.source if who.role.value == "source" else None
    rows, total = rejects_of(ctx.engine, batch_id, source, start=start, limit=limit)
    return page(rows, start, limit, total=total)
