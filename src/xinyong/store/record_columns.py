"""The columns and condition every read of record versions shares: the fields of a RecordFact, and
the version of each record known at a moment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, and_, or_

from xinyong.store.tables import records


def known_versions(known_at: datetime | BindParameter[datetime]) -> Any:
    """The condition selecting, of every record, the version known at `known_at`."""
    return and_(
        records.c.recorded_at <= known_at,
        or_(records.c.superseded_at.is_(None), records.c.superseded_at > known_at),
        records.c.subject_id.isnot(None),
    )


# The columns of a RecordFact, in its order; other columns may follow them in a query.
FACT_COLUMNS = (
    records.c.id,
    records.c.record_type,
    records.c.decided_on,
    records.c.valid_from,
    records.c.valid_until,
    records.c.attributes,
    records.c.status,
    records.c.source_id,
    records.c.source_ref,
)
