"""The writes of this package and the audit events they owe, each pair in one transaction.

The one place this package touches the audit chain: a report's row and its `issue_report`
event, a publication's rows and its `publish_open_data` event, are committed together or not at
all (`services.audit.append` inside the write's own transaction), so a report is handed out only
once both are stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, insert

from xinyong.services import audit
from xinyong.store.db import writing
from xinyong.store.report_tables import publication_changes, publications, reports


def store_report(engine: Engine, row: dict[str, Any], *, actor: str, purpose: str | None) -> None:
    """Store an issued report and its audit event (target: the report's code and subject)."""
    with writing(engine, dated=False) as conn:
        conn.execute(insert(reports).values(**row))
        audit.append(
            conn,
            actor=actor,
            action="issue_report",
            target=f"report:{row['code']} subject:{row['subject_id']}",
            purpose=purpose or "credit report",
            at=row["issued_at"],
        )


def store_publication(engine: Engine, row: dict[str, Any], changes: Sequence[dict[str, Any]], *, actor: str) -> int:
    """Store a publication, the changes it made and its audit event; its id."""
    with writing(engine, dated=False) as conn:
        publication_id = int(conn.execute(insert(publications).values(**row).returning(publications.c.id)).scalar_one())
        if changes:
            conn.execute(insert(publication_changes), [{**c, "publication_id": publication_id} for c in changes])
        audit.append(
            conn,
            actor=actor,
            action="publish_open_data",
            target=f"publication:{publication_id}",
            purpose="open data",
            at=row["created_at"],
        )
    return publication_id
