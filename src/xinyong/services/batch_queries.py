"""What a source department may read back: its batches, newest first, and a batch's rejected rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from xinyong.domain.errors import NotFound
from xinyong.store.tables import batches, rejects

# Columns of a batch a client may see: not where the server kept the file or its reject report.
_SHOWN = [c for c in batches.c if c.key not in ("file_name", "report_path")]


def batches_of(engine: Engine, source: str | None, *, start: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """(the page of a source's batches, every source's when None, from `start`; how many in all)."""
    q = select(*_SHOWN).order_by(batches.c.id.desc()).offset(start).limit(limit)
    n = select(func.count()).select_from(batches)
    if source is not None:
        q, n = q.where(batches.c.source_id == source), n.where(batches.c.source_id == source)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)], int(conn.scalar(n) or 0)


def rejects_of(
    engine: Engine, batch_id: int, source: str | None, *, start: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """(the page of a batch's rejected rows by line, how many in all); NotFound when the batch is
    not the source's (any batch when `source` is None)."""
    with engine.connect() as conn:
        owner = conn.scalar(select(batches.c.source_id).where(batches.c.id == batch_id))
        if owner is None or (source is not None and owner != source):
            raise NotFound(f"no batch {batch_id} of yours")
        where = rejects.c.batch_id == batch_id
        q = select(rejects).where(where).order_by(rejects.c.line, rejects.c.id).offset(start).limit(limit)
        total = int(conn.scalar(select(func.count()).select_from(rejects).where(where)) or 0)
        return [dict(r._mapping) for r in conn.execute(q)], total
