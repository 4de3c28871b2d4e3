"""Source departments submit records as JSON batches, with file ingestion's validation and atomicity.

A batch is written as one JSONL file and ingested exactly as a file would be: one transaction,
idempotent on (source, source_ref, revision), rejects named by line (the record's position in the
batch, from 1) and field. A source may submit only the record types its key allows.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select

from xinyong.api import errors
from xinyong.api.deps import Ctx, RowId, guard
from xinyong.ingest.pipeline import ingest_file
from xinyong.services.keys import Principal
from xinyong.store.tables import batches, rejects
from xinyong.store.unit_of_work import AuditNote

router = APIRouter(tags=["sources"], responses=errors.RESPONSES)

Value = str | int | float | bool | None


class RecordBatch(BaseModel):
    records: Annotated[list[dict[Annotated[str, Field(max_length=64)], Value]], Field(min_length=1)]


def _source(who: Principal) -> str:
    [source] = who.scopes.get("source") or [who.name]
    return source


@router.post(
    "/v1/records",
    name="submit_records",
    response_model=dict[str, Any],
    status_code=201,
)
def submit(
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("submit_records"))],
    body: Annotated[RecordBatch, Body()],
) -> dict[str, Any]:
    """Submit a batch of records; all of it is stored or nothing, rejects named by position and field."""
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
        result = ingest_file(
            ctx.engine,
            ctx.catalog,
            ctx.vault,
            path,
            source=source,
            report_dir=ctx.settings.rejects,
            helper_min_bytes=-1,
            audit=AuditNote(who.actor, "submit_records"),  # in the batch's transaction
        )
    return result.as_dict()


@router.get("/v1/batches", name="list_batches", response_model=list[dict[str, Any]])
def list_batches(ctx: Ctx, who: Annotated[Principal, Depends(guard("list_batches"))]) -> list[dict[str, Any]]:
    """A source's own batches (every batch for an admin), newest first."""
    q = select(batches).order_by(batches.c.id.desc()).limit(200)
    if who.role.value == "source":
        q = q.where(batches.c.source_id == _source(who))
    with ctx.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


@router.get("/v1/batches/{batch_id}/rejects", name="batch_rejects", response_model=list[dict[str, Any]])
def batch_rejects(
    batch_id: RowId, ctx: Ctx, who: Annotated[Principal, Depends(guard("batch_rejects"))]
) -> list[dict[str, Any]]:
    """Every rejected row of a batch: line, field, code and what to fix."""
    with ctx.engine.connect() as conn:
        owner = conn.scalar(select(batches.c.source_id).where(batches.c.id == batch_id))
        if owner is None or (who.role.value == "source" and owner != _source(who)):
            raise HTTPException(404, f"no batch {batch_id} of yours")
        q = select(rejects).where(rejects.c.batch_id == batch_id).order_by(rejects.c.line)
        return [dict(r._mapping) for r in conn.execute(q)]
