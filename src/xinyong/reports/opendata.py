"""What the open data holds: public records inside their publication period, and every public
list's entries in force, with the subject as the public may see it.

The rule is the public portal's (`services.portal.public_subject`), applied to everyone at once:
organisations in plain; persons only while on a public list, and then only masked (name and
identifier); only public record types, linked by identifier or confirmed match, active, inside
their publication period on the day of publication. Each row has a stable id, so that a later
publication can say what was added, changed or removed, and why it was removed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.models import ListDefinition
from xinyong.domain.certificates import canonical
from xinyong.domain.scoring import RecordFact, with_publication_end
from xinyong.reports.content import mask_name
from xinyong.store import clock
from xinyong.store import report_repo as repo

PLATFORM = "Public credit information platform (xinyong)"

RECORD_COLUMNS = (
    "id", "subject_id", "subject_kind", "subject_name", "subject_identifier_scheme", "subject_identifier",
    "source", "source_name", "source_name_zh", "record_type", "record_type_name", "record_type_name_zh",
    "category", "polarity", "severity", "decided_on", "valid_from", "published_until", "document_no",
    "revision", "legal_basis",
)  # fmt: skip
LIST_COLUMNS = (
    "id", "list", "list_name", "list_name_zh", "list_kind", "authority", "subject_id", "subject_kind",
    "subject_name", "subject_identifier_scheme", "subject_identifier", "ground_record", "ground_record_type",
    "ground_record_name", "listed_on", "ends_on", "legal_basis",
)  # fmt: skip


@dataclass
class OpenData:
    known_at: datetime
    as_of: date
    records: list[dict[str, Any]]
    entries: list[dict[str, Any]]
    subjects: dict[int, dict[str, Any]]  # every subject named by a row, as shown

    def items(self) -> dict[str, str]:
        """Item id -> SHA-256 of its published row: what a changes feed compares."""
        return {r["id"]: content_hash(r) for r in (*self.records, *self.entries)}


def content_hash(row: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(row)).hexdigest()


def authority(catalog: Catalog, listing: ListDefinition) -> str:
    """Who keeps a list: the department the catalog names as its owner, when it names one."""
    owner = getattr(listing, "owner", None) or getattr(listing, "authority", None)
    source = catalog.sources.get(str(owner)) if owner else None
    return source.name if source is not None else str(owner or PLATFORM)


def _shown_subject(row: Any, ids: list[Any], personal: set[str]) -> dict[str, Any]:
    person = row.subject_kind == "person"
    first = next(iter(ids), None)
    value = None
    if first is not None:
        value = first.masked if first.scheme in personal or not first.value else first.value
    return {
        "subject_id": int(row.subject_id),
        "subject_kind": row.subject_kind,
        "subject_name": mask_name(row.display_name) if person else (row.display_name or ""),
        "subject_identifier_scheme": first.scheme if first is not None else None,
        "subject_identifier": value,
    }


def _entries(catalog: Catalog, conn: Any, today: date) -> list[Any]:
    public_lists = [lst.id for lst in catalog.lists.values() if lst.public]
    return repo.listed_entries(conn, public_lists, today) if public_lists else []


def gather_open_data(engine: Engine, catalog: Catalog, today: date) -> OpenData:
    """Everything the open data publishes on `today`, as known now."""
    types = [rt.id for rt in catalog.record_types.values() if rt.public]
    with engine.connect() as conn:
        known_at = clock.known_at(conn)
        listed = _entries(catalog, conn, today)
        listed_people = {int(e.subject_id) for e in listed if e.subject_kind == "person"}
        rows = []
        for r in repo.linked_records(conn, known_at, types):
            if r.subject_kind == "person" and int(r.subject_id) not in listed_people:
                continue  # a person off every public list is not public (principle 8)
            fact = RecordFact(r.id, r.record_type, r.decided_on, r.valid_from, r.valid_until, {}, r.status)
            shown = with_publication_end(catalog, fact)
            if shown.valid_on(today):
                rows.append((r, shown.valid_until))
        named = sorted({int(r.subject_id) for r, _ in rows} | {int(e.subject_id) for e in listed})
        ids = repo.identifiers_of(conn, named)
    personal = {s.id for s in catalog.schemes.values() if s.personal}
    subjects: dict[int, dict[str, Any]] = {}
    records = []
    for r, until in rows:
        who = subjects.setdefault(int(r.subject_id), _shown_subject(r, ids.get(int(r.subject_id), []), personal))
        rt, src = catalog.record_types[r.record_type], catalog.sources.get(r.source_id)
        records.append(
            {
                "id": f"record:{r.source_id}/{r.source_ref}",
                **who,
                "source": r.source_id,
                "source_name": src.name if src else r.source_id,
                "source_name_zh": (src.name_zh or src.name) if src else r.source_id,
                "record_type": rt.id,
                "record_type_name": rt.name,
                "record_type_name_zh": rt.name_zh or rt.name,
                "category": rt.category,
                "polarity": rt.polarity.value,
                "severity": rt.severity.value if rt.severity else None,
                "decided_on": r.decided_on.isoformat(),
                "valid_from": r.valid_from.isoformat(),
                "published_until": until.isoformat() if until else None,
                "document_no": r.document_no,
                "revision": int(r.revision),
                "legal_basis": rt.legal_basis.cite(),
            }
        )
    entries = []
    for e in listed:
        listing = catalog.lists[e.list_id]
        if e.subject_kind not in listing.subject_kinds:
            continue
        who = subjects.setdefault(int(e.subject_id), _shown_subject(e, ids.get(int(e.subject_id), []), personal))
        ground = catalog.record_types.get(e.record_type)
        entries.append(
            {
                "id": f"entry:{e.id}",
                "list": listing.id,
                "list_name": listing.name,
                "list_name_zh": listing.name_zh or listing.name,
                "list_kind": listing.kind,
                "authority": authority(catalog, listing),
                **who,
                "ground_record": f"record:{e.source_id}/{e.source_ref}",
                "ground_record_type": e.record_type,
                "ground_record_name": ground.name if ground else e.record_type,
                "listed_on": e.listed_on.isoformat() if e.listed_on else None,
                "ends_on": e.ends_on.isoformat() if e.ends_on else None,
                "legal_basis": listing.legal_basis.cite(),
            }
        )
    return OpenData(known_at, today, records, entries, subjects)


def removal_reasons(engine: Engine, catalog: Catalog, removed: list[str], today: date) -> dict[str, str]:
    """Why each item that left the open data left it, in words a reuser can act on."""
    reasons: dict[str, str] = {}
    records = [tuple(i.removeprefix("record:").split("/", 1)) for i in removed if i.startswith("record:")]
    entry_ids = [int(i.removeprefix("entry:")) for i in removed if i.startswith("entry:")]
    with engine.connect() as conn:
        known_at = clock.known_at(conn)
        versions = repo.record_versions(conn, [(s, r) for s, r in records], known_at)
        states = repo.entry_states(conn, entry_ids)
    for src, ref in records:
        v = versions.get((src, ref))
        rt = catalog.record_types.get(v.record_type) if v is not None else None
        if v is None:
            why = "withdrawn by the source department"
        elif v.status == "revoked":
            why = "revoked (corrected after an objection or by the source)"
        elif v.status == "repaired":
            why = "credit repair approved"
        elif v.link_method not in repo.LINKED or v.subject_id is None:
            why = "its link to the subject was undone"
        elif rt is None or not rt.public:
            why = "its record type is no longer public"
        elif v.status == "active":
            why = "its publication period ended, or its subject is no longer public"
        else:
            why = f"status {v.status}"
        reasons[f"record:{src}/{ref}"] = why
    for eid in entry_ids:
        s = states.get(eid)
        listing = catalog.lists.get(s.list_id) if s is not None else None
        if s is None:
            why = "the entry no longer exists"
        elif listing is None or not listing.public:
            why = "its list is no longer public"
        elif s.state == "listed" and s.ends_on is not None and s.ends_on <= today:
            why = "its term ended"
        else:
            why = {
                "expired": "its term ended",
                "removed": "removed by the list's owner (the obligation was met or the ground fell away)",
                "repaired": "credit repair approved",
                "withdrawn": "withdrawn after an objection was upheld",
            }.get(s.state, f"state {s.state}")
        reasons[f"entry:{eid}"] = why
    return reasons
