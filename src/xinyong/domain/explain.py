"""Plain-language explanations of scores (principle 6: explain everything, allow and deny alike)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xinyong.domain.catalog import Catalog
from xinyong.domain.scoring import RecordFact, Score


def points(cp: int, signed: bool = True) -> str:
    return f"{cp / 100:+,.2f}" if signed else f"{cp / 100:,.2f}"


def _record_line(fact: RecordFact, catalog: Catalog) -> str:
    rt = catalog.record_types[fact.record_type]
    until = f" until {fact.valid_until.isoformat()}" if fact.valid_until else ""
    return (
        f"{rt.name} ({rt.id}), {fact.source_id} record {fact.source_ref}, decided {fact.decided_on.isoformat()}, "
        f"in force from {fact.valid_from.isoformat()}{until}; legal basis: {rt.legal_basis.cite()}"
    )


def explain_score(
    score: Score,
    facts: Mapping[int, RecordFact],
    catalog: Catalog,
    known_at: str,
    disputed: frozenset[tuple[str, str]] = frozenset(),
    link_marks: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """A structured explanation: summary sentence, and one sentence per contribution.

    A contribution from a record under open objection (`disputed`: source and source_ref) is
    marked, so that whoever reads the score sees that the subject contests it; one from a record a
    person linked to the subject (`link_marks`: record version -> "review 12 on D") names that
    decision, since no identifier on the record says it is the subject's."""
    head: dict[str, Any] = {
        "as_of": score.as_of.isoformat(),
        "known_at": known_at,
        "catalog_version": catalog.version,
        "status": score.status,
        "subject_kind": score.subject_kind,
    }
    rs = catalog.rulesets.get(score.ruleset_id or "")
    if score.status == "no_ruleset" or rs is None:
        head["summary"] = f"Not scored: no ruleset for {score.subject_kind}s is in force on {score.as_of.isoformat()}."
        head["contributions"] = []
        return head
    head.update(ruleset=rs.id, ruleset_version=rs.version, ruleset_legal_basis=rs.legal_basis.cite())
    if score.status == "not_opted_in":
        head["summary"] = (
            "Not scored: residents are scored only while they have opted in, and there is no current consent "
            f"({rs.requires_consent}) on {score.as_of.isoformat()}. A score never applies a sanction."
        )
        head["contributions"] = []
        return head
    if score.points_cp is None:
        raise ValueError("a scored subject has points")
    band = next(b for b in rs.bands if b.grade == score.grade)
    meaning = f": {band.meaning}" if band.meaning else ""
    head.update(points=score.points_cp / 100, grade=score.grade, base=rs.base)
    head["summary"] = (
        f"Score {points(score.points_cp, False)}, grade {score.grade}{meaning}. "
        f"Ruleset {rs.id} {rs.version} starts every {score.subject_kind} at {rs.base:,.2f}."
    )
    rules = {r.id: r for r in rs.rules}
    lines = [
        _contribution(c, rules, rs, score, facts, catalog, disputed, link_marks or {}) for c in score.contributions
    ]
    head["contributions"] = lines
    if not lines:
        counting = [f for f in facts.values() if f.valid_on(score.as_of)]
        head["no_contributions_because"] = (
            "no records are known for this subject"
            if not facts
            else f"none of the {len(facts)} known record(s) is in force on {score.as_of.isoformat()} (expired, "
            "not yet in force, revoked or repaired)"
            if not counting
            else "no rule of the ruleset applies to its records in force"
        )
    return head


def _contribution(
    c: Any,
    rules: Mapping[str, Any],
    rs: Any,
    score: Score,
    facts: Mapping[int, RecordFact],
    catalog: Catalog,
    disputed: frozenset[tuple[str, str]],
    link_marks: Mapping[int, str],
) -> dict[str, Any]:
    """One contribution of a score, in a sentence (see `explain_score`)."""
    entry: dict[str, Any] = {"rule": c.rule_id, "points": c.points_cp / 100, "kind": c.kind}
    if c.kind == "record" and c.record_id is not None:
        rule = rules[c.rule_id]
        fact = facts[c.record_id]
        entry.update(record_id=c.record_id, record_type=fact.record_type)
        decay = ""
        if rule.decay is not None:
            age = (score.as_of - fact.valid_from).days
            decay = f", fading over {rule.decay.days} days ({age} days old)"
        entry["reason"] = f"{points(c.points_cp)} because {rule.reason}{decay}. Record: {_record_line(fact, catalog)}."
        mark = link_marks.get(c.record_id)
        if mark:
            entry["linked_by"] = mark
            entry["reason"] += f" Linked to the subject by {mark}, not by an identifier on the record."
        if (fact.source_id, fact.source_ref) in disputed:
            entry["disputed"] = True
            entry["reason"] = "[DISPUTED: under objection] " + entry["reason"]
    elif c.kind == "rule_cap":
        rule = rules[c.rule_id]
        entry["reason"] = (
            f"{points(c.points_cp)}: rule '{rule.id}' counts at most {rule.cap:,.2f} points in all, "
            "however many records it applies to."
        )
    else:
        entry["reason"] = f"{points(c.points_cp)}: the score is kept between {rs.floor} and {rs.ceiling}."
    return entry
