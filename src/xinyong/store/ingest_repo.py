"""Store operations of one ingestion batch, set-based per chunk of rows.

All functions run inside the caller's transaction: a batch is committed whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from xinyong.domain.catalog import Catalog
from xinyong.domain.records import Problem, ValidRow
from xinyong.store.bulk import allocate_ids, insert_rows, timestamp
from xinyong.store.tables import batches, identifiers, records, rejects, sources, subjects, unresolved


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


def versions_of(conn: Connection, source_id: str, refs: Sequence[str]) -> dict[str, list[StoredVersion]]:
    """Every stored version of the given references of one source."""
    out: dict[str, list[StoredVersion]] = {}
    if not refs:
        return out
    q = select(
        records.c.id,
        records.c.source_ref,
        records.c.revision,
        records.c.content_hash,
        records.c.batch_id,
        records.c.batch_line,
        records.c.superseded_at.is_(None),
    ).where(records.c.source_id == source_id, records.c.source_ref.in_(bindparam("refs", expanding=True)))
    for row in conn.execute(q, {"refs": list(refs)}):
        out.setdefault(row[1], []).append(StoredVersion(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6])))
    return out


def resolve_subjects(
    conn: Connection, rows: Iterable[ValidRow], batch_id: int, now: datetime
) -> tuple[dict[tuple[str, str], int], int]:
    """Map each checksum-valid identifier to its subject, creating subjects for new identifiers.

    Returns the map (scheme, hash) -> subject id, and how many subjects were created.
    """
    wanted: dict[tuple[str, str], ValidRow] = {}
    for r in rows:
        if r.unresolved is None and r.id_hash is not None:
            wanted.setdefault((r.scheme, r.id_hash), r)
    found: dict[tuple[str, str], int] = {}
    if not wanted:
        return found, 0
    q = select(identifiers.c.scheme, identifiers.c.value_hash, identifiers.c.subject_id).where(
        identifiers.c.value_hash.in_(bindparam("hashes", expanding=True))
    )
    for scheme, value_hash, subject_id in conn.execute(q, {"hashes": [h for _, h in wanted]}):
        if (scheme, value_hash) in wanted:
            found[(scheme, value_hash)] = int(subject_id)
    missing = [key for key in wanted if key not in found]
    if missing:
        new_ids = allocate_ids(conn, subjects, len(missing))
        created_at = timestamp(conn, now)
        insert_rows(
            conn,
            subjects,
            ("id", "kind", "display_name", "created_at", "created_by_batch"),
            [
                (sid, wanted[k].subject_kind, wanted[k].subject_name, created_at, batch_id)
                for k, sid in zip(missing, new_ids, strict=True)
            ],
        )
        insert_rows(
            conn,
            identifiers,
            ("subject_id", "scheme", "value_hash", "masked", "value", "created_at"),
            [
                (sid, k[0], k[1], wanted[k].id_masked, wanted[k].id_public, created_at)
                for k, sid in zip(missing, new_ids, strict=True)
            ],
        )
        found.update(zip(missing, new_ids, strict=True))
    return found, len(missing)


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


RECORD_COLUMNS = (
    "source_id", "source_ref", "revision", "record_type", "subject_kind", "subject_id", "link_method",
    "subject_name", "id_scheme", "id_hash", "id_masked", "decided_on", "valid_from", "valid_until",
    "document_no", "attributes", "status", "content_hash", "batch_id", "batch_line", "recorded_at", "superseded_at",
)  # fmt: skip


def insert_records(
    conn: Connection,
    source_id: str,
    rows: list[ValidRow],
    links: dict[tuple[str, str], int],
    batch_id: int,
    now: datetime,
) -> None:
    if not rows:
        return
    recorded_at = timestamp(conn, now)
    rows_out = []
    for r in rows:
        subject_id = links.get((r.scheme, r.id_hash)) if r.unresolved is None and r.id_hash else None
        rows_out.append(
            (
                source_id, r.source_ref, r.revision, r.record_type, r.subject_kind, subject_id,
                "identifier" if subject_id is not None else None, r.subject_name, r.scheme, r.id_hash,
                r.id_masked, r.decided_on, r.valid_from,
                r.valid_until, r.document_no, r.attributes_json, "active",
                r.content_hash, batch_id, r.line, recorded_at, None,
            )
        )  # fmt: skip
    insert_rows(conn, records, RECORD_COLUMNS, rows_out)
    pending = {r.source_ref: r.unresolved for r in rows if r.unresolved is not None}
    if pending:
        q = select(records.c.id, records.c.source_ref).where(
            records.c.batch_id == batch_id,
            records.c.source_id == source_id,
            records.c.source_ref.in_(bindparam("refs", expanding=True)),
        )
        ids = conn.execute(q, {"refs": list(pending)}).all()
        conn.execute(
            insert(unresolved),
            [
                {
                    "record_id": rid,
                    "reason_code": "missing_identifier"
                    if pending[ref] == "missing identifier"
                    else "invalid_identifier",
                    "reason": pending[ref][:300],
                    "queued_at": now,
                }
                for rid, ref in ids
            ],
        )


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
