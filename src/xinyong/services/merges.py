"""Merges and splits of subjects: proposed, decided by another reviewer, undone by a later decision.

A merge says two subject rows are one person or organisation (one person under two identifiers
after an identifier change, a company entered twice). Subject ids never change: the absorbed
subject's records move to the survivor by new versions stamped by the knowledge clock (so a check
replayed before the decision sees the two apart), and the absorbed id resolves to the survivor
from then on (`merges_repo.survivor_of`). A split reverses a merge, or moves named records off a
subject onto another. Every step is an appended row; nothing is changed in place. Each record a
decision moved carries its mark ("merge decision 4 on 2027-03-05") into every explanation.

Refused as attacks: a subject with itself, a person with an organisation, one's own proposal,
and two subjects that each hold an identifier of the same scheme, unless the proposal names the
document that says they are one (`document_no`, such as the notice of an identifier change) and
its reason cites that document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from xinyong.domain.catalog import Catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import Conflict, InvalidInput, NotFound
from xinyong.domain.free_text import plain_free_text
from xinyong.domain.notices import Notice, NoticeKind
from xinyong.services import notices as outbox
from xinyong.services.corrections import current_record
from xinyong.services.linking import need_reviewer
from xinyong.services.lists import need_reason
from xinyong.services.merge_moves import mark_text, move, move_back
from xinyong.services.refresh import rescore_subjects
from xinyong.store import clock
from xinyong.store import merges_repo as repo
from xinyong.store.merge_tables import subject_merge_decisions, subject_merge_proposals
from xinyong.store.tables import subjects
from xinyong.store.unit_of_work import AuditNote, UnitOfWork

OUTCOMES = ("confirm", "reject")
DOCUMENT_MAX = 64


def _known(conn: Connection, now: datetime) -> datetime:
    """The moment merges are read at: `now`, or the knowledge clock's stamp if that is later
    (stamps never run backwards, so a merge may be stamped after the moment it was decided at)."""
    return max(now, clock.known_at(conn))


def _subject(conn: Connection, subject_id: int) -> Any:
    row = conn.execute(select(subjects).where(subjects.c.id == subject_id)).first()
    if row is None:
        raise NotFound(f"no subject {subject_id}")
    return row


def _document(document_no: str | None) -> str | None:
    """The document a merge proposal names, checked whenever one is given (reviewers and admins
    read it on the proposal's page): one line of at most DOCUMENT_MAX printable characters with
    no identifier in it; None for none."""
    doc = (document_no or "").strip()
    if not doc:
        return None
    if len(doc) > DOCUMENT_MAX:
        raise InvalidInput(f"document_no: 1 to {DOCUMENT_MAX} printable characters (got {len(doc)})")
    doc = plain_free_text(doc, "document_no")
    if not doc.isprintable():
        raise InvalidInput(f"document_no: 1 to {DOCUMENT_MAX} printable characters")
    return doc


def _need_document(doc: str | None, reason: str, a: int, b: int, shared: list[str]) -> None:
    """Two subjects each with their own identifier of one scheme are two, unless a document says
    otherwise: the proposal names it (`doc`, checked by `_document`), and its reason cites it."""
    if doc is None:
        raise InvalidInput(
            f"subjects {a} and {b} each have their own {', '.join(shared)} identifier: a merge needs the document "
            "that says they are one (document_no, such as the notice of an identifier change), cited in the reason"
        )
    if doc not in reason:
        raise InvalidInput(f"the reason must cite the document '{doc}' that says subjects {a} and {b} are one")


def _merge_guard(conn: Connection, kept: int, absorbed: int, reason: str, doc: str | None, now: datetime) -> None:
    if kept == absorbed:
        raise InvalidInput(f"subject {kept} cannot be merged with itself")
    a, b = _subject(conn, kept), _subject(conn, absorbed)
    if a.kind != b.kind:
        raise InvalidInput(
            f"subject {kept} is a {a.kind} and subject {absorbed} a {b.kind}: only two records of one person, "
            "or of one organisation, can be merged"
        )
    for sid, role in ((kept, "kept"), (absorbed, "absorbed")):
        m = repo.merge_standing(conn, _known(conn, now), absorbed=sid)
        if m is not None:
            raise Conflict(f"subject {sid} was merged into subject {m.subject_id} (merge {m.id}): it cannot be {role}")
    m = repo.merge_standing(conn, _known(conn, now), kept=absorbed)
    if m is not None:
        raise Conflict(
            f"subject {absorbed} has absorbed subject {m.merged_id} (merge {m.id}): merge the other way, "
            f"keeping {absorbed}"
        )
    mine = {i.scheme: i.value_hash for i in repo.identifiers_of(conn, kept)}
    theirs = {i.scheme: i.value_hash for i in repo.identifiers_of(conn, absorbed)}
    shared = sorted(s for s in mine.keys() & theirs.keys() if mine[s] != theirs[s])
    if shared:
        _need_document(doc, reason, kept, absorbed, shared)
    busy = repo.entries_in_progress(conn, absorbed)
    if busy:
        raise Conflict(
            f"subject {absorbed} has list entries in progress (entry {busy[0].id} on {busy[0].list_id}): merge the "
            f"other way, keeping {absorbed}, or wait until they end"
        )


def propose_merge(
    engine: Engine, kept: int, absorbed: int, *, by: str, reason: str, now: datetime,
    document_no: str | None = None, audit: AuditNote | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Propose that `absorbed` is the same person or organisation as `kept`; another reviewer decides.

    Raises:
        InvalidInput: itself, a person and an organisation, two own identifiers without a document, or a
            document number that is not one printable line or holds an identifier.
        NotFound: no such subject.
        Conflict: either side is merged already, or the absorbed one has list entries in progress.
    """
    who = need_reviewer(by)
    why = need_reason(reason, "a merge of subjects")
    now = CLOCK.as_of(now, "now")  # what the guards read at; the proposal is stamped by the clock
    doc = _document(document_no)
    with UnitOfWork.writing(engine, dated=False) as uow:
        _merge_guard(uow.conn, kept, absorbed, why, doc, now)
        values = {"action": "merge", "subject_id": kept, "other_id": absorbed, "document_no": doc,
                  "proposed_by": who, "reason": why, "at": CLOCK.now()}  # fmt: skip
        pid = _insert_proposal(uow.conn, values)
        uow.audit(audit, f"subject_merge:{pid}")
    return {"proposal": pid, "action": "merge", "subject_id": kept, "other_id": absorbed}


def propose_split(
    engine: Engine, subject_id: int, *, by: str, reason: str, now: datetime, merge_id: int | None = None,
    records: list[str] | None = None, to: int | None = None, audit: AuditNote | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Propose to reverse merge `merge_id` (which `subject_id` survived), or to move the named
    records ("SOURCE/REF") off `subject_id` onto subject `to`.

    Raises:
        InvalidInput: neither or both of a merge and records, a record not on the subject, a bad target.
        NotFound: no such subject, merge or record.
        Conflict: the merge is not in force, or a record grounds a list entry in progress.
    """
    who = need_reviewer(by)
    why = need_reason(reason, "a split of subjects")
    if (merge_id is None) == (not records):
        raise InvalidInput(
            "a split names either the merge it reverses or the records it moves (with their new subject)"
        )
    now = CLOCK.as_of(now, "now")  # what the guards read at; the proposal is stamped by the clock
    with UnitOfWork.writing(engine, dated=False) as uow:
        values = {"action": "split", "subject_id": subject_id, "proposed_by": who, "reason": why, "at": CLOCK.now()}
        values.update(_split_target(uow.conn, subject_id, merge_id, records, to, now))
        pid = _insert_proposal(uow.conn, values)
        uow.audit(audit, f"subject_merge:{pid}")
    return {"proposal": pid, "action": "split", "subject_id": subject_id, "other_id": values["other_id"]}


def _split_target(
    conn: Connection, subject_id: int, merge_id: int | None, refs: list[str] | None, to: int | None, now: datetime
) -> dict[str, Any]:
    _subject(conn, subject_id)
    if merge_id is not None:
        m = repo.merge_in_force(conn, merge_id, _known(conn, now))
        if m is None or int(m.subject_id) != subject_id:
            raise Conflict(f"merge {merge_id} is not a merge into subject {subject_id} that is in force")
        return {"other_id": int(m.merged_id), "merge_id": merge_id}
    if to is None:
        raise InvalidInput("a split that moves records names the subject they move to (to)")
    if to == subject_id:
        raise InvalidInput(f"the records are on subject {subject_id} already")
    if _subject(conn, to).kind != _subject(conn, subject_id).kind:
        raise InvalidInput(f"subjects {subject_id} and {to} are not of one kind: records cannot move between them")
    m = repo.merge_standing(conn, _known(conn, now), absorbed=to)
    if m is not None:
        raise Conflict(f"subject {to} was merged into subject {m.subject_id} (merge {m.id}): move the records there")
    pairs = []
    for ref in dict.fromkeys(refs or []):
        source_id, _, source_ref = ref.partition("/")
        rec = current_record(conn, source_id.strip(), source_ref.strip())
        if rec.subject_id != subject_id:
            raise InvalidInput(f"record {ref} is not linked to subject {subject_id}")
        pairs.append((rec.source_id, rec.source_ref))
    busy = repo.entries_in_progress(conn, subject_id, pairs)
    if busy:
        raise Conflict(f"record {busy[0].source_id}/{busy[0].source_ref} grounds entry {busy[0].id} in progress")
    return {"other_id": to, "records": [f"{s}/{r}" for s, r in pairs]}


def _insert_proposal(conn: Connection, values: dict[str, Any]) -> int:
    q = insert(subject_merge_proposals).values(**values).returning(subject_merge_proposals.c.id)
    return int(conn.execute(q).scalar_one())


def _proposal(conn: Connection, proposal_id: int) -> Any:
    p = conn.execute(select(subject_merge_proposals).where(subject_merge_proposals.c.id == proposal_id)).first()
    if p is None:
        raise NotFound(f"no merge or split proposal {proposal_id}")
    return p


def decide(
    engine: Engine, catalog: Catalog, proposal_id: int, outcome: str, *, reviewer: str, reason: str, now: datetime,
    audit: AuditNote | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Confirm (the records move from now on, both subjects are told) or reject a proposal.

    Raises:
        InvalidInput: an unknown outcome, a missing reviewer or reason.
        NotFound: no such proposal.
        Conflict: decided already, one's own proposal, or what it rests on changed since.
    """
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome '{outcome}': expected confirm or reject")
    who = need_reviewer(reviewer)
    why = need_reason(reason, "a merge or split decision")
    now = CLOCK.as_of(now, "now")  # what the guards read at and subjects are rescored at; stamps are the clock's
    touched: set[int] = set()
    with UnitOfWork.writing(engine) as uow:
        conn = uow.conn
        p = _proposal(conn, proposal_id)
        if who == p.proposed_by:
            raise Conflict(f"{who} proposed {p.action} {proposal_id}: another reviewer decides it")
        prior = repo.standing_decision(conn, proposal_id)
        if prior is not None:
            raise Conflict(f"proposal {proposal_id} was decided already (decision {prior.id}, {prior.outcome})")
        values = {"proposal_id": proposal_id, "outcome": outcome, "reviewer": who, "reason": why, "at": CLOCK.now()}
        did = int(
            conn.execute(
                insert(subject_merge_decisions).values(**values).returning(subject_merge_decisions.c.id)
            ).scalar_one()
        )
        effect = None
        if outcome == "confirm":
            effect, touched = _apply(conn, catalog, p, did, who, why, now)
            conn.execute(
                update(subject_merge_decisions).where(subject_merge_decisions.c.id == did).values(effect_id=effect)
            )
        uow.audit(audit, f"subject_merge_decision:{did}")
    rescore_subjects(engine, catalog, touched, now)
    return {"decision": did, "proposal": proposal_id, "outcome": outcome, "effect": effect}


def _apply(
    conn: Connection, catalog: Catalog, p: Any, did: int, who: str, why: str, now: datetime
) -> tuple[int, set[int]]:
    """Write the effect of a confirmed proposal: its row, its moves, its notices."""
    known = clock.advance(conn)
    common = {"proposed_by": p.proposed_by, "reviewed_by": who, "reason": why, "at": known}
    mark = mark_text(p.action, did, known)
    kw: dict[str, Any] = {"catalog_version": catalog.version}
    if p.action == "merge":
        _merge_guard(conn, int(p.subject_id), int(p.other_id), p.reason, p.document_no, now)
        effect = repo.add_effect(conn, action="merge", subject_id=p.subject_id, merged_id=p.other_id, **common)
        for rec in repo.current_records_of(conn, int(p.other_id)):
            move(conn, rec, int(p.subject_id), effect_id=effect, mark=mark, cause=f"subject merge {effect}", **kw)
    elif p.merge_id is not None:
        _split_target(conn, int(p.subject_id), int(p.merge_id), None, None, now)
        effect = repo.add_effect(
            conn, action="split", subject_id=p.subject_id, merged_id=p.other_id, reverses=p.merge_id, **common
        )
        move_back(conn, int(p.merge_id), effect, cause=f"subject split {effect}", **kw)
    else:
        _split_target(conn, int(p.subject_id), None, list(p.records), int(p.other_id), now)
        effect = repo.add_effect(conn, action="split", subject_id=p.subject_id, merged_id=p.other_id, **common)
        for ref in p.records:
            rec = current_record(conn, *ref.split("/", 1), lock=True)
            move(conn, rec, int(p.other_id), effect_id=effect, mark=mark, cause=f"subject split {effect}", **kw)
    _tell(conn, p, did, mark, why, known)
    return effect, {int(p.subject_id), int(p.other_id)}


def _tell(conn: Connection, p: Any, did: int, mark: str, why: str, since: datetime, undone: bool = False) -> None:
    """Tell both subjects what changed in their files, and `since` when (the clock's stamp of the change)."""
    kind = NoticeKind.SUBJECTS_MERGED if (p.action == "merge") != undone else NoticeKind.SUBJECTS_SPLIT
    joined = kind is NoticeKind.SUBJECTS_MERGED
    for sid, other in ((p.subject_id, p.other_id), (p.other_id, p.subject_id)):
        what = (
            f"from {since.date().isoformat()} the platform holds subject {sid} and subject {other} as one"
            if joined
            else f"from {since.date().isoformat()} records moved between subject {sid} and subject {other}"
        )
        outbox.put(
            conn, subject_id=int(sid), event_ref=f"merge:{did}:{sid}",
            notice=Notice(kind, f"Your file changed by {mark}", f"{what}; each moved record says so.", why,
                          "if a moved record is not about you, object to its link (target link:SOURCE/REF)."),
        )  # fmt: skip


def undo(
    engine: Engine, catalog: Catalog, decision_id: int, *, reviewer: str, reason: str, now: datetime,
    audit: AuditNote | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Reverse a decision by a new one that names it; an undone confirmation moves the records
    back as they were (records changed since stay, and are named).

    Raises:
        NotFound: no such decision.
        Conflict: it is an undo, was undone already, or a subject it would join is merged elsewhere.
    """
    who = need_reviewer(reviewer)
    why = need_reason(reason, "undoing a merge or split decision")
    now = CLOCK.as_of(now, "now")  # what the guards read at and subjects are rescored at; stamps are the clock's
    touched: set[int] = set()
    kept: list[str] = []
    with UnitOfWork.writing(engine) as uow:
        conn = uow.conn
        d = conn.execute(select(subject_merge_decisions).where(subject_merge_decisions.c.id == decision_id)).first()
        if d is None:
            raise NotFound(f"no merge or split decision {decision_id}")
        if d.outcome == "undo":
            raise Conflict(f"decision {decision_id} is an undo; decide the proposal again instead")
        p = _proposal(conn, int(d.proposal_id))
        effect = None
        if d.effect_id is not None:
            effect, kept = _reverse(conn, catalog, p, int(d.effect_id), decision_id, who, why, now)
            touched = {int(p.subject_id), int(p.other_id)}
        values = {"proposal_id": p.id, "outcome": "undo", "reverses": decision_id, "reviewer": who, "reason": why,
                  "at": CLOCK.now(), "effect_id": effect}  # fmt: skip
        try:
            with conn.begin_nested():  # two reviewers undoing at once: the unique `reverses` lets one through
                q = insert(subject_merge_decisions).values(**values).returning(subject_merge_decisions.c.id)
                did = int(conn.execute(q).scalar_one())
        except IntegrityError:
            raise Conflict(f"decision {decision_id} was undone already") from None
        uow.audit(audit, f"subject_merge_decision:{did}")
        if effect is not None:
            since = CLOCK.now()
            _tell(conn, p, did, mark_text("undo", did, since), why, since, undone=True)
    rescore_subjects(engine, catalog, touched, now)
    return {"decision": did, "reverses": decision_id, "effect": effect, "records_kept": kept}


def _reverse(
    conn: Connection, catalog: Catalog, p: Any, effect_id: int, decision_id: int, who: str, why: str, now: datetime
) -> tuple[int, list[str]]:
    from xinyong.store.linking_tables import subject_merges

    e = conn.execute(select(subject_merges).where(subject_merges.c.id == effect_id)).one()
    later = conn.execute(select(subject_merges).where(subject_merges.c.reverses == effect_id)).first()
    if later is not None:  # a split of a merge, or an undo (which merges or splits back)
        raise Conflict(f"what decision {decision_id} did was reversed already by a later {later.action} ({later.id})")
    known = clock.advance(conn)
    common = {"proposed_by": p.proposed_by, "reviewed_by": who, "reason": why, "at": known, "reverses": effect_id}
    if e.action == "split" and e.reverses is not None:  # undoing a split of a merge merges again
        for sid in (int(e.subject_id), int(e.merged_id)):
            m = repo.merge_standing(conn, _known(conn, now), absorbed=sid)
            if m is not None:
                raise Conflict(f"subject {sid} was merged into subject {m.subject_id} since (merge {m.id})")
        new = repo.add_effect(conn, action="merge", subject_id=e.subject_id, merged_id=e.merged_id, **common)
    elif e.action == "merge":
        new = repo.add_effect(conn, action="split", subject_id=e.subject_id, merged_id=e.merged_id, **common)
    else:
        new = repo.add_effect(conn, action="split", subject_id=e.merged_id, merged_id=e.subject_id, **common)
    _, kept = move_back(conn, effect_id, new, catalog_version=catalog.version,
                        cause=f"decision {decision_id} undone")  # fmt: skip
    return new, kept


def history(engine: Engine, subject_id: int, now: datetime) -> dict[str, Any]:
    """Every merge and split proposal about a subject with its decisions, and what they did."""
    with engine.connect() as conn:
        _subject(conn, subject_id)
        proposals = repo.proposals_about(conn, subject_id)
        decisions = repo.decisions_on(conn, [int(p.id) for p in proposals])
        effects = repo.effects_about(conn, subject_id)
        m = repo.merge_standing(conn, _known(conn, now), absorbed=subject_id)
    items = []
    for p in proposals:
        row = dict(p._mapping)
        row["decisions"] = [dict(d._mapping) for d in decisions if d.proposal_id == p.id]
        standing = [d for d in row["decisions"] if d["outcome"] != "undo"
                    and not any(u["reverses"] == d["id"] for u in row["decisions"])]  # fmt: skip
        row["state"] = standing[-1]["outcome"] + "ed" if standing else "open"
        items.append(row)
    return {
        "subject_id": subject_id,
        "stands_for": subject_id if m is None else int(m.subject_id),
        "proposals": items,
        "effects": [dict(e._mapping) for e in effects],
    }
