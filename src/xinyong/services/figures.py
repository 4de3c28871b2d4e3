"""Figures the store holds for operators: what the metrics show and readiness checks.

Read at the moment they are asked for (a scrape), so every process and replica shows the same
numbers, those of the store, whoever ingested, decided or delivered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, text

from xinyong.services.status import due_process_status
from xinyong.store.ops_tables import scheduled_jobs
from xinyong.store.tables import audit_events, batches


def store_figures(engine: Engine, now: datetime) -> dict[str, Any]:
    """Rows ingested (accepted, rejected), the audit chain's length and last event, due
    process (overdue objections and repairs, notices by delivery state), scheduled jobs."""
    with engine.connect() as conn:
        accepted, rejected = conn.execute(
            select(func.coalesce(func.sum(batches.c.accepted), 0), func.coalesce(func.sum(batches.c.rejected), 0))
        ).one()
        chain, last_event = conn.execute(select(func.count(), func.max(audit_events.c.at))).one()
        jobs = [dict(r._mapping) for r in conn.execute(select(scheduled_jobs))]
        due = due_process_status(conn, now)
    return {
        "ingest_rows": {"accepted": int(accepted), "rejected": int(rejected)},
        "audit_events": int(chain),
        "audit_last_event_at": last_event,
        "overdue_objections": due["overdue_objections"],
        "overdue_repairs": due["overdue_repairs"],
        "open_objections": due["open_objections"],
        "open_repairs": due["open_repairs"],
        "notices": due["notice_delivery"],
        "jobs": jobs,
    }


def reachable(engine: Engine) -> None:
    """One round trip to the store; raises what the driver raises when it cannot be reached."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
