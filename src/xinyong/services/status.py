"""Counts that tell an operator what the store holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, select

from xinyong.services.clock_status import clock_status
from xinyong.store.deliveries import delivery_counts
from xinyong.store.ingest_repo import count
from xinyong.store.tables import (
    batches,
    identifiers,
    list_entry_state,
    maintenance_runs,
    notices,
    objection_decisions,
    objections,
    records,
    rejects,
    repair_decisions,
    repairs,
    sources,
    subjects,
    unresolved,
)


def due_process_status(conn: Connection, now: datetime) -> dict[str, Any]:
    """Entries per list and state on `now` (a listing past its term counts as expired), open and
    overdue objections and repairs, undelivered notices, and the last maintenance run."""
    s = list_entry_state
    state = case(
        (and_(s.c.state == "listed", s.c.ends_on.isnot(None), s.c.ends_on <= now.date()), "expired"), else_=s.c.state
    )
    per_list: dict[str, dict[str, int]] = {}
    for list_id, st, n in conn.execute(select(s.c.list_id, state, func.count()).group_by(s.c.list_id, state)):
        per_list.setdefault(list_id, {})[st] = int(n)
    today = now.date()
    o_open = objections.outerjoin(objection_decisions, objection_decisions.c.objection_id == objections.c.id)
    r_open = repairs.outerjoin(repair_decisions, repair_decisions.c.repair_id == repairs.c.id)
    o_n, o_late = conn.execute(
        select(func.count(), func.count().filter(objections.c.due_on < today))
        .select_from(o_open)
        .where(objection_decisions.c.id.is_(None))
    ).one()
    r_n, r_late = conn.execute(
        select(func.count(), func.count().filter(repairs.c.due_on < today))
        .select_from(r_open)
        .where(repair_decisions.c.id.is_(None))
    ).one()
    last = conn.execute(select(maintenance_runs.c.now).order_by(maintenance_runs.c.id.desc()).limit(1)).scalar()
    return {
        "lists": per_list,
        "open_objections": int(o_n),
        "overdue_objections": int(o_late),
        "open_repairs": int(r_n),
        "overdue_repairs": int(r_late),
        "undelivered_notices": count(conn, notices, notices.c.delivered_at.is_(None)),
        "notice_delivery": delivery_counts(conn),  # ops: pending, delivered, dead
        "last_maintenance": last.isoformat() if last else None,
    }


def store_status(engine: Engine, now: datetime | None = None) -> dict[str, Any]:
    """Records (current versions), subjects, open unresolved records, rejects, per source, and due process."""
    now = now or datetime.now(UTC)
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
            "due_process": due_process_status(conn, now),
            "clock": clock_status(conn, now),
        }
