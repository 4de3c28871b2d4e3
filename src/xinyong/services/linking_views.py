"""What a reviewer reads: open match proposals best first, one proposal with every candidate of its
record (a namesake is never shown alone), and the judgements of a record."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, case, select

from xinyong.domain.errors import InvalidInput, NotFound
from xinyong.store import linking_repo as repo
from xinyong.store.linking_tables import link_judgements, link_proposals
from xinyong.store.tables import records, subjects

PAGE_MAX = 200
COMPARISONS = ("name", "identifier", "document", "source")


def _row(p: Any) -> dict[str, Any]:
    out = {k: v for k, v in p._mapping.items() if k != "explanation"}
    explanation = p.explanation if isinstance(p.explanation, dict) else {}
    out["explanation"] = {name: explanation.get(name) for name in COMPARISONS if name in explanation}
    out["evidence"] = "; ".join(
        f"{name}: {entry.get('text')} ({entry.get('weight', 0):+.1f})"
        for name, entry in out["explanation"].items()
        if isinstance(entry, dict)
    )
    return out


def _columns() -> list[Any]:
    return [
        link_proposals,
        subjects.c.display_name.label("subject_name"),
        records.c.subject_name.label("record_name"),
        records.c.record_type,
        records.c.document_no,
        records.c.id_masked,
    ]


def _joined(q: Any) -> Any:
    return q.join(subjects, subjects.c.id == link_proposals.c.subject_id).join(
        records, records.c.id == link_proposals.c.record_id
    )


def open_proposals(engine: Engine, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """Open proposals, best first: high priority, then probability; with their evidence."""
    if not 1 <= limit <= PAGE_MAX:
        raise InvalidInput(f"limit {limit}: give 1 to {PAGE_MAX}")
    if offset < 0:
        raise InvalidInput(f"offset {offset}: give 0 or more")
    high_first = case((link_proposals.c.priority == "high", 0), else_=1)
    q = _joined(select(*_columns())).where(repo.open_proposals())
    q = q.order_by(high_first, link_proposals.c.probability.desc(), link_proposals.c.id).limit(limit).offset(offset)
    with engine.connect() as conn:
        items = [_row(p) for p in conn.execute(q)]
        total = repo.count_open(conn)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def proposal(engine: Engine, proposal_id: int) -> dict[str, Any]:
    """One proposal, every other open candidate of the same record, and the record's judgements."""
    with engine.connect() as conn:
        p = conn.execute(_joined(select(*_columns())).where(link_proposals.c.id == proposal_id)).first()
        if p is None:
            raise NotFound(f"no match proposal {proposal_id}")
        others = conn.execute(
            _joined(select(*_columns()))
            .where(
                link_proposals.c.record_id == p.record_id,
                link_proposals.c.id != proposal_id,
                repo.open_proposals(),
            )
            .order_by(link_proposals.c.probability.desc(), link_proposals.c.id)
        )
        judgements = conn.execute(
            select(link_judgements)
            .where(link_judgements.c.source_id == p.source_id, link_judgements.c.source_ref == p.source_ref)
            .order_by(link_judgements.c.id)
        )
        detail = _row(p)
        detail["other_candidates"] = [_row(o) for o in others]
        detail["judgements"] = [dict(j._mapping) for j in judgements]
        still = select(link_proposals.c.id).where(link_proposals.c.id == proposal_id, repo.open_proposals())
        detail["open"] = conn.execute(still).first() is not None
    return detail


def what_it_changes(detail: dict[str, Any], outcome: str) -> str:
    """The effect of a decision on this proposal, in a sentence the reviewer reads before deciding."""
    record = f"record {detail['source_id']}/{detail['source_ref']}"
    subject = f"subject {detail['subject_id']}"
    if outcome == "confirm":
        others = len(detail.get("other_candidates", ()))
        rest = f"; the {others} other candidate(s) of the record close" if others else ""
        return (
            f"{record} is linked to {subject} from the moment of the judgement: it counts in the subject's "
            f"score, lists and checks from then on (checks made before stay as they were), and the subject "
            f"is told and may object{rest}."
        )
    if outcome == "reject":
        return f"{subject} is never proposed for {record} again; the record stays unresolved and counts nowhere."
    return f"nothing changes: {record} stays unresolved and the proposal stays in the queue."
