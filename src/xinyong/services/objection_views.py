"""What objections show: the open disputes of a subject, and objections with their outcome.

A target under open objection is disputed from the moment the objection is filed until it is
decided; every view of a record, score or entry asks `disputes_of` to mark it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select

from xinyong.domain.disputes import Outcome, TargetKind, suspension
from xinyong.domain.errors import NotFound
from xinyong.store.objection_reads import DECISION_COLUMNS, open_objections, open_objections_of
from xinyong.store.tables import objection_decisions, objections


@dataclass
class Disputes:
    """What of a subject's file is under open objection: shown and flagged wherever it is used."""

    records: set[tuple[str, str]] = field(default_factory=set)
    links: set[tuple[str, str]] = field(default_factory=set)
    entries: set[int] = field(default_factory=set)
    scores: set[int] = field(default_factory=set)
    # (objection id, decision deadline) of each open objection, by target, where the read asked for them
    deadlines: dict[str, list[tuple[int, date]]] = field(default_factory=dict)

    def suspended(self, target: str, day: date) -> str | None:
        """Why the target (`record:SRC/REF` or `entry:ID`) cannot be used on `day`, or None."""
        for objection_id, due_on in self.deadlines.get(target, ()):
            why = suspension(objection_id, target, due_on, day)
            if why is not None:
                return why
        return None

    def record_disputed(self, source_id: str, source_ref: str) -> bool:
        return (source_id, source_ref) in self.records or (source_id, source_ref) in self.links


_OPEN_OBJECTIONS_OF_SUBJECT = open_objections_of(bindparam("subject_id"))


def disputes_of(conn: Connection, subject_id: int) -> Disputes:
    return disputes_from(conn.execute(_OPEN_OBJECTIONS_OF_SUBJECT, {"subject_id": subject_id}))


def disputes_from(rows: Iterable[Sequence[Any]]) -> Disputes:
    """The disputes of a subject from the DISPUTE_COLUMNS of its open objections."""
    d = Disputes()
    for row in rows:
        kind, src, ref, entry_id, score_id = row[:5]
        target = f"{kind}:{src}/{ref}"
        if kind == TargetKind.RECORD:
            d.records.add((src, ref))
        elif kind == TargetKind.LINK:
            d.links.add((src, ref))
        elif kind == TargetKind.ENTRY:
            d.entries.add(int(entry_id))
            target = f"entry:{int(entry_id)}"
        else:
            d.scores.add(int(score_id))
        if len(row) > 5:  # DEADLINE_COLUMNS: a link objection suspends what rests on the record too
            target = f"record:{src}/{ref}" if kind == TargetKind.LINK else target
            due = row[6] if isinstance(row[6], date) else date.fromisoformat(str(row[6]))
            d.deadlines.setdefault(target, []).append((int(row[5]), due))
    return d


def objection_rows(
    engine: Engine,
    *,
    state: str | None = None,
    subject_id: int | None = None,
    today: date | None = None,
    limit: int = 200,
    objection_id: int | None = None,
    appeal_of: int | None = None,
) -> list[dict[str, Any]]:
    """Objections with their outcome; state: open, overdue or decided."""
    q = select(objections, *DECISION_COLUMNS).select_from(open_objections()).order_by(objections.c.id).limit(limit)
    if subject_id is not None:
        q = q.where(objections.c.subject_id == subject_id)
    if objection_id is not None:
        q = q.where(objections.c.id == objection_id)
    if appeal_of is not None:
        q = q.where(objections.c.appeal_of == appeal_of)
    if state in ("open", "overdue"):
        q = q.where(objection_decisions.c.id.is_(None))
    if state == "overdue":
        q = q.where(objections.c.due_on < today)
    if state == "decided":
        q = q.where(objection_decisions.c.id.isnot(None))
    with engine.connect() as conn:
        return [_shown(r) for r in conn.execute(q)]


def _shown(r: Any) -> dict[str, Any]:
    """A row as the views show it: its state in words and, for an owner's answer, the number of the
    owner's own decision document (kept with the decision's remedy); the remedy itself stays inside."""
    row = {k: v for k, v in r._mapping.items() if k != "remedy"}
    maintained = r.outcome == Outcome.OWNER_MAINTAINED and isinstance(r.remedy, dict)
    return {**row, "state": objection_state(r), "reference": r.remedy.get("reference") if maintained else None}


def objection_state(row: Any) -> str:
    """In words: open, forwarded to the source that owns the list, or how it was decided or closed."""
    if row.outcome is None:
        return f"forwarded to {row.forwarded_to}" if row.forwarded_to else "open"
    if row.outcome == "owner_resolved":
        return f"resolved by its owner ({str(row.decided_by).removeprefix('source:')})"
    if row.outcome == "entry_ended":
        return f"closed: the entry ended before its owner ({row.forwarded_to}) decided"
    if row.outcome == Outcome.OWNER_MAINTAINED:
        return f"answered by its owner ({str(row.decided_by).removeprefix('source:')}): the record stands"
    return str(row.outcome)


def objection_detail(engine: Engine, objection_id: int) -> dict[str, Any]:
    """One objection with its decision, and its appeal if there is one."""
    rows = {r["id"]: r for r in objection_rows(engine, objection_id=objection_id)}
    if objection_id not in rows:
        raise NotFound(f"no objection {objection_id}")
    detail = rows[objection_id]
    appeals = objection_rows(engine, appeal_of=objection_id)
    detail["appeal"] = appeals[0] if appeals else None
    return detail


# open_objections: read here by the service of objections (it lives with the store's reads).
__all__ = ["Disputes", "disputes_from", "disputes_of", "objection_detail", "objection_rows", "open_objections"]
