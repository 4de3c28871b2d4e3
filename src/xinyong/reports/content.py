"""What a credit report states, as data: gathered from the store for one subject and period.

The payload is language-neutral and self-contained: it carries every name, date and citation
its text shows, so that the text can be checked against it offline, with no catalog at hand.

Which records a report discloses: records linked to the subject by identifier or confirmed
match, decided in the period, active (not revoked, not repaired), of an adverse or favourable
type, and still inside their publication period on the day of issue; the public report of an
organisation shows public record types only. For each source department the report states the
stretch of time it has reported for, from its first to its last batch, and says "no disclosable
record" only inside that stretch: a department that never reported is said to have never
reported, never to hold nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.models import PROTECTED_SECTORS, Polarity, RecordType
from xinyong.domain.errors import InvalidInput, NotFound
from xinyong.domain.scoring import RecordFact, add_months, with_publication_end
from xinyong.services.list_views import entries
from xinyong.services.objection_views import disputes_of, objection_rows
from xinyong.services.repairs import repair_rows
from xinyong.services.scoring import score_with_facts
from xinyong.store import clock
from xinyong.store import report_repo as repo

DEFAULT_MONTHS = 36  # the longest publication period of the reference policy (serious records)
MAX_YEARS = 10
# No decision a department submits is older than the unified credit code (GB 32100-2015); a period
# before 1990 can only be a typing error, and dates near year 1 cannot be counted back from.
EARLIEST = date(1990, 1, 1)
# List states a subject's own report shows besides `listed`: pending steps they must know of.
PENDING_STATES = ("proposed", "notified", "objected")


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @classmethod
    def of(cls, first: date | None, last: date | None, today: date) -> Period:
        """The requested period, checked: default the 36 months up to today."""
        last = last or today
        if last < EARLIEST or (first is not None and first < EARLIEST):
            raise InvalidInput(f"from and to: the platform holds nothing before {EARLIEST}; give a later period")
        first = first or add_months(last, -DEFAULT_MONTHS) + timedelta(days=1)
        if last > today:
            raise InvalidInput(f"to: {last} is in the future; a report states what is known up to today ({today})")
        if first > last:
            raise InvalidInput(f"from: {first} is after to: {last}; give from <= to")
        if first < add_months(last, -12 * MAX_YEARS):
            raise InvalidInput(
                f"from: {first} is more than {MAX_YEARS} years before to: {last}; ask for a shorter period"
            )
        return cls(first, last)


def mask_name(name: str | None) -> str:
    return "" if not name else name[0] + "*" * (len(name) - 1)


def purpose_of(catalog: Catalog, code: str | None) -> dict[str, str] | None:
    """A report's purpose: a context of the catalog, outside the protected sectors (principle 3:
    nothing about a subject may weigh in healthcare, education, social assistance...)."""
    if code is None:
        return None
    ctx = catalog.contexts.get(code)
    if ctx is None:
        usable = ", ".join(sorted(c.id for c in catalog.contexts.values() if c.sector not in PROTECTED_SECTORS))
        raise InvalidInput(f"purpose: '{code[:64]}' is not a purpose of the catalog; use one of {usable}")
    if ctx.sector in PROTECTED_SECTORS:
        raise InvalidInput(
            f"purpose: '{code}' is in the protected sector '{ctx.sector.value}', where no credit information "
            "may be used (principle 3); no report is issued for it"
        )
    return {"code": ctx.id, "name": ctx.name}


def _applies(rt: RecordType, kind: str, public: bool) -> bool:
    return rt.polarity is not Polarity.NEUTRAL and kind in rt.subject_kinds and (rt.public or not public)


def _basis(catalog_entry: Any) -> str:
    return str(catalog_entry.legal_basis.cite())


def _record(catalog: Catalog, r: Any, disputed: bool, today: date) -> dict[str, Any] | None:
    rt = catalog.record_types[r.record_type]
    fact = with_publication_end(catalog, RecordFact(r.id, r.record_type, r.decided_on, r.valid_from, r.valid_until, {}))
    if r.status != "active" or (fact.valid_until is not None and fact.valid_until <= today):
        return None  # revoked, repaired, or past its publication period: not disclosed
    return {
        "record_type": rt.id,
        "name": rt.name,
        "name_zh": rt.name_zh or rt.name,
        "polarity": rt.polarity.value,
        "severity": rt.severity.value if rt.severity else None,
        "decided_on": r.decided_on.isoformat(),
        "valid_from": r.valid_from.isoformat(),
        "published_until": fact.valid_until.isoformat() if fact.valid_until else None,
        "document_no": r.document_no,
        "legal_basis": _basis(rt),
        "disputed": disputed,
        "linked_by": r.link_mark,  # the person's decision that linked it; None: its identifier did
    }


def _span(first: date, last: date) -> dict[str, str]:
    return {"from": first.isoformat(), "to": last.isoformat()}


def _sources(
    catalog: Catalog,
    kind: str,
    public: bool,
    period: Period,
    cov: dict[str, repo.Coverage],
    found: list[Any],
    today: date,
    disputes: Any,
) -> list[dict[str, Any]]:
    by_source: dict[str, list[dict[str, Any]]] = {}
    for r in found:
        rt = catalog.record_types.get(r.record_type)
        if rt is None or not _applies(rt, kind, public):
            continue
        shown = _record(catalog, r, disputes.record_disputed(r.source_id, r.source_ref), today)
        if shown is not None:
            by_source.setdefault(r.source_id, []).append(shown)
    out = []
    for src in catalog.sources.values():
        types = [catalog.record_types[t] for t in src.submits if t in catalog.record_types]
        types = [t for t in types if _applies(t, kind, public)]
        if not types:
            continue  # this department records nothing a report about this subject could state
        c = cov.get(src.id)
        covered = gaps = None
        if c is not None:
            lo, hi = max(period.first, c.first), min(period.last, c.last)
            covered = _span(lo, hi) if lo <= hi else None
            gaps = []
            if period.first < c.first:
                gaps.append(_span(period.first, min(period.last, c.first - timedelta(days=1))))
            if period.last > c.last:
                gaps.append(_span(max(period.first, c.last + timedelta(days=1)), period.last))
        out.append(
            {
                "id": src.id,
                "name": src.name,
                "name_zh": src.name_zh or src.name,
                "areas": sorted({t.category for t in types}),
                "reported": None if c is None else {**_span(c.first, c.last), "batches": c.batches},
                "covered": covered,
                "gaps": gaps,
                "records": by_source.get(src.id, []),
            }
        )
    return out


def _lists(
    catalog: Catalog, engine: Engine, subject_id: int, public: bool, today: date, disputes: Any
) -> list[dict[str, Any]]:
    out = []
    for e in entries(engine, subject_id=subject_id, day=today):
        listing = catalog.lists.get(e["list_id"])
        if listing is None:
            continue
        state = e["state"]
        in_force = state == "listed" and e["listed_on"] is not None and e["listed_on"] <= today
        if not (in_force or (not public and state in PENDING_STATES)) or (public and not listing.public):
            continue
        rt = catalog.record_types.get(e["record_type"])
        out.append(
            {
                "entry": e["id"],
                "list": listing.id,
                "name": listing.name,
                "name_zh": listing.name_zh or listing.name,
                "kind": listing.kind,
                "state": state,
                "listed_on": e["listed_on"].isoformat() if e["listed_on"] else None,
                "ends_on": e["ends_on"].isoformat() if e["ends_on"] else None,
                "ground": rt.name if rt else e["record_type"],
                "ground_zh": (rt.name_zh or rt.name) if rt else e["record_type"],
                "legal_basis": _basis(listing),
                "disputed": bool(e["disputed"]) or e["id"] in disputes.entries,
            }
        )
    return out


def _supervision(catalog: Catalog, engine: Engine, subject_id: int, today: date, known_at: datetime) -> dict[str, Any]:
    score, _ = score_with_facts(engine, catalog, subject_id, today, known_at)
    if score.grade is None or score.ruleset_id is None:
        return {"grade": None, "status": score.status}
    bands = catalog.rulesets[score.ruleset_id].bands
    meaning = next((b.meaning for b in bands if b.grade == score.grade), "")
    return {
        "grade": score.grade,
        "points": f"{score.points_cp / 100:.2f}" if score.points_cp is not None else None,
        "ruleset": f"{score.ruleset_id} {score.ruleset_version}",
        "meaning": meaning,
        "as_of": today.isoformat(),
        "status": score.status,
    }


def _disputes(engine: Engine, subject_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    objections = [
        {
            "id": o["id"],
            "target": o["target_kind"],
            "ref": f"{o['source_id']}/{o['source_ref']}" if o["source_id"] else str(o["entry_id"] or o["score_id"]),
            "filed_on": o["filed_at"].date().isoformat(),
            "due_on": o["due_on"].isoformat(),
        }
        for o in objection_rows(engine, state="open", subject_id=subject_id)
    ]
    repairs = [
        {
            "id": r["id"],
            "ref": f"{r['source_id']}/{r['source_ref']}",
            "filed_on": r["filed_at"].date().isoformat(),
            "due_on": r["due_on"].isoformat(),
        }
        for r in repair_rows(engine, state="open", subject_id=subject_id)
    ]
    return objections, repairs


def gather(
    engine: Engine, catalog: Catalog, subject_id: int, period: Period, *, public: bool, today: date
) -> dict[str, Any]:
    """Everything a report about `subject_id` states, as of `today` and as known now.

    Raises:
        NotFound: no such subject, or (public) a person: a person's report goes to that person only.
    """
    with engine.connect() as conn:
        known_at = clock.known_at(conn)
        subject = repo.subject_row(conn, subject_id)
        if subject is None:
            raise NotFound(f"no report for subject {subject_id}: there is no such subject")
        if public and subject.kind != "organisation":
            raise NotFound(
                f"no public report for subject {subject_id}: a person's report goes only to that person "
                "(their own token, or handed to them in person)"
            )
        ids = repo.identifiers_of(conn, [subject_id]).get(subject_id, [])
        cov = repo.coverage(conn, known_at)
        found = repo.subject_records(conn, subject_id, known_at, period.first, period.last)
        disputes = disputes_of(conn, subject_id)
    personal = {s.id for s in catalog.schemes.values() if s.personal}
    person = subject.kind == "person"
    objections, repairs = _disputes(engine, subject_id)
    return {
        "subject": {
            "id": subject_id,
            "kind": subject.kind,
            "name": subject.display_name or "",
            "identifiers": [
                {"scheme": i.scheme, "value": i.masked if i.scheme in personal or not i.value else i.value} for i in ids
            ],
        },
        "period": _span(period.first, period.last),
        "sources": _sources(catalog, subject.kind, public, period, cov, found, today, disputes),
        "lists": _lists(catalog, engine, subject_id, public, today, disputes),
        "supervision": None if person else _supervision(catalog, engine, subject_id, today, known_at),
        "objections": objections,
        "repairs": repairs,
        "data_version": {
            "catalog_version": catalog.version,
            "known_at": known_at.isoformat(),
            "as_of": today.isoformat(),
        },
    }
