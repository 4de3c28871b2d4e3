"""What a reviewer's decision will change, shown before it is taken.

Read-only: each preview reads the item, the list entries resting on its record, and the
subject's record versions, and computes the score the subject would have after the remedy with
the same scoring function the decision's rescore uses. Effects are data (a code and its
values), so that each entrypoint words them in its own language.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.disputes import TargetKind, appeal_until
from xinyong.domain.errors import NotFound
from xinyong.domain.lists import PENDING, State
from xinyong.domain.scoring import RecordFact, score_subject
from xinyong.services.lists import current_view, entry_row
from xinyong.services.repairs import assess
from xinyong.services.scoring import facts_of
from xinyong.store.tables import list_entries, list_entry_state, objections, repairs, subjects

ALIVE = tuple(s.value for s in (*PENDING, State.LISTED))


def _resting_on(conn: Connection, source_id: str, source_ref: str) -> list[dict[str, Any]]:
    """The entries in progress or in force whose ground is this record."""
    q = (
        select(list_entries.c.id, list_entries.c.list_id, list_entry_state.c.state)
        .join(list_entry_state, list_entry_state.c.entry_id == list_entries.c.id)
        .where(
            list_entries.c.source_id == source_id,
            list_entries.c.source_ref == source_ref,
            list_entry_state.c.state.in_(ALIVE),
        )
        .order_by(list_entries.c.id)
    )
    return [dict(r._mapping) for r in conn.execute(q)]


def _grade(score: Any) -> dict[str, Any]:
    return {"status": score.status, "points": score.points, "grade": score.grade}


def _scores(
    conn: Connection, catalog: Catalog, subject_id: int, now: datetime, without: tuple[str, str] | None
) -> dict[str, Any]:
    """The subject's score now, and without the given record (revoked, unlinked or repaired)."""
    kind = conn.scalar(select(subjects.c.kind).where(subjects.c.id == subject_id))
    if kind is None:
        raise NotFound(f"no subject {subject_id}")
    facts = facts_of(conn, subject_id, now)
    before = score_subject(catalog, kind, facts, now.date())
    kept: list[RecordFact] = [
        f if (f.source_id, f.source_ref) != without else replace(f, status="revoked") for f in facts
    ]
    after = score_subject(catalog, kind, kept, now.date())
    return {"before": _grade(before), "after": _grade(after)}


def preview_entry(engine: Engine, catalog: Catalog, entry_id: int, now: datetime) -> dict[str, Any]:
    """A proposal: approving notifies the subject and starts the notice period; rejecting withdraws it."""
    with engine.connect() as conn:
        e = entry_row(conn, entry_id)
        view = current_view(conn, entry_id, lock=False)
    listing = catalog.lists[e.list_id]
    return {
        "state": view.state.value,
        "approve": [
            {"code": "notify", "days": listing.notice_days},
            {"code": "list_after_notice", "months": listing.term_months, "public": listing.public},
        ],
        "reject": [{"code": "withdraw"}],
    }


def _objection_target(conn: Connection, objection_id: int) -> Any:
    o = conn.execute(select(objections).where(objections.c.id == objection_id)).first()
    if o is None:
        raise NotFound(f"no objection {objection_id}")
    return o


def preview_objection(engine: Engine, catalog: Catalog, objection_id: int, now: datetime) -> dict[str, Any]:
    """What upholding and what dismissing an objection will change; nothing, for an objection
    forwarded to the source that owns the list (only its own record decides it: `forwarded_to`)."""
    with engine.connect() as conn:
        o = _objection_target(conn, objection_id)
        kind = TargetKind(o.target_kind)
        if o.forwarded_to is not None:
            return {
                "target_kind": kind.value,
                "forwarded_to": o.forwarded_to,
                "uphold": [],
                "dismiss": [],
                "scores": None,
            }
        uphold: list[dict[str, Any]] = []
        dismiss: list[dict[str, Any]] = []
        scores: dict[str, Any] | None = None
        if kind in (TargetKind.RECORD, TargetKind.LINK):
            record = (str(o.source_id), str(o.source_ref))
            uphold.append(
                {"code": "revoke_or_correct" if kind is TargetKind.RECORD else "unlink", "record": "/".join(record)}
            )
            uphold += [
                {"code": "end_entry", "entry": r["id"], "list": r["list_id"]} for r in _resting_on(conn, *record)
            ]
            scores = _scores(conn, catalog, int(o.subject_id), now, record)
            uphold.append({"code": "tell_source", "source": record[0]})
        elif kind is TargetKind.ENTRY:
            state = current_view(conn, int(o.entry_id), lock=False).state
            uphold.append(
                {"code": "end_entry", "entry": int(o.entry_id), "list": entry_row(conn, int(o.entry_id)).list_id}
            )
            if state is State.OBJECTED:
                dismiss.append({"code": "back_to_notice", "entry": int(o.entry_id)})
        else:
            uphold.append({"code": "rescore"})
    uphold.append({"code": "rescore"} if kind is not TargetKind.SCORE else {"code": "tell_subject"})
    dismiss.append(
        {"code": "no_appeal"}
        if o.appeal_of is not None
        else {"code": "appeal_until", "until": appeal_until(catalog.procedure, now.date())}
    )
    return {"target_kind": kind.value, "uphold": uphold, "dismiss": dismiss, "scores": scores}


def preview_repair(engine: Engine, catalog: Catalog, repair_id: int, now: datetime) -> dict[str, Any]:
    """What approving a repair request will change, and what a refusal would name as unmet today."""
    today: date = now.date()
    with engine.connect() as conn:
        r = conn.execute(select(repairs).where(repairs.c.id == repair_id)).first()
        if r is None:
            raise NotFound(f"no repair request {repair_id}")
        a = assess(conn, catalog, r, today, obligation_met=r.evidence_ref is not None)
        record = (str(r.source_id), str(r.source_ref))
        approve: list[dict[str, Any]] = [{"code": "repaired", "record": "/".join(record)}]
        approve += [{"code": "end_entry", "entry": e["id"], "list": e["list_id"]} for e in _resting_on(conn, *record)]
        approve.append({"code": "rescore"})
        scores = _scores(conn, catalog, int(r.subject_id), now, record)
    return {
        "eligible": a.eligible,
        "unmet": [u.value for u in a.unmet],
        "served_on": a.served_on,
        "approve": approve,
        "refuse": [{"code": "reapply", "on": a.served_on if not a.eligible and a.reapply_on else today}],
        "scores": scores,
    }
