"""What a consuming department may read back: its own checks, newest first.

Only reads; a consumer is matched by the actor its key acts as, so no key reads another's checks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from xinyong.store.tables import checks


def checks_of(engine: Engine, consumer: str, *, start: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """(the page of the consumer's checks from position `start`, how many it has in all)."""
    c = checks.c
    q = (
        select(c.id, c.created_at, c.context, c.purpose, c.subject_id, c.id_scheme, c.id_masked, c.outcome)
        .where(c.consumer == consumer)
        .order_by(c.created_at.desc(), c.id.desc())
        .offset(start)
        .limit(limit)
    )
    with engine.connect() as conn:
        total = int(conn.scalar(select(func.count()).select_from(checks).where(c.consumer == consumer)) or 0)
        rows = conn.execute(q).all()
    return [
        {
            "check_id": r.id,
            "issued_at": r.created_at,
            "context": r.context,
            "purpose": r.purpose,
            "subject_id": r.subject_id,
            "subject_identifier": f"{r.id_scheme} {r.id_masked}" if r.id_scheme else "",
            "outcome": r.outcome,
            "certificate_url": f"/v1/checks/{r.id}/certificate",
        }
        for r in rows
    ], total
