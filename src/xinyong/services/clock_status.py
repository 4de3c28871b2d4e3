"""Whether the store's stamps ran ahead of the real clock, and how to repair it.

A store written by an older release with `--now` in the future keeps a knowledge clock, and
records and audit events stamped, ahead of the real time: records ingested since are stamped
after that moment, and checks made until then miss them. `xinyong status` says so, with the
repair.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from xinyong.store.tables import audit_events, checks, data_clock, records


def clock_status(conn: Connection, now: datetime) -> dict[str, Any]:
    """The latest stamp of each kind, and whether any is ahead of `now` (with the repair)."""
    latest = {
        "knowledge_clock": conn.scalar(select(func.max(data_clock.c.stamp))),
        "records": conn.scalar(select(func.max(records.c.recorded_at))),
        "audit_events": conn.scalar(select(func.max(audit_events.c.at))),
        "checks": conn.scalar(select(func.max(checks.c.created_at))),
    }
    ahead = {k: v for k, v in latest.items() if v is not None and v > now}
    found: dict[str, Any] = {
        "ahead": bool(ahead),
        "latest": {k: v.isoformat() if v else None for k, v in latest.items()},
    }
    if ahead:
        worst = max(ahead.values())
        found["problem"] = (
            f"the store's stamps run ahead of the real clock ({', '.join(sorted(ahead))}, up to {worst.isoformat()}): "
            "records written since are stamped after that moment, and checks made until then miss them"
        )
        found["repair"] = (
            "stop every writer; restore the last backup taken before the first stamp ahead of the clock "
            "(`xinyong restore BACKUP`) and ingest the department files received since, once more; "
            "from this release on a write with --now ahead of the clock is refused"
        )
    return found
