"""Moving records between subjects for a merge or split, and carrying a person's link forward.

Every move writes the next version of the record (`corrections.relink`), stamped by the knowledge
clock, so scores, lists and checks read as known before it see the record where it was, and a
row of `subject_merge_moves` that lets a later decision put it back exactly as it was. Each
version a person's decision linked carries that decision's mark (`record_links`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select, update
from sqlalchemy.orm import aliased

from xinyong.services.corrections import current_record, relink
from xinyong.store import clock
from xinyong.store import merges_repo as repo
from xinyong.store.tables import batches, records, unresolved

CARRIED = " (carried to revision "


def move(
    conn: Connection, rec: Any, to: int, *, effect_id: int, mark: str, catalog_version: str, now: datetime, cause: str
) -> int:
    """Link the current version `rec` to subject `to` by a person's decision; return the new version."""
    before = repo.marks(conn, [int(rec.id)]).get(int(rec.id))
    _, new_id = relink(
        conn, rec.source_id, rec.source_ref, catalog_version=catalog_version, now=now, cause=cause, link_to=to
    )
    repo.add_mark(conn, new_id, mark, now)
    repo.add_move(
        conn, effect_id=effect_id, source_id=rec.source_id, source_ref=rec.source_ref, from_subject=rec.subject_id,
        from_method=rec.link_method, from_mark=before, to_subject=to, record_id=new_id,
    )  # fmt: skip
    return new_id


def move_back(
    conn: Connection, undone: int, effect_id: int, *, catalog_version: str, now: datetime, cause: str
) -> tuple[int, list[str]]:
    """Put back every record the effect `undone` moved, as it was linked before; records changed
    since (corrected, unlinked by an objection, moved again) stay and are named."""
    back, kept = 0, []
    for m in repo.moves_of(conn, undone):
        rec = current_record(conn, m.source_id, m.source_ref, lock=True)
        if int(rec.id) != int(m.record_id):
            kept.append(f"{m.source_id}/{m.source_ref}")
            continue
        _, new_id = relink(
            conn, m.source_id, m.source_ref, catalog_version=catalog_version, now=now, cause=cause,
            link_to=int(m.from_subject), link_method=m.from_method,
        )  # fmt: skip
        if m.from_mark:
            repo.add_mark(conn, new_id, m.from_mark, now)
        repo.add_move(
            conn, effect_id=effect_id, source_id=m.source_id, source_ref=m.source_ref, from_subject=m.to_subject,
            from_method=rec.link_method, from_mark=repo.marks(conn, [int(rec.id)]).get(int(rec.id)),
            to_subject=m.from_subject, record_id=new_id,
        )  # fmt: skip
        back += 1
    return back, kept


def carry_for_batch(conn: Connection, batch_id: int, now: datetime) -> set[int]:
    """After an ingestion batch: keep the links people made. A department's new revision of a
    record a person linked comes in without a valid identifier (else ingestion links it itself)
    and so unresolved: it is linked to the same subject again, with the same decision's mark. A
    record the batch linked by identifier to a subject a merge absorbed moves to the survivor.
    Returns the subjects whose records changed."""
    version = conn.scalar(select(batches.c.catalog_version).where(batches.c.id == batch_id))
    if version is None:
        return set()
    touched = _carry_links(conn, batch_id, str(version), now)
    return touched | _follow_merges(conn, batch_id, str(version), now)


def _carry_links(conn: Connection, batch_id: int, catalog_version: str, now: datetime) -> set[int]:
    prev = aliased(records, name="prev")
    q = (
        select(records.c.id, records.c.source_id, records.c.source_ref, records.c.revision, prev.c.subject_id,
               repo.mark_of(prev.c.id).label("mark"))
        .join(prev, and_(prev.c.source_id == records.c.source_id, prev.c.source_ref == records.c.source_ref,
                         prev.c.revision == records.c.revision - 1))
        .where(records.c.batch_id == batch_id, records.c.superseded_at.is_(None), records.c.subject_id.is_(None),
               prev.c.link_method == "confirmed")
    )  # fmt: skip
    touched: set[int] = set()
    for rid, source_id, source_ref, revision, subject_id, mark in conn.execute(q).all():
        if mark is None:
            continue
        conn.execute(
            update(unresolved)
            .where(unresolved.c.record_id == rid, unresolved.c.resolved_at.is_(None))
            .values(resolved_at=now, resolution="carried")
        )
        cause = f"link of revision {revision - 1} carried"
        _, new_id = relink(
            conn, source_id, source_ref, catalog_version=catalog_version, now=now, cause=cause, link_to=subject_id
        )
        repo.add_mark(conn, new_id, f"{str(mark).split(CARRIED)[0]}{CARRIED}{revision})", now)
        touched.add(int(subject_id))
    return touched


def _follow_merges(conn: Connection, batch_id: int, catalog_version: str, now: datetime) -> set[int]:
    q = select(records).where(
        records.c.batch_id == batch_id, records.c.superseded_at.is_(None), records.c.subject_id.isnot(None)
    )
    fresh = list(conn.execute(q))
    # as the platform knows now (the batch's own stamp may be ahead of the wall clock)
    merged = repo.absorbed_now(conn, clock.known_at(conn), (int(r.subject_id) for r in fresh))
    touched: set[int] = set()
    for rec in fresh:
        m = merged.get(int(rec.subject_id))
        if m is None:
            continue
        mark = _effect_mark(conn, int(m.id))
        move(conn, rec, int(m.subject_id), effect_id=int(m.id), mark=mark, catalog_version=catalog_version,
             now=now, cause=f"subject merge {m.id} followed")  # fmt: skip
        touched |= {int(m.subject_id), int(rec.subject_id)}
    return touched


def mark_text(action: str, decision_id: int, at: datetime) -> str:
    """The words every explanation prints for a link a merge or split decision made."""
    return f"{action} decision {decision_id} on {at.date().isoformat()}"


def _effect_mark(conn: Connection, effect_id: int) -> str:
    """The mark of the decision that made a merge."""
    from xinyong.store.merge_tables import subject_merge_decisions as d

    row = conn.execute(select(d.c.id, d.c.at).where(d.c.effect_id == effect_id).order_by(d.c.id).limit(1)).first()
    return f"merge {effect_id}" if row is None else mark_text("merge", int(row.id), row.at)
