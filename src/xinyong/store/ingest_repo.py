"""Store operations of one ingestion batch: its row, superseded versions and rejects (records: batch_store).

All functions run inside the caller's transaction: a batch is committed whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update

from xinyong.domain.catalog import Catalog
from xinyong.domain.records import Problem
from xinyong.store.tables import batches, owed_rescores, records, rejects, sources, unresolved


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


def report_paths(conn: Connection, batch_ids: list[int]) -> dict[int, str | None]:
    """The reject report each of these batches names, by batch (absent: no such batch committed)."""
    rows = conn.execute(select(batches.c.id, batches.c.report_path).where(batches.c.id.in_(batch_ids)))
    return {int(i): path for i, path in rows}


def stored_before(conn: Connection, source_id: str, sha256: str, catalog_version: str, batch_id: int) -> int | None:
    """The batch that stored this very file (its bytes, source and catalog) before `batch_id`."""
    found = conn.scalar(
        select(func.min(batches.c.id)).where(
            batches.c.file_sha256 == sha256,
            batches.c.source_id == source_id,
            batches.c.catalog_version == catalog_version,
            batches.c.id != batch_id,
        )
    )
    return None if found is None else int(found)


def owe_rescore(conn: Connection, batch_id: int, now: datetime) -> None:
    """Record, in the batch's own transaction, that its subjects are to be rescored."""
    conn.execute(insert(owed_rescores).values(batch_id=batch_id, owed_since=now))


def owed_batches(engine: Engine) -> list[int]:
    """The batches whose rescore is still owed, oldest first."""
    with engine.connect() as conn:
        return [int(b) for b in conn.scalars(select(owed_rescores.c.batch_id).order_by(owed_rescores.c.batch_id))]


def settle(engine: Engine, batch_ids: list[int]) -> None:
    """`settle_owed` in a unit of work of its own: for a rescore that found nothing to do."""
    from xinyong.store.unit_of_work import UnitOfWork  # it imports the tables, as this module does

    with UnitOfWork.writing(engine, dated=False) as uow:
        settle_owed(uow.conn, batch_ids)


def settle_owed(conn: Connection, batch_ids: list[int]) -> None:
    """The rescore owed by these batches is done (in the transaction that stores its scores)."""
    if batch_ids:
        conn.execute(delete(owed_rescores).where(owed_rescores.c.batch_id.in_(batch_ids)))


@dataclass(frozen=True, slots=True)
class StoredVersion:
    id: int
    source_ref: str
    revision: int  # the department's
    content_hash: str
    batch_id: int
    batch_line: int
    current: bool
    version: int = 0  # 0: the department's own row of its revision; 1, 2...: the platform's versions of it


def supersede(conn: Connection, record_ids: list[int], stamp: datetime) -> None:
    """Close these versions, and their match-review queue entries, at `stamp`: the knowledge-clock
    stamp of the write that stores their successors (`store.clock.advance`), never a caller's moment."""
    if not record_ids:
        return
    conn.execute(
        update(records).where(records.c.id.in_(bindparam("ids", expanding=True))).values(superseded_at=stamp),
        {"ids": record_ids},
    )
    conn.execute(
        update(unresolved)
        .where(unresolved.c.record_id.in_(bindparam("ids", expanding=True)), unresolved.c.resolved_at.is_(None))
        .values(resolved_at=stamp, resolution="superseded"),
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
