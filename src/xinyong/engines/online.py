"""The online engine: a subject's score from its record versions known at a moment, in this process."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.scoring import RecordFact, score_subject
from xinyong.store.record_columns import FACT_COLUMNS, known_versions
from xinyong.store.tables import records, subjects


def facts_of(conn: Connection, subject_id: int, known_at: datetime) -> list[RecordFact]:
    q = select(*FACT_COLUMNS).where(records.c.subject_id == subject_id, known_versions(known_at))
    return [RecordFact(*row) for row in conn.execute(q)]


def online_rows(
    conn: Connection, catalog: Catalog, subject_ids: Sequence[int] | None, as_of: date, known_at: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    sq = select(subjects.c.id, subjects.c.kind)
    if subject_ids is not None:
        sq = sq.where(subjects.c.id.in_(subject_ids))
    score_rows, contribution_rows = [], []
    for sid, kind in conn.execute(sq).all():
        s = score_subject(catalog, kind, facts_of(conn, sid, known_at), as_of)
        score_rows.append(
            {
                "subject_id": sid,
                "subject_kind": kind,
                "status": s.status,
                "ruleset_id": s.ruleset_id,
                "ruleset_version": s.ruleset_version,
                "points_cp": s.points_cp,
                "grade": s.grade,
            }
        )
        contribution_rows += [{"subject_id": sid, **c.as_dict()} for c in s.contributions]
    return score_rows, contribution_rows
