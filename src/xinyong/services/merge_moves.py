"""Moving records between subjects for a merge or split, and carrying a person's link forward.

Every move writes the next version of the record (`corrections.relink`), stamped by the knowledge
clock, so scores, lists and checks read as known before it see the record where it was, and a
row of `subject_merge_moves` that lets a later decision put it back exactly as it was. Each
version a person's decision linked carries that decision's mark (`record_links`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from xinyong.domain.records import revision_text
from xinyong.services.corrections import current_record, relink
from xinyong.store import clock
from xinyong.store import merges_repo as repo
from xinyong.store.linking_tables import subject_merges
from xinyong.store.merge_tables import record_links
from xinyong.store.tables import batches, records, unresolved
from xinyong.store.unit_of_work import AuditNote, UnitOfWork

CARRIED = " (carried to revision "


def move(conn: Connection, rec: Any, to: int, *, effect_id: int, mark: str, catalog_version: str, cause: str) -> int:
    """Link the current version `rec` to subject `to` by a person's decision; return the new version."""
    before = repo.marks(conn, [int(rec.id)]).get(int(rec.id))
    _, new_id = relink(conn, rec.source_id, rec.source_ref, catalog_version=catalog_version, cause=cause, link_to=to)
    repo.add_mark(conn, new_id, mark, clock.advance(conn))
    repo.add_move(
        conn, effect_id=effect_id, source_id=rec.source_id, source_ref=rec.source_ref, from_subject=rec.subject_id,
        from_method=rec.link_method, from_mark=before, to_subject=to, record_id=new_id,
    )  # fmt: skip
    return new_id


def move_back(
    conn: Connection, undone: int, effect_id: int, *, catalog_version: str, cause: str
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
            conn, m.source_id, m.source_ref, catalog_version=catalog_version, cause=cause,
            link_to=int(m.from_subject), link_method=m.from_method,
        )  # fmt: skip
        if m.from_mark:
            repo.add_mark(conn, new_id, m.from_mark, clock.advance(conn))
        repo.add_move(
            conn, effect_id=effect_id, source_id=m.source_id, source_ref=m.source_ref, from_subject=m.to_subject,
            from_method=rec.link_method, from_mark=repo.marks(conn, [int(rec.id)]).get(int(rec.id)),
            to_subject=m.from_subject, record_id=new_id,
        )  # fmt: skip
        back += 1
    return back, kept


def carry_after_batch(engine: Engine, batch_id: int) -> set[int]:
    """After an ingestion batch has committed, keep the links people made, in a transaction of
    its own. A department's new revision of a record a person linked comes in without a valid
    identifier (else ingestion links it itself) and so unresolved: it is linked to the same
    subject again, with the same decision's mark. A record the batch linked by identifier to a
    subject a merge absorbed moves to the survivor. Returns the subjects whose records changed;
    their scores follow with the batch's own rescore (the new versions are stamped after the
    batch's). While nobody ever linked or merged by decision it costs two one-row reads, and no
    write transaction (which would take the writers' lock, and on PostgreSQL the knowledge clock)."""
    with UnitOfWork.reading(engine) as conn:
        linked = conn.execute(select(record_links.c.record_id).limit(1)).first() is not None
        merged = conn.execute(select(subject_merges.c.id).limit(1)).first() is not None
    if not (linked or merged):
        return set()
    with UnitOfWork.writing(engine) as uow:
        version = uow.conn.scalar(select(batches.c.catalog_version).where(batches.c.id == batch_id))
        if version is None:
            return set()
        touched = _carry_links(uow.conn, batch_id, str(version)) if linked else set()
        if merged:
            touched |= _follow_merges(uow.conn, batch_id, str(version))
        if touched:
            uow.audit(AuditNote("system:linking", "carry_links", "due process"), f"batch:{batch_id}")
    return touched


def _carry_links(conn: Connection, batch_id: int, catalog_version: str) -> set[int]:
    prev = records.alias("prev")
    q = (
        select(records.c.id, records.c.source_id, records.c.source_ref, records.c.revision, prev.c.subject_id,
               repo.mark_of(prev.c.id).label("mark"), prev.c.revision.label("prev_revision"),
               prev.c.version.label("prev_version"))
        .select_from(records.join(prev, prev.c.id == _replaced()))
        .where(records.c.batch_id == batch_id, records.c.superseded_at.is_(None), records.c.subject_id.is_(None),
               prev.c.link_method == "confirmed")
    )  # fmt: skip
    touched: set[int] = set()
    for rid, source_id, source_ref, revision, subject_id, mark, prev_revision, prev_version in conn.execute(q).all():
        if mark is None:
            continue
        conn.execute(
            update(unresolved)
            .where(unresolved.c.record_id == rid, unresolved.c.resolved_at.is_(None))
            .values(resolved_at=clock.advance(conn), resolution="carried")
        )
        cause = f"link of {revision_text(prev_revision, prev_version)} carried"
        _, new_id = relink(
            conn, source_id, source_ref, catalog_version=catalog_version, cause=cause, link_to=subject_id
        )
        repo.add_mark(conn, new_id, f"{str(mark).split(CARRIED)[0]}{CARRIED}{revision})", clock.advance(conn))
        touched.add(int(subject_id))
    return touched


def _replaced() -> Any:
    """The id of the version a batch's row of `records` replaced: of the same reference, the
    latest below the department's revision (the platform's versions of a revision keep its
    number, so the one before may be of revision 1 while the batch brings revision 2 or 5)."""
    before = records.alias("before")
    return (
        select(before.c.id)
        .where(before.c.source_id == records.c.source_id, before.c.source_ref == records.c.source_ref,
               before.c.revision < records.c.revision)
        .order_by(before.c.revision.desc(), before.c.version.desc())
        .limit(1)
        .correlate(records)
        .scalar_subquery()
    )  # fmt: skip


def _follow_merges(conn: Connection, batch_id: int, catalog_version: str) -> set[int]:
    # as the platform knows now (the batch's own stamp may be ahead of the wall clock)
    known = clock.known_at(conn)
    merge_id = (
        select(subject_merges.c.id)
        .where(subject_merges.c.merged_id == records.c.subject_id, repo.standing(known))
        .order_by(subject_merges.c.id.desc())
        .limit(1)
        .correlate(records)
        .scalar_subquery()
    )
    q = select(records.c.id, merge_id.label("merge_id")).where(
        records.c.batch_id == batch_id, records.c.superseded_at.is_(None), merge_id.isnot(None)
    )
    touched: set[int] = set()
    for rid, mid in conn.execute(q).all():  # only the batch's records of merged-away subjects
        rec = conn.execute(select(records).where(records.c.id == rid)).one()
        m = conn.execute(select(subject_merges).where(subject_merges.c.id == mid)).one()
        mark = _effect_mark(conn, int(m.id))
        move(conn, rec, int(m.subject_id), effect_id=int(m.id), mark=mark, catalog_version=catalog_version,
             cause=f"subject merge {m.id} followed")  # fmt: skip
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
