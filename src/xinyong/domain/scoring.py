"""Online scoring: one subject's records, one ruleset, one date, explained.

This is the reference definition of a score. The batch engines (DuckDB, Spark) compute the same
thing set-based, and a property test holds them to identical points, grades and contributions.
To make that possible every quantity is an integer number of hundredths of a point ("cp"), and
each step is written so that integer SQL computes it the same way:

1. A record counts when it is active, linked to the subject, and valid on `as_of`
   (valid_from <= as_of < valid_until). A record sent without valid_until ends with its type's
   publication period (valid_from + publication_months, clamped to the month's last day), so no
   record counts forever; types without a period (consent) count until replaced. Persons are
   scored only while their latest valid consent record (by decided_on, then record id) grants it.
2. Each rule of the ruleset in force applies to each counting record of its type whose
   attributes meet all its conditions (a missing attribute meets no condition). Its raw points:
   - constant: `points`;
   - proportional: floor(min(value_cents, c) * |points| / per_cents), at most `cap`, with the
     sign of `points` (value_cents = the attribute, never negative, rounded to hundredths half
     up; c = the smallest value that reaches the cap, so huge amounts cannot overflow);
   - with decay over D days: floor(|raw| * max(D - age, 0) / D), same sign, where age is
     as_of - valid_from in days.
3. A rule's total over its records is limited to `cap` in magnitude; the difference is a
   contribution of its own, so the explanation adds up.
4. Score = base + rule totals, limited to [floor, ceiling] (again as a visible contribution).
5. Grade: the band with min <= score < max.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.models import Condition
from xinyong.domain.catalog.ruleset_models import ProportionalPoints, Rule, Ruleset

Status = Literal["scored", "not_opted_in", "no_ruleset"]


def cp(x: float) -> int:
    """Points to integer hundredths (catalog values have at most two decimals)."""
    return round(x * 100)


@dataclass(frozen=True, slots=True)
class RecordFact:
    """What scoring needs to know of one record version (the version known at the time asked)."""

    record_id: int
    record_type: str
    decided_on: date
    valid_from: date
    valid_until: date | None
    attributes: Mapping[str, Any]
    status: str = "active"
    source_id: str = ""
    source_ref: str = ""

    def valid_on(self, day: date) -> bool:
        return (
            self.status == "active" and self.valid_from <= day and (self.valid_until is None or day < self.valid_until)
        )


@dataclass(frozen=True, slots=True)
class Contribution:
    """Points one rule gave for one record; or, with no record, a cap or limit applied."""

    rule_id: str
    points_cp: int
    record_id: int | None = None
    kind: Literal["record", "rule_cap", "score_limit"] = "record"

    def as_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "points_cp": self.points_cp, "record_id": self.record_id, "kind": self.kind}


@dataclass(frozen=True)
class Score:
    """A subject's score on one day under one ruleset, with every contribution."""

    subject_kind: str
    as_of: date
    status: Status
    ruleset_id: str | None = None
    ruleset_version: str | None = None
    points_cp: int | None = None
    grade: str | None = None
    contributions: tuple[Contribution, ...] = field(default_factory=tuple)

    @property
    def points(self) -> float | None:
        return None if self.points_cp is None else self.points_cp / 100


def ruleset_in_force(catalog: Catalog, kind: str, day: date) -> Ruleset | None:
    """The ruleset for `kind` whose effective period contains `day` (the loader forbids overlaps)."""
    for rs in catalog.rulesets.values():
        if (
            rs.subject_kind == kind
            and rs.effective_from <= day
            and (rs.effective_until is None or day < rs.effective_until)
        ):
            return rs
    return None


def _value(v: Any) -> Any:
    """Attribute values compare as numbers, text, booleans, or ISO dates (text orders like dates)."""
    if isinstance(v, date):
        return v.isoformat()
    return v


def _kind(v: Any) -> str | None:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "text"
    return None


def condition_holds(cond: Condition, attributes: Mapping[str, Any]) -> bool:
    """Whether a record's attribute meets a condition. A missing value, or a value of another
    kind than the condition's (text for a number, a boolean for a number), meets none."""
    if cond.attribute not in attributes or attributes[cond.attribute] is None:
        return False
    v = _value(attributes[cond.attribute])
    want = [_value(x) for x in cond.value] if isinstance(cond.value, list) else _value(cond.value)
    kind = _kind(v)
    if kind is None or any(_kind(w) != kind for w in (want if isinstance(want, list) else [want])):
        return False
    try:
        match cond.op:
            case "eq":
                return bool(v == want)
            case "ne":
                return bool(v != want)
            case "lt":
                return bool(v < want)
            case "le":
                return bool(v <= want)
            case "gt":
                return bool(v > want)
            case "ge":
                return bool(v >= want)
            case "in":
                return v in want
            case "not_in":
                return v not in want
            case "between":
                low, high = want
                return bool(low <= v <= high)
    except TypeError:  # a value of another type than the catalog declares never matches
        return False
    return False


def cents_reaching_cap(p: ProportionalPoints) -> int:
    """A value (in hundredths) at which the proportional points already reach their cap."""
    return -(-cp(p.cap) * cp(p.per) // abs(cp(p.points))) + 1 if p.points else 0


def add_months(day: date, months: int) -> date:
    """`day` plus whole months, clamped to the last day of the month (as SQL date arithmetic)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def with_publication_end(catalog: Catalog, fact: RecordFact) -> RecordFact:
    """The fact with valid_until set from its type's publication period when the source gave none."""
    if fact.valid_until is not None:
        return fact
    rt = catalog.record_types.get(fact.record_type)
    if rt is None or rt.publication_months == 0:
        return fact
    return replace(fact, valid_until=add_months(fact.valid_from, rt.publication_months))


def rule_points(rule: Rule, fact: RecordFact, as_of: date) -> int | None:
    """Raw points of one rule for one record (None when the rule does not apply to it)."""
    if rule.record_type != fact.record_type:
        return None
    if not all(condition_holds(c, fact.attributes) for c in rule.conditions):
        return None
    if isinstance(rule.points, ProportionalPoints):
        p = rule.points
        value = fact.attributes.get(p.attribute)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            return None
        cents = min(math.floor(value * 100 + 0.5), cents_reaching_cap(p))  # half up, as SQL ROUND
        magnitude = min(cents * abs(cp(p.points)) // cp(p.per), cp(p.cap))
        sign = -1 if p.points < 0 else 1
    else:
        magnitude = abs(cp(rule.points))
        sign = -1 if rule.points < 0 else 1
    if rule.decay is not None:
        days = rule.decay.days
        age = (as_of - fact.valid_from).days
        magnitude = magnitude * max(days - age, 0) // days
    return sign * magnitude


def consents(ruleset: Ruleset, facts: Sequence[RecordFact], as_of: date) -> bool:
    """Whether a person has opted in: their latest valid consent record grants it."""
    if ruleset.requires_consent is None:
        return True
    valid = [f for f in facts if f.record_type == ruleset.requires_consent and f.valid_on(as_of)]
    if not valid:
        return False
    latest = max(valid, key=lambda f: (f.decided_on, f.record_id))
    return latest.attributes.get("consent") == "granted"


def score_subject(
    catalog: Catalog, kind: str, facts: Iterable[RecordFact], as_of: date, ruleset: Ruleset | None = None
) -> Score:
    """Score one subject from the record versions known at the time asked.

    `ruleset` overrides the one in force (for what-if comparisons of a ruleset not yet in force).
    """
    ruleset = ruleset or ruleset_in_force(catalog, kind, as_of)
    if ruleset is None:
        return Score(kind, as_of, "no_ruleset")
    facts = sorted((with_publication_end(catalog, f) for f in facts), key=lambda f: f.record_id)
    if not consents(ruleset, facts, as_of):
        return Score(kind, as_of, "not_opted_in", ruleset.id, ruleset.version)
    counting = [f for f in facts if f.valid_on(as_of)]
    contributions: list[Contribution] = []
    total = cp(ruleset.base)
    for rule in ruleset.rules:
        rule_total = 0
        for fact in counting:
            pts = rule_points(rule, fact, as_of)
            if pts is not None:
                contributions.append(Contribution(rule.id, pts, fact.record_id))
                rule_total += pts
        if rule.cap is not None and abs(rule_total) > cp(rule.cap):
            capped = cp(rule.cap) if rule_total > 0 else -cp(rule.cap)
            contributions.append(Contribution(rule.id, capped - rule_total, None, "rule_cap"))
            rule_total = capped
        total += rule_total
    limited = total
    if ruleset.floor is not None:
        limited = max(limited, cp(ruleset.floor))
    if ruleset.ceiling is not None:
        limited = min(limited, cp(ruleset.ceiling))
    if limited != total:
        contributions.append(Contribution("limit", limited - total, None, "score_limit"))
    return Score(
        kind,
        as_of,
        "scored",
        ruleset.id,
        ruleset.version,
        limited,
        grade_for(ruleset, limited),
        tuple(contributions),
    )


def grade_for(ruleset: Ruleset, points_cp: int) -> str:
    for band in ruleset.bands:
        if (band.min is None or points_cp >= cp(band.min)) and (band.max is None or points_cp < cp(band.max)):
            return band.grade
    raise ValueError(f"no band of ruleset {ruleset.id} holds {points_cp / 100}")  # the loader makes this impossible
