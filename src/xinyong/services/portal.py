"""What a subject sees of their own file, and what the public may see of anyone.

A subject's file is whole: every record version known now, the score with its explanation,
list entries, notices, objections, repairs, and every check made about them (by whom, for what).
The public sees organisations, and persons only while they are on a public list; only public
record types inside their publication period; personal identifiers and names only masked.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, and_, or_, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import NotFound
from xinyong.domain.explain import explain_score
from xinyong.domain.identifiers import IdentifierVault, Scheme
from xinyong.domain.scoring import RecordFact, score_subject, with_publication_end
from xinyong.services.list_views import entries
from xinyong.services.notices import outbox
from xinyong.services.objection_views import disputes_of, objection_rows
from xinyong.services.repairs import repair_rows
from xinyong.services.scoring import known_versions
from xinyong.store.linking_tables import link_judgements
from xinyong.store.merges_repo import marks
from xinyong.store.report_repo import reports_about
from xinyong.store.tables import checks, identifiers, records, sources, subjects

SEARCH_LIMIT = 20


def _records(engine: Engine, subject_id: int, known_at: datetime) -> list[Any]:
    q = (
        select(records, sources.c.name.label("source_name"))
        .join(sources, sources.c.id == records.c.source_id)
        .where(records.c.subject_id == subject_id, known_versions(known_at))
        .order_by(records.c.decided_on.desc(), records.c.id)
    )
    with engine.connect() as conn:
        return list(conn.execute(q))


def _reviews(engine: Engine, record_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The confirmations that linked these record versions: {record id: {review, on}}."""
    if not record_ids:
        return {}
    q = select(link_judgements.c.record_id, link_judgements.c.id, link_judgements.c.at).where(
        link_judgements.c.record_id.in_(record_ids), link_judgements.c.outcome == "confirm"
    )
    with engine.connect() as conn:
        return {int(rid): {"review": int(jid), "on": at.date()} for rid, jid, at in conn.execute(q)}


def _fact(r: Any) -> RecordFact:
    return RecordFact(
        r.id,
        r.record_type,
        r.decided_on,
        r.valid_from,
        r.valid_until,
        r.attributes,
        r.status,
        r.source_id,
        r.source_ref,
    )


def my_file(engine: Engine, catalog: Catalog, subject_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Everything the platform holds about one subject, with reasons."""
    now = now or datetime.now(UTC)
    today = now.date()
    with engine.connect() as conn:
        subject = conn.execute(select(subjects).where(subjects.c.id == subject_id)).first()
        if subject is None:
            raise NotFound(f"no subject {subject_id}")
        ids = [
            {"scheme": i.scheme, "masked": i.masked}
            for i in conn.execute(select(identifiers).where(identifiers.c.subject_id == subject_id))
        ]
        disputes = disputes_of(conn, subject_id)
        made = conn.execute(
            select(
                checks.c.id,
                checks.c.created_at,
                checks.c.consumer,
                checks.c.context,
                checks.c.purpose,
                checks.c.outcome,
            )
            .where(checks.c.subject_id == subject_id)
            .order_by(checks.c.created_at)
        ).all()
    rows = _records(engine, subject_id, now)
    facts = {r.id: _fact(r) for r in rows}
    reviews = _reviews(engine, [r.id for r in rows if r.link_method == "confirmed"])
    with engine.connect() as conn:
        linked = marks(conn, facts)  # every link a person made: a match, a merge or split of subjects
    score = score_subject(catalog, subject.kind, list(facts.values()), today)
    disputed = frozenset(disputes.records | disputes.links)
    return {
        "subject": {"id": subject_id, "kind": subject.kind, "name": subject.display_name, "identifiers": ids},
        "records": [
            {
                "source": r.source_id,
                "source_name": r.source_name,
                "source_ref": r.source_ref,
                "revision": r.revision,  # the department's own number
                "version": r.version,  # 0: as the department sent it; 1, 2...: the platform's versions of it
                "record_type": r.record_type,
                "decided_on": r.decided_on,
                "valid_from": r.valid_from,
                "valid_until": with_publication_end(catalog, facts[r.id]).valid_until,
                "status": r.status,
                "in_force": with_publication_end(catalog, facts[r.id]).valid_on(today),
                "document_no": r.document_no,
                "attributes": r.attributes,
                "disputed": disputes.record_disputed(r.source_id, r.source_ref),
                "linked_by": reviews.get(r.id),  # a confirmed match: the review that linked it, and when
                "link_mark": linked.get(r.id),
            }
            for r in rows
        ],
        "score": explain_score(score, facts, catalog, now.isoformat(), disputed, linked),
        "list_entries": entries(engine, subject_id=subject_id, day=today),
        "notices": outbox(engine, subject_id),
        "objections": objection_rows(engine, subject_id=subject_id),
        "repairs": repair_rows(engine, subject_id=subject_id),
        "checks": [dict(c._mapping) for c in made],
        "reports_received_by_others": reports_about(engine, subject_id),  # who received a report about them
    }


def _public_entries(engine: Engine, catalog: Catalog, subject_id: int, today: date) -> list[dict[str, Any]]:
    return [
        {
            "entry": e["id"],
            "list": e["list_id"],
            "list_name": catalog.lists[e["list_id"]].name,
            "listed_on": e["listed_on"],
            "ends_on": e["ends_on"],
        }
        for e in entries(engine, subject_id=subject_id, state="listed", day=today)
        if catalog.lists[e["list_id"]].public
    ]


def _mask_name(name: str | None) -> str:
    return "" if not name else name[0] + "*" * (len(name) - 1)


def public_subject(engine: Engine, catalog: Catalog, subject_id: int, today: date | None = None) -> dict[str, Any]:
    """A subject as the public may see it; a person off every public list is not shown at all."""
    today = today or datetime.now(UTC).date()
    with engine.connect() as conn:
        subject = conn.execute(select(subjects).where(subjects.c.id == subject_id)).first()
        ids = list(conn.execute(select(identifiers).where(identifiers.c.subject_id == subject_id)))
    if subject is None:
        raise NotFound(f"no public subject {subject_id}")
    listed = _public_entries(engine, catalog, subject_id, today)
    person = subject.kind == "person"
    if person and not listed:
        raise NotFound(f"no public subject {subject_id}")
    shown = []
    for r in _records(engine, subject_id, datetime.now(UTC)):
        rt = catalog.record_types.get(r.record_type)
        if rt is None or not rt.public or r.link_method not in ("identifier", "confirmed"):
            continue
        if not with_publication_end(catalog, _fact(r)).valid_on(today):
            continue
        shown.append(
            {
                "record_type": rt.name,
                "source": r.source_name,
                "decided_on": r.decided_on,
                "valid_from": r.valid_from,
                "document_no": r.document_no,
            }
        )
    return {
        "id": subject_id,
        "kind": subject.kind,
        "name": _mask_name(subject.display_name) if person else subject.display_name,
        "identifiers": [{"scheme": i.scheme, "value": i.masked if person else (i.value or i.masked)} for i in ids],
        "list_entries": listed,
        "records": shown,
    }


def public_search(
    engine: Engine, catalog: Catalog, q: str, today: date | None = None, vault: IdentifierVault | None = None
) -> list[dict[str, Any]]:
    """Organisations by name, part of a name, or USCC; persons only while on a public list, only
    masked, and only by their exact full name or (with `vault`) their full resident number: a
    search by part of a name would unmask the characters the mask hides."""
    today = today or datetime.now(UTC).date()
    q = q.strip()
    found: list[int] = []
    uscc = Scheme("cn.uscc", "organisation", False).check(q)
    ric = Scheme("cn.ric", "person", True).check(q)
    with engine.connect() as conn:
        if uscc.valid:
            found = [
                int(i)
                for i in conn.scalars(
                    select(identifiers.c.subject_id).where(
                        identifiers.c.scheme == "cn.uscc", identifiers.c.value == uscc.compact
                    )
                )
            ]
        elif ric.valid:
            if vault is not None:
                digest = vault.digest("cn.ric", ric.compact)
                found = [
                    int(i)
                    for i in conn.scalars(
                        select(identifiers.c.subject_id).where(
                            identifiers.c.scheme == "cn.ric", identifiers.c.value_hash == digest
                        )
                    )
                ]
        elif len(q) >= 2:
            like = q.replace("%", "").replace("_", "")
            found = [
                int(i)
                for i in conn.scalars(
                    select(subjects.c.id)
                    .where(
                        or_(
                            and_(
                                subjects.c.kind == "organisation",
                                subjects.c.display_name.contains(like, autoescape=True),
                            ),
                            and_(subjects.c.kind == "person", subjects.c.display_name == q),
                        )
                    )
                    .order_by(subjects.c.id)
                    .limit(SEARCH_LIMIT * 5)
                )
            ]
    out = []
    for sid in found:
        try:
            s = public_subject(engine, catalog, sid, today)
        except NotFound:
            continue  # a person off every public list is not found by the public
        out.append({k: s[k] for k in ("id", "kind", "name", "identifiers", "list_entries")})
        if len(out) >= SEARCH_LIMIT:
            break
    return out
