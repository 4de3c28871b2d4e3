"""Pydantic models of scoring rulesets: rules with their points (fixed or proportional), caps and
decay, and the grade bands (see `models.py` for the other catalog entries)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from xinyong.domain.catalog.models import AttrName, Condition, Entry, Id, LegalBasis, SubjectKind, Text


def _two_decimals(x: float) -> float:
    if abs(x * 100 - round(x * 100)) > 1e-6 or abs(x) >= 1e9:
        raise ValueError(f"{x} must have at most two decimals and be below 10^9 (scores are kept in hundredths)")
    return x


# Score arithmetic is done in integer hundredths of a point, identically in every engine.
Points = Annotated[float, AfterValidator(_two_decimals)]
PositivePoints = Annotated[float, Field(gt=0), AfterValidator(_two_decimals)]


class ProportionalPoints(Entry):
    """`points` for every `per` units of a numeric attribute, at most `cap` in magnitude."""

    attribute: AttrName
    per: PositivePoints
    points: Points
    cap: PositivePoints


class Decay(Entry):
    """Linear decay of a rule's points to zero over `days` after the record's valid_from."""

    days: Annotated[int, Field(ge=1, le=3650)]


class Rule(Entry):
    id: Id
    record_type: Id
    conditions: list[Condition] = Field(default_factory=list)
    points: Points | ProportionalPoints
    cap: PositivePoints | None = None
    decay: Decay | None = None
    reason: Annotated[str, StringConstraints(min_length=5, max_length=300)]


class Band(Entry):
    """A grade for scores with min <= points < max (an absent bound is open)."""

    grade: Annotated[str, StringConstraints(min_length=1, max_length=8)]
    min: Points | None = None
    max: Points | None = None
    meaning: Annotated[str, StringConstraints(max_length=300)] = ""


class Ruleset(Entry):
    id: Id
    version: Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)*$")]
    subject_kind: SubjectKind
    effective_from: date
    effective_until: date | None = None
    base: Points
    floor: Points | None = None
    ceiling: Points | None = None
    requires_consent: Id | None = None
    rules: list[Rule] = Field(default_factory=list)
    bands: Annotated[list[Band], Field(min_length=1)]
    legal_basis: LegalBasis
    description: Text = ""
