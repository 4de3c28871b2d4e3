"""What the public portal's pages read: finding a subject, and one subject's public page.

The rules of what is public are `services.portal`'s, shared with the JSON API: organisations,
and persons only while they are on a public list. The portal is stricter in how it finds a
person: only by the exact full name the department wrote or by a full, checksum-valid
identifier (matched by its keyed hash), never by a part of either, so that the visible
characters of a masked name find nobody.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import NotFound
from xinyong.domain.identifiers import IdentifierVault, readings
from xinyong.services.portal import SEARCH_LIMIT, public_subject
from xinyong.store.engine import one_read
from xinyong.store.tables import identifiers, records, scores, subjects

QUERY_MAX = 100


def _candidates(engine: Engine, catalog: Catalog, vault: IdentifierVault, q: str) -> list[int]:
    """Subject ids a query may name: by identifier (any scheme, by keyed hash or plain code),
    organisations by a part of their name, persons by their exact full name."""
    found: list[int] = []
    with engine.connect() as conn:
        for scheme, compact in readings(catalog.identifier_schemes, q)[0]:
            digest = vault.digest(scheme.id, compact)
            found += [
                int(s)
                for s in conn.scalars(
                    select(identifiers.c.subject_id).where(
                        identifiers.c.scheme == scheme.id, identifiers.c.value_hash == digest
                    )
                )
            ]
        if found:
            return list(dict.fromkeys(found))
        orgs = conn.scalars(
            select(subjects.c.id)
            .where(subjects.c.kind == "organisation", subjects.c.display_name.contains(q, autoescape=True))
            .order_by(subjects.c.id)
            .limit(SEARCH_LIMIT)
        )
        found += [int(s) for s in orgs]
        people = conn.scalars(
            select(subjects.c.id)
            .where(subjects.c.kind == "person", subjects.c.display_name == q)
            .order_by(subjects.c.id)
            .limit(SEARCH_LIMIT * 5)
        )
        found += [int(s) for s in people]
    return found


def find_public(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, q: str, today: date | None = None
) -> list[dict[str, Any]]:
    """Subjects the public may see that match `q`, each with its public list entries.

    A query shorter than two characters, or longer than `QUERY_MAX`, finds nothing (the page
    says why): one character would list half the register."""
    q = " ".join(q.split())
    if not 2 <= len(q) <= QUERY_MAX:
        return []
    today = today or datetime.now(UTC).date()
    out: list[dict[str, Any]] = []
    for sid in _candidates(engine, catalog, vault, q):
        try:
            s = public_subject(engine, catalog, sid, today)
        except NotFound:
            continue  # a person off every public list is not found by the public
        out.append({k: s[k] for k in ("id", "kind", "name", "identifiers", "list_entries")})
        if len(out) >= SEARCH_LIMIT:
            break
    return out


def public_entity(engine: Engine, catalog: Catalog, subject_id: int, today: date | None = None) -> dict[str, Any]:
    """One subject's public page: what `public_subject` shows, each list entry with its legal
    basis, and for an organisation its supervision class (the grade of its latest score: an
    organisation's class is published; a person's score is never shown to the public).

    Raises:
        NotFound: no such subject, or a person on no public list.
    """
    today = today or datetime.now(UTC).date()
    page = public_subject(engine, catalog, subject_id, today)
    by_name = {rt.name: rt for rt in catalog.record_types.values()}
    for r in page["records"]:
        rt = by_name.get(r["record_type"])
        r["type_id"] = rt.id if rt else None
        r["legal_basis"] = rt.legal_basis.cite() if rt else ""
    for e in page["list_entries"]:
        listing = catalog.lists[e["list"]]
        e["legal_basis"] = listing.legal_basis.cite()
        e["list_kind"] = listing.kind
        e["list_name_zh"] = listing.name_zh
    page["supervision"] = None
    if page["kind"] == "organisation":
        with one_read(engine) as conn:  # one statement: on PostgreSQL no transaction round trips
            row = conn.execute(
                select(scores.c.grade, scores.c.as_of, scores.c.ruleset_id, scores.c.ruleset_version)
                .where(scores.c.subject_id == subject_id)
                .order_by(scores.c.id.desc())
                .limit(1)
            ).first()
        if row is not None and row.grade is not None:
            rs = catalog.rulesets.get(row.ruleset_id or "")
            band = next((b for b in rs.bands if b.grade == row.grade), None) if rs else None
            page["supervision"] = {
                "grade": row.grade,
                "as_of": row.as_of,
                "meaning": band.meaning if band else None,
                "legal_basis": rs.legal_basis.cite() if rs else None,
            }
    return page


def file_links(engine: Engine, subject_id: int, record_ids: list[int]) -> dict[str, Any]:
    """What a subject's file page links to beyond `services.portal.my_file`: the source and
    reference of each record a score contribution names, and the id of the latest stored score
    (the target of an objection to the score)."""
    with engine.connect() as conn:
        refs = (
            {
                int(r.id): (str(r.source_id), str(r.source_ref))
                for r in conn.execute(
                    select(records.c.id, records.c.source_id, records.c.source_ref).where(
                        records.c.id.in_(record_ids), records.c.subject_id == subject_id
                    )
                )
            }
            if record_ids
            else {}
        )
        score_id = conn.scalar(
            select(scores.c.id).where(scores.c.subject_id == subject_id).order_by(scores.c.id.desc()).limit(1)
        )
    return {"refs": refs, "score_id": None if score_id is None else int(score_id)}
