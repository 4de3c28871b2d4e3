"""Source departments submit records as JSON batches, validated and stored as a file would be.

A batch is written as one JSONL file and ingested exactly as a file would be: the valid records
are stored in one transaction, idempotent on (source, source_ref, revision); the rest are
rejected, each named by its position in the batch (from 1) and field. A source may submit only the
record types its key allows. No answer names a path of the server.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException

from xinyong.api import errors
from xinyong.api.deps import Ctx, RowId, guard
from xinyong.api.models.records import Batch, BatchResult, RecordBatch, Reject
from xinyong.api.paging import Cursor, Limit, Page, page, position
from xinyong.domain.errors import XinyongError
from xinyong.ingest.pipeline import ingest_file
from xinyong.services.batch_queries import batches_of, rejects_of
from xinyong.services.keys import Principal
from xinyong.store.unit_of_work import AuditNote

router = APIRouter(tags=["sources"], responses=errors.RESPONSES)

SUBMIT = (
    "Validate every record of the batch and store the valid ones, in one transaction; the batch is "
    "accepted in part: each invalid record is rejected, named by its position in the batch (from 1) and "
    "field, and counted in `rejected` (every reject at `rejects_url`). A record already stored with the "
    "same source, source_ref and revision is counted as `unchanged`, not stored twice. A record type the "
    "key's department may not submit refuses the whole batch (403) before anything is stored, as does a "
    "batch over the size limit (413)."
)


def _source(who: Principal) -> str:
    [source] = who.scopes.get("source") or [who.name]
    return source


def _scrubbed(exc: XinyongError, *paths: str) -> XinyongError:
    """The error without the server's paths and file names (the batch's temporary file): a client
    sees its batch, whose lines are its records' positions from 1."""
    text = str(exc)
    for p in paths:
        text = text.replace(p, "the batch")
    return type(exc)(text)


@router.post("/v1/records", name="submit_records", response_model=BatchResult, status_code=201, description=SUBMIT)
def submit(
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("submit_records"))],
    body: Annotated[RecordBatch, Body()],
) -> dict[str, Any]:
    limit = ctx.settings.max_batch_records
    if len(body.records) > limit:
        raise HTTPException(413, f"a batch carries at most {limit} records; got {len(body.records)}: split it")
    source = _source(who)
    allowed = set(ctx.catalog.sources[source].submits)
    for i, r in enumerate(body.records, start=1):
        if r.get("record_type") not in allowed:
            raise HTTPException(403, f"record {i}: {source} may submit only {', '.join(sorted(allowed))}")
    with tempfile.TemporaryDirectory(prefix="xinyong-batch-") as tmp:
        path = Path(tmp) / f"{source}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in body.records), encoding="utf-8")
        try:
            result = ingest_file(
                ctx.engine,
                ctx.catalog,
                ctx.vault,
                path,
                source=source,
                report_dir=ctx.settings.rejects,
                helper_min_bytes=None,  # a batch of at most max_batch_records: validated in this process
                audit=AuditNote(who.actor, "submit_records"),  # in the batch's transaction
            )
        except XinyongError as exc:
            raise _scrubbed(exc, str(path), tmp, str(ctx.settings.rejects), path.name) from None
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
    rows, total = batches_of(ctx.engine, _source(who) if who.role.value == "source" else None, start=start, limit=limit)
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
    source = _source(who) if who.role.value == "source" else None
    rows, total = rejects_of(ctx.engine, batch_id, source, start=start, limit=limit)
    return page(rows, start, limit, total=total)
