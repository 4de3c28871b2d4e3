"""What a reviewer reads of merges and splits: the proposals waiting, oldest first, and one proposal
with both subjects side by side (as a reviewer must see them to judge that they are one, or two),
what confirming it would move, and every decision on it with what that decision moved."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, tuple_

from xinyong.domain.errors import InvalidInput, NotFound
from xinyong.services.list_views import entries
from xinyong.store import clock
from xinyong.store import merges_repo as repo
from xinyong.store.merge_tables import subject_merge_decisions, subject_merge_proposals
from xinyong.store.tables import records, sources, subjects

PAGE_MAX = 200
SHOWN = 200  # records listed on a proposal's page, per list; the rest are counted (their sources are above)
P = subject_merge_proposals


def open_proposals(engine: Engine, *, limit: int = PAGE_MAX) -> list[dict[str, Any]]:
    """Merge and split proposals no decision stands on, oldest first, with both subjects' names."""
    if not 1 <= limit <= PAGE_MAX:
        raise InvalidInput(f"limit {limit}: give 1 to {PAGE_MAX}")
    kept, other = subjects.alias("kept"), subjects.alias("other")
    q = (
        select(
            P,
            kept.c.kind.label("subject_kind"),
            kept.c.display_name.label("subject_name"),
            other.c.display_name.label("other_name"),
        )
        .join(kept, kept.c.id == P.c.subject_id)
        .join(other, other.c.id == P.c.other_id)
        .where(repo.undecided())
        .order_by(P.c.at, P.c.id)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q.limit(limit))]


def _side(conn: Connection, subject_id: int, known: datetime) -> dict[str, Any]:
    """One subject as a reviewer compares it: kind, name, masked identifiers, current records by
    source, and the merge that absorbed it, if one stands."""
    s = conn.execute(select(subjects).where(subjects.c.id == subject_id)).one()
    by_source = conn.execute(
        select(records.c.source_id, sources.c.name, func.count().label("n"))
        .join(sources, sources.c.id == records.c.source_id)
        .where(records.c.subject_id == subject_id, records.c.superseded_at.is_(None))
        .group_by(records.c.source_id, sources.c.name)
        .order_by(records.c.source_id)
    )
    merged = repo.merge_standing(conn, known, absorbed=subject_id)
    return {
        "id": subject_id,
        "kind": s.kind,
        "name": s.display_name,
        "identifiers": [{"scheme": i.scheme, "masked": i.masked} for i in repo.identifiers_of(conn, subject_id)],
        "sources": [{"source_id": r.source_id, "source": r.name, "records": int(r.n)} for r in by_source],
        "merged_into": None if merged is None else int(merged.subject_id),
    }


def _would_move(conn: Connection, p: Any) -> list[dict[str, Any]]:
    """The records a confirmation would move, as the store holds them now; in a split that reverses
    a merge, a record changed since the merge moved it stays (`move_back`), and is marked so."""
    if p.action == "merge":
        rows = repo.current_records_of(conn, int(p.other_id))
        return [{"record": f"{r.source_id}/{r.source_ref}", "record_type": r.record_type, "stays": False} for r in rows]
    wanted: dict[tuple[str, str], int | None] = {}  # record -> the version the merge wrote, if reversing one
    if p.merge_id is not None:  # what that merge moved goes back, unless changed since
        wanted = {(m.source_id, m.source_ref): int(m.record_id) for m in repo.moves_of(conn, int(p.merge_id))}
    for ref in p.records or []:
        source_id, _, source_ref = ref.partition("/")
        wanted[(source_id, source_ref)] = None
    current = {}
    if wanted:
        q = select(records.c.id, records.c.source_id, records.c.source_ref, records.c.record_type).where(
            tuple_(records.c.source_id, records.c.source_ref).in_(list(wanted)), records.c.superseded_at.is_(None)
        )
        current = {(r.source_id, r.source_ref): r for r in conn.execute(q)}
    found = []
    for (source_id, source_ref), version in wanted.items():
        rec = current.get((source_id, source_ref))
        stays = version is not None and (rec is None or int(rec.id) != version)
        found.append({"record": f"{source_id}/{source_ref}", "record_type": rec.record_type if rec else None,
                      "stays": stays})  # fmt: skip
    return found


def _moved(conn: Connection, effect_id: int | None) -> list[dict[str, Any]]:
    if effect_id is None:
        return []
    return [
        {
            "record": f"{m.source_id}/{m.source_ref}",
            "from_subject": int(m.from_subject),
            "to_subject": int(m.to_subject),
        }
        for m in repo.moves_of(conn, effect_id)
    ]


def proposal(engine: Engine, proposal_id: int, now: datetime) -> dict[str, Any]:
    """One proposal: both subjects, the proposer's reason and document, what a confirmation would
    move (while it is open), and each decision with what it moved (an undo names the records that
    stayed because they changed since)."""
    with engine.connect() as conn:
        p = conn.execute(select(P).where(P.c.id == proposal_id)).first()
        if p is None:
            raise NotFound(f"no merge or split proposal {proposal_id}")
        standing = repo.standing_decision(conn, proposal_id)
        known = max(now, clock.known_at(conn))  # as the service reads merges: stamps may run ahead of now
        detail = dict(p._mapping)
        detail["sides"] = [_side(conn, int(p.subject_id), known), _side(conn, int(p.other_id), known)]
        detail["shown"] = SHOWN
        detail["open"] = standing is None
        detail["standing"] = None if standing is None else int(standing.id)
        detail["would_move"] = _would_move(conn, p) if standing is None else []
        merge_moves = None if p.merge_id is None else _moved(conn, int(p.merge_id))  # a split reversing it
        decisions = []
        for d in repo.decisions_on(conn, [proposal_id]):
            row = dict(d._mapping)
            row["moved"] = _moved(conn, d.effect_id)
            decisions.append(row)
    by_id = {d["id"]: d for d in decisions}
    for d in decisions:
        d["undone"] = any(u["reverses"] == d["id"] for u in decisions)
        # What the decision reversed moved, and this one did not move back, stayed (changed since).
        if d["reverses"] in by_id:
            before: list[dict[str, Any]] | None = by_id[d["reverses"]]["moved"]
        else:
            before = merge_moves if d["outcome"] == "confirm" else None
        if before is not None:
            back = {m["record"] for m in d["moved"]}
            d["kept"] = list(dict.fromkeys(m["record"] for m in before if m["record"] not in back))
    detail["decisions"] = decisions
    for side in detail["sides"]:
        side["entries"] = entries(engine, subject_id=side["id"], day=now.date())
    return detail


def proposal_of_decision(engine: Engine, decision_id: int) -> int:
    """The proposal a decision was taken on.

    Raises:
        NotFound: no such decision.
    """
    with engine.connect() as conn:
        q = select(subject_merge_decisions.c.proposal_id).where(subject_merge_decisions.c.id == decision_id)
        found = conn.scalar(q)
    if found is None:
        raise NotFound(f"no merge or split decision {decision_id}")
    return int(found)
