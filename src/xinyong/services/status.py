"""Counts that tell an operator what the store holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from xinyong.store.ingest_repo import count
from xinyong.store.tables import batches, identifiers, records, rejects, sources, subjects, unresolved


def store_status(engine: Engine) -> dict[str, Any]:
    """Records (current versions), subjects, open unresolved records, rejects, and per source."""
    with engine.connect() as conn:
        current = records.c.superseded_at.is_(None)
        open_unresolved = (
            select(func.count())
            .select_from(unresolved.join(records, records.c.id == unresolved.c.record_id))
            .where(unresolved.c.resolved_at.is_(None), current)
        )
        by_kind: dict[str, int] = dict(
            conn.execute(select(subjects.c.kind, func.count()).group_by(subjects.c.kind)).all()
        )
        per_source: dict[str, dict[str, Any]] = {
            sid: {
                "name": name,
                "records": 0,
                "versions": 0,
                "unresolved": 0,
                "batches": 0,
                "rejected": 0,
                "last_batch_at": None,
            }
            for sid, name in conn.execute(select(sources.c.id, sources.c.name))
        }
        for sid, n_current, n_all, n_unlinked in conn.execute(
            select(
                records.c.source_id,
                func.count().filter(current),
                func.count(),
                func.count().filter(current, records.c.subject_id.is_(None)),
            ).group_by(records.c.source_id)
        ):
            per_source[sid].update(records=n_current, versions=n_all, unresolved=n_unlinked)
        for sid, n, rej, last in conn.execute(
            select(
                batches.c.source_id, func.count(), func.sum(batches.c.rejected), func.max(batches.c.finished_at)
            ).group_by(batches.c.source_id)
        ):
            per_source[sid].update(batches=n, rejected=int(rej or 0), last_batch_at=last.isoformat() if last else None)
        return {
            "records": count(conn, records, current),
            "record_versions": count(conn, records),
            "subjects": sum(by_kind.values()),
            "subjects_by_kind": by_kind,
            "identifiers": count(conn, identifiers),
            "unresolved": int(conn.execute(open_unresolved).scalar_one()),
            "rejected": int(conn.execute(select(func.coalesce(func.sum(batches.c.rejected), 0))).scalar_one()),
            "reject_problems": count(conn, rejects),
            "batches": count(conn, batches),
            "sources": {k: v for k, v in per_source.items() if v["batches"] or v["records"]},
        }
