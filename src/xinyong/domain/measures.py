"""Which measures apply to a subject in a context, and why: the decision of a check, as a pure function.

Every measure of the context is considered and answered with a reason, applied or not, so that an
allow is explained as well as a deny (principle 6). Sanctions rest only on list entries in force or
on adjudicated records linked by a checksum-valid identifier or a confirmed match (principle 4);
grades trigger only rewards and supervision (the catalog refuses anything else, principle 2); in a
protected context nothing applies at all (principle 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.models import PROTECTED_SECTORS, Effect, Measure
from xinyong.domain.lists import LINKS_THAT_MAY_LIST
from xinyong.domain.notices import basis_text
from xinyong.domain.scoring import RecordFact, condition_holds, with_publication_end


class Outcome(StrEnum):
    DENY = "deny"  # at least one measure denies
    REVIEW = "review"  # no denial, at least one measure calls for strict review
    ALLOW = "allow"  # no sanction applies (rewards and supervision may)


@dataclass(frozen=True)
class EntryFact:
    """A list entry of the subject as of the day of the check: in force, or listed once and ended.

    `note` says how a listing ended (removed on a day, void from the start), `suspended` why an
    entry in force cannot be used now (an objection past its deadline), `document_no` the
    decision document of the record it rests on.
    """

    entry_id: int
    list_id: str
    listed_on: date
    ends_on: date | None
    source_id: str
    source_ref: str
    disputed: bool = False
    in_force: bool = True
    note: str | None = None
    suspended: str | None = None
    document_no: str | None = None


@dataclass(frozen=True)
class LinkedRecord:
    """A record of the subject with how it was linked, and whether it is under objection."""

    fact: RecordFact
    link_method: str | None
    disputed: bool = False
    suspended: str | None = None  # why it cannot be used now: an objection past its deadline
    document_no: str | None = None
    linked_by: str | None = None  # a confirmed match: "review 12 on 2027-03-04"


@dataclass(frozen=True)
class SubjectFacts:
    subject_id: int
    subject_kind: str
    entries: Sequence[EntryFact] = ()
    records: Sequence[LinkedRecord] = ()
    grade: str | None = None  # the grade in force on the day, when the subject has one
    ruleset_id: str | None = None


@dataclass
class MeasureAnswer:
    measure_id: str
    name: str
    effect: str
    kind: str
    applies: bool
    implementing_department: str
    legal_basis: str
    reason: str
    basis: list[dict[str, Any]] = field(default_factory=list)
    disputed: bool = False
    suspended: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure_id,
            "name": self.name,
            "effect": self.effect,
            "kind": self.kind,
            "applies": self.applies,
            "implementing_department": self.implementing_department,
            "legal_basis": self.legal_basis,
            "reason": self.reason,
            "basis": self.basis,
            "disputed": self.disputed,
            "suspended": self.suspended,
        }


@dataclass
class Decision:
    context: str
    outcome: Outcome
    summary: str
    measures: list[MeasureAnswer]
    grade: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "outcome": self.outcome.value,
            "summary": self.summary,
            "grade": self.grade,
            "applied": [m.as_dict() for m in self.measures if m.applies],
            "not_applied": [m.as_dict() for m in self.measures if not m.applies],
        }


def _answer(measure: Measure, catalog: Catalog, applies: bool, reason: str, **kw: Any) -> MeasureAnswer:
    dept = catalog.sources.get(measure.implementing_department)
    return MeasureAnswer(
        measure.id,
        measure.name,
        measure.effect.value,
        measure.kind.value,
        applies,
        dept.name if dept else measure.implementing_department,
        basis_text(measure.legal_basis),
        reason,
        **kw,
    )


def _by_list(measure: Measure, catalog: Catalog, facts: SubjectFacts) -> MeasureAnswer:
    list_id = str(measure.trigger.list)
    listing = catalog.lists[list_id]
    mine = [e for e in facts.entries if e.list_id == list_id]
    hits = [e for e in mine if e.in_force]
    ended = "".join(f"; entry {e.entry_id} {e.note}" for e in mine if not e.in_force and e.note)
    if not hits:
        return _answer(
            measure,
            catalog,
            False,
            f"does not apply: the subject has no entry in force on the {listing.name}{ended}",
        )
    chain = f"list legal basis: {basis_text(listing.legal_basis)}"
    basis = [
        {
            "entry": e.entry_id,
            "list": e.list_id,
            "listed_on": e.listed_on.isoformat(),
            "ends_on": e.ends_on.isoformat() if e.ends_on else None,
            "record": f"{e.source_id}/{e.source_ref}",
            "document_no": e.document_no,
            "list_legal_basis": basis_text(listing.legal_basis),
            "disputed": e.disputed,
            "suspended": e.suspended,
        }
        for e in hits
    ]
    usable = [e for e in hits if e.suspended is None]
    if not usable:
        why = "; ".join(str(e.suspended) for e in hits)
        return _answer(measure, catalog, False, f"does not apply: {why}", basis=basis, disputed=True, suspended=True)
    first = usable[0]
    until = f" until {first.ends_on.isoformat()}" if first.ends_on else ""
    decision = f" (decision {first.document_no})" if first.document_no else ""
    later = f"; entry {first.entry_id} later {first.note}" if first.note else ""
    reason = (
        f"applies: entry {first.entry_id} on the {listing.name} is in force since {first.listed_on.isoformat()}"
        f"{until}, grounded on record {first.source_id}/{first.source_ref}{decision}; {chain}{later}"
    )
    return _answer(measure, catalog, True, reason, basis=basis, disputed=any(e.disputed for e in hits))


def _by_record(measure: Measure, catalog: Catalog, facts: SubjectFacts, as_of: date) -> MeasureAnswer:
    type_id = str(measure.trigger.record_type)
    rt = catalog.record_types[type_id]
    valid = [
        r
        for r in facts.records
        if r.fact.record_type == type_id
        and with_publication_end(catalog, r.fact).valid_on(as_of)
        and all(condition_holds(c, r.fact.attributes) for c in measure.trigger.conditions)
    ]
    if not valid:
        return _answer(measure, catalog, False, f"does not apply: no {rt.name} record of the subject is in force")
    linked = [r for r in valid if r.link_method in LINKS_THAT_MAY_LIST]
    if not linked:
        return _answer(
            measure,
            catalog,
            False,
            f"does not apply: the {rt.name} record is linked to the subject only by a match no person has "
            "confirmed, and no measure rests on such a link (principle 4)",
        )
    basis = [
        {
            "record": f"{r.fact.source_id}/{r.fact.source_ref}",
            "record_type": type_id,
            "valid_from": r.fact.valid_from.isoformat(),
            "document_no": r.document_no,
            "record_legal_basis": basis_text(rt.legal_basis),
            "disputed": r.disputed,
            "suspended": r.suspended,
            **({"linked_by": r.linked_by} if r.linked_by else {}),
        }
        for r in linked
    ]
    usable = [r for r in linked if r.suspended is None]
    if not usable:
        why = "; ".join(str(r.suspended) for r in linked)
        return _answer(measure, catalog, False, f"does not apply: {why}", basis=basis, disputed=True, suspended=True)
    r = usable[0]
    decision = f" (decision {r.document_no})" if r.document_no else ""
    reason = (
        f"applies: {rt.name} record {r.fact.source_id}/{r.fact.source_ref}{decision} is in force since "
        f"{r.fact.valid_from}; legal basis of the record: {basis_text(rt.legal_basis)}"
    )
    if r.linked_by:
        reason += f" (linked to the subject by {r.linked_by})"
    return _answer(measure, catalog, True, reason, basis=basis, disputed=any(x.disputed for x in linked))


def _by_grade(measure: Measure, catalog: Catalog, facts: SubjectFacts) -> MeasureAnswer:
    trig = measure.trigger.grade
    if trig is None:  # the caller dispatches on the trigger; a grade trigger is what is left
        raise ValueError(f"measure {measure.id} has no grade trigger")
    if facts.grade is None:
        return _answer(
            measure, catalog, False, "does not apply: the subject has no grade (not scored, or not opted in)"
        )
    if facts.grade not in trig.grades:
        return _answer(
            measure, catalog, False, f"does not apply: grade {facts.grade} is not one of {', '.join(trig.grades)}"
        )
    reason = f"applies: the subject's grade is {facts.grade} under ruleset {facts.ruleset_id}"
    return _answer(measure, catalog, True, reason, basis=[{"grade": facts.grade, "ruleset": facts.ruleset_id}])


def decide(
    catalog: Catalog, context_id: str, facts: SubjectFacts | None, as_of: date, why_unknown: str = ""
) -> Decision:
    """The decision of a check: every measure of the context, applied or not, with its reason."""
    context = catalog.contexts[context_id]
    if context.sector in PROTECTED_SECTORS:
        return Decision(
            context_id,
            Outcome.ALLOW,
            f"no measure of any kind applies in {context.name} ({context.sector.value} is a protected "
            "sector, principle 3)",
            [],
        )
    candidates = [m for m in catalog.measures.values() if context_id in m.contexts]
    if facts is None:
        reason = why_unknown or "the platform holds no record linked to this identifier"
        answers = [_answer(m, catalog, False, f"does not apply: {reason}") for m in candidates]
        return Decision(context_id, Outcome.ALLOW, f"No measure applies: {reason}.", answers)
    answers = []
    for m in sorted(candidates, key=lambda m: m.id):
        if facts.subject_kind not in m.subject_kinds:
            answers.append(_answer(m, catalog, False, f"does not apply: it concerns {', '.join(m.subject_kinds)} only"))
        elif m.trigger.list is not None:
            answers.append(_by_list(m, catalog, facts))
        elif m.trigger.record_type is not None:
            answers.append(_by_record(m, catalog, facts, as_of))
        else:
            answers.append(_by_grade(m, catalog, facts))
    effects = {a.effect for a in answers if a.applies}
    outcome = (
        Outcome.DENY
        if Effect.DENY.value in effects
        else Outcome.REVIEW
        if Effect.REVIEW.value in effects
        else Outcome.ALLOW
    )
    applied = [a for a in answers if a.applies]
    if applied:
        summary = f"{outcome.value.upper()}: " + "; ".join(f"{a.name} ({a.effect})" for a in applied) + "."
    else:
        summary = f"ALLOW: none of the {len(answers)} measures of {context.name} applies to this subject."
    if any(a.disputed for a in applied):
        summary += " The subject disputes a ground of this decision; an objection is pending."
    if any(a.suspended for a in answers):
        summary += (
            " A sanction is suspended: an objection to its ground is past its decision deadline, and what "
            "cannot be verified in time is not used (FCRA s.611)."
        )
    return Decision(context_id, outcome, summary, answers, facts.grade)
