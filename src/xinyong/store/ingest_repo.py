"""Store operations of one ingestion batch: its row, superseded versions and rejects (records: batch_store).

All functions run inside the caller's transaction: a batch is committed whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from xinyong.domain.catalog import Catalog
from xinyong.domain.records import Problem
from xinyong.store.tables import batches, records, rejects, sources, unresolved


def sync_sources(conn: Connection, catalog: Catalog, now: datetime) -> None:
    """Make sure every department of the catalog has its row (records reference it)."""
    known = set(conn.scalars(select(sources.c.id)))
    new = [{"id": s.id, "name": s.name, "registered_at": now} for s in catalog.sources.values() if s.id not in known]
    if new:
        conn.execute(insert(sources), new)


def open_batch(conn: Connection, values: dict[str, Any]) -> int:
    zero = dict.fromkeys(
        ("rows_read", "accepted", "new_versions", "unchanged", "rejected", "unresolved", "subjects_created"), 0
    )
    batch_id = conn.execute(insert(batches).values(**zero, **values).returning(batches.c.id)).scalar_one()
    return int(batch_id)


def close_batch(conn: Connection, batch_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(batches).where(batches.c.id == batch_id).values(**values))


@dataclass(frozen=True, slots=True)
class StoredVersion:
    id: int
    source_ref: str
    revision: int
    content_hash: str
    batch_id: int
    batch_line: int
    current: bool


def supersede(conn: Connection, record_ids: list[int], now: datetime) -> None:
    if not record_ids:
        return
    conn.execute(
        update(records).where(records.c.id.in_(bindparam("ids", expanding=True))).values(superseded_at=now),
        {"ids": record_ids},
    )
    conn.execute(
        update(unresolved)
        .where(unresolved.c.record_id.in_(bindparam("ids", expanding=True)), unresolved.c.resolved_at.is_(None))
        .values(resolved_at=now, resolution="superseded"),
        {"ids": record_ids},
    )


# The records' columns, in the order bulk loaders give them (bench/score.py).
RECORD_COLUMNS = (
    "source_id", "source_ref", "revision", "record_type", "subject_kind", "subject_id", "link_method",
    "subject_name", "id_scheme", "id_hash", "id_masked", "decided_on", "valid_from", "valid_until",
    "document_no", "attributes", "status", "content_hash", "batch_id", "batch_line", "recorded_at", "superseded_at",
)  # fmt: skip


def insert_rejects(conn: Connection, batch_id: int, problems: list[Problem]) -> None:
    if problems:
        conn.execute(
            insert(rejects),
            [
                {
                    "batch_id": batch_id,
                    "line": p.line,
                    "source_ref": p.source_ref,
                    "field": p.field,
                    "code": p.code,
                    "message": p.message[:500],
                }
                for p in problems
            ],
        )


def count(conn: Connection, table: Any, *where: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())
