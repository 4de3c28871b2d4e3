"""The writes of this package and the audit events they owe, each pair in one transaction.

The one place this package touches the audit chain: a report's row and its `issue_report`
event, a publication's rows and its `publish_open_data` event, are committed together or not at
all (the event registered in the write's unit of work), so a report is handed out,
or a publication's files put in place, only once both are stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, insert

from xinyong.store.bulk import allocate_ids
from xinyong.store.report_tables import publication_changes, publications, reports
from xinyong.store.unit_of_work import AuditEvent, UnitOfWork


def store_report(engine: Engine, row: dict[str, Any], *, actor: str, purpose: str | None) -> None:
    """Store an issued report and its audit event (target: the report's code and subject)."""
    with UnitOfWork.writing(engine, dated=False) as uow:
        uow.conn.execute(insert(reports).values(**row))
        target = f"report:{row['code']} subject:{row['subject_id']}"
        uow.audit(AuditEvent(actor, "issue_report", target, purpose or "credit report", row["issued_at"]))


def store_publication(
    engine: Engine,
    row: dict[str, Any],
    changes: Sequence[dict[str, Any]],
    manifest_of: Callable[[int], tuple[bytes, bytes]],
    *,
    actor: str,
) -> tuple[int, bytes, bytes]:
    """Store a publication (its manifest and signature made for the id it gets), the changes it
    made and its audit event; (its id, manifest, signature)."""
    with UnitOfWork.writing(engine, dated=False) as uow:
        conn = uow.conn
        [publication_id] = allocate_ids(conn, publications, 1)
        manifest, signature = manifest_of(publication_id)
        conn.execute(
            insert(publications).values(
                id=publication_id, manifest=manifest.decode(), signature=signature.decode(), **row
            )
        )
        if changes:
            conn.execute(insert(publication_changes), [{**c, "publication_id": publication_id} for c in changes])
        uow.audit(
            AuditEvent(actor, "publish_open_data", f"publication:{publication_id}", "open data", row["created_at"])
        )
    return publication_id, manifest, signature
