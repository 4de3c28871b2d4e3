"""Pydantic models of catalog entries.

Each model validates one entry on its own (types, required fields, unknown keys). Rules that need
the whole catalog (references, principles that relate a measure to its trigger) live in
`rules.py`, so that each refusal can name the entry and field it concerns.
"""

from __future__ import annotations

import builtins
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=64)]
Name = Annotated[str, StringConstraints(min_length=2, max_length=200, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(max_length=2000)]
AttrName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
SubjectKind = Literal["person", "organisation"]


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LegalBasis(Entry):
    """The law, article or decision document that allows an entry to exist (principle 1)."""

    instrument: Annotated[str, StringConstraints(min_length=3, max_length=300, strip_whitespace=True)]
    article: Annotated[str, StringConstraints(max_length=100)] | None = None
    document: Annotated[str, StringConstraints(max_length=200)] | None = None
    url: Annotated[str, StringConstraints(pattern=r"^https?://", max_length=500)] | None = None

    def cite(self) -> str:
        """E.g. "Work Safety Law of the People's Republic of China, Art. 78 (Order No. 88)"."""
        text = self.instrument
        if self.article:
            text += f", {self.article}"
        if self.document:
            text += f" ({self.document})"
        return text


class Sector(StrEnum):
    """Where a context belongs. The first six are protected: no measure may ever apply there."""

    HEALTHCARE = "healthcare"
    EDUCATION = "education"
    SOCIAL_ASSISTANCE = "social_assistance"
    UTILITIES = "utilities"
    EMERGENCY_SERVICES = "emergency_services"
    JUSTICE = "justice"
    PROCUREMENT = "procurement"
    PERMITS = "permits"
    INSPECTION = "inspection"
    FINANCE = "finance"
    CUSTOMS = "customs"
    TAX = "tax"
    MARKET_ACCESS = "market_access"
    HONOURS = "honours"


PROTECTED_SECTORS = frozenset(
    {
        Sector.HEALTHCARE,
        Sector.EDUCATION,
        Sector.SOCIAL_ASSISTANCE,
        Sector.UTILITIES,
        Sector.EMERGENCY_SERVICES,
        Sector.JUSTICE,
    }
)


class Scheme(Entry):
    """An identifier scheme known to python-stdnum, and whether its numbers are personal data."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,10}(\.[a-z]{2,10})?$")]
    name: Name
    subject_kind: SubjectKind
    personal: bool


class Source(Entry):
    """A department. It submits records only of the types listed in `submits`."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=32)]
    name: Name
    name_zh: Name | None = None
    submits: list[Id] = Field(default_factory=list)
    legal_basis: LegalBasis | None = None


class Purpose(Entry):
    """What a check in a context is for: a short code a consumer key is bound to, with its names.

    The code is checked by the loader (not here), so that a malformed one is refused under
    principle 8 with the context it belongs to.
    """

    code: Annotated[str, StringConstraints(max_length=100)]
    name: Name
    name_zh: Name


class Context(Entry):
    """A situation in which a consuming department asks before it acts, and the purposes it may ask for."""

    id: Id
    name: Name
    name_zh: Name | None = None
    sector: Sector
    purposes: list[Purpose] = Field(default_factory=list)
    description: Text = ""


class Polarity(StrEnum):
    ADVERSE = "adverse"
    FAVOURABLE = "favourable"
    NEUTRAL = "neutral"


class Severity(StrEnum):
    MINOR = "minor"
    GENERAL = "general"
    SERIOUS = "serious"


# Publication period bounds in months per severity, from the NDRC credit repair rules.
PUBLICATION_MONTHS: dict[Severity, tuple[int, int]] = {
    Severity.MINOR: (0, 3),
    Severity.GENERAL: (3, 12),
    Severity.SERIOUS: (12, 36),
}


class AttributeSpec(Entry):
    """One structured attribute of a record type. There is no free text: strings are bounded."""

    type: Literal["string", "integer", "decimal", "boolean", "date"]
    description: Text = ""
    required: bool = True
    enum: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] | None = None
    max_length: Annotated[int, Field(ge=1, le=200)] | None = None
    pattern: Annotated[str, StringConstraints(max_length=200)] | None = None
    minimum: float | None = None
    maximum: float | None = None
    unit: Annotated[str, StringConstraints(max_length=20)] | None = None


CATEGORIES = (
    "judicial",
    "tax",
    "market",
    "environment",
    "labour",
    "safety",
    "customs",
    "quality",
    "honours",
    "consent",
)


class RecordType(Entry):
    id: Id
    name: Name
    name_zh: Name | None = None
    # One of CATEGORIES; checked by the loader so that a never-in-scope one is refused as such.
    category: Annotated[str, StringConstraints(max_length=40)]
    polarity: Polarity
    severity: Severity | None = None
    subject_kinds: Annotated[list[SubjectKind], Field(min_length=1)]
    adjudicated: bool = False
    requires_document: bool = True
    publication_months: Annotated[int, Field(ge=0, le=120)]
    public: bool
    attributes: dict[AttrName, AttributeSpec] = Field(default_factory=dict)
    legal_basis: LegalBasis
    description: Text = ""


Op = Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "between"]
Scalar = str | int | float | bool | date


class Condition(Entry):
    """A structured test on one attribute. No code, no expressions: a field, an operator, a value."""

    attribute: AttrName
    op: Op
    value: Scalar | list[Scalar]

    @model_validator(mode="after")
    def _shape(self) -> Condition:
        is_list = isinstance(self.value, list)
        if self.op in ("in", "not_in") and not (is_list and self.value):
            raise ValueError(f"operator '{self.op}' needs a non-empty list of values")
        if self.op == "between" and not (is_list and len(self.value) == 2):  # type: ignore[arg-type]
            raise ValueError("operator 'between' needs a list of exactly two values [low, high]")
        if self.op not in ("in", "not_in", "between") and is_list:
            raise ValueError(f"operator '{self.op}' needs a single value, not a list")
        return self


class Criterion(Entry):
    """Records of one type, optionally narrowed by conditions on their attributes."""

    record_type: Id
    conditions: list[Condition] = Field(default_factory=list)


class Extension(Entry):
    min_months: Annotated[int, Field(ge=1, le=36)] = 12
    max_months: Annotated[int, Field(ge=1, le=36)] = 36


class Removal(Entry):
    """When an entry leaves its list before its term ends."""

    when: Literal["obligation_met", "record_revoked", "repair_approved"]
    within_working_days: Annotated[int, Field(ge=0, le=90)]


class ListDefinition(Entry):
    id: Id
    kind: Literal["black", "red", "watch"]
    name: Name
    name_zh: Name | None = None
    subject_kinds: Annotated[list[SubjectKind], Field(min_length=1)]
    entry: Annotated[list[Criterion], Field(min_length=1)]
    # The source that decides its entries (a national list keeps its owning authority); with an
    # owner, only that source's record decisions end an entry, unless `repair_basis` cites the
    # provision of the owner's law that allows credit repair.
    owner: Annotated[str, StringConstraints(max_length=32)] | None = None
    reviewer_required: bool = True
    notice_days: Annotated[int, Field(ge=0, le=90)] = 30
    # Wide bounds: the floors of floors.py are checked by the loader, naming principle 5.
    term_months: Annotated[int, Field(ge=1, le=120)] = 24
    extension: Extension | None = None
    removal: list[Removal] = Field(default_factory=list)
    repairable: bool = True
    repair_basis: LegalBasis | None = None
    # How a subject asks the owner itself to review its decision, and the provision that gives that
    # right: told when the owner answers an objection that its record stands (the platform cannot
    # change an owner's decision, so it names the owner's own review instead of an appeal).
    review_route: Annotated[str, StringConstraints(min_length=10, max_length=500, strip_whitespace=True)] | None = None
    review_basis: LegalBasis | None = None
    public: bool
    legal_basis: LegalBasis
    description: Text = ""

    @model_validator(mode="after")
    def _review(self) -> ListDefinition:
        if (self.review_route is None) != (self.review_basis is None):
            raise ValueError("'review_route' and 'review_basis' go together: the owner's review and its provision")
        if self.review_route is not None and self.owner is None:
            raise ValueError("'review_route' names the review of a list's owner: set 'owner', or drop it")
        return self


class Effect(StrEnum):
    DENY = "deny"
    REVIEW = "review"
    FAST_TRACK = "fast_track"
    WAIVE_DEPOSIT = "waive_deposit"
    INSPECT_MORE = "inspect_more"
    INSPECT_LESS = "inspect_less"


class MeasureKind(StrEnum):
    SANCTION = "sanction"
    REWARD = "reward"
    SUPERVISION = "supervision"


EFFECT_KIND: dict[Effect, MeasureKind] = {
    Effect.DENY: MeasureKind.SANCTION,
    Effect.REVIEW: MeasureKind.SANCTION,
    Effect.FAST_TRACK: MeasureKind.REWARD,
    Effect.WAIVE_DEPOSIT: MeasureKind.REWARD,
    Effect.INSPECT_MORE: MeasureKind.SUPERVISION,
    Effect.INSPECT_LESS: MeasureKind.SUPERVISION,
}


class GradeTrigger(Entry):
    subject_kind: SubjectKind
    grades: Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=8)]], Field(min_length=1)]


class Trigger(Entry):
    """What makes a measure apply: exactly one of a list, a record type or a grade."""

    list: Id | None = None
    record_type: Id | None = None
    conditions: builtins.list[Condition] = Field(default_factory=builtins.list)
    grade: GradeTrigger | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        given = [k for k in ("list", "record_type", "grade") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a trigger names exactly one of 'list', 'record_type' or 'grade'")
        if self.conditions and self.record_type is None:
            raise ValueError("'conditions' narrow a 'record_type' trigger only")
        return self


class NationalItem(Entry):
    """The item of the national basic list of disciplinary measures a sanction applies.

    `edition` names the list (2021: 全国失信惩戒措施基础清单 (2021年版), Fa Gai Cai Jin Gui [2021] No. 1827);
    `item` its running number, where the catalog's authors have checked it against the text.
    The loader checks both against the editions it knows (rules.NATIONAL_LIST_EDITIONS).
    """

    edition: Annotated[str, StringConstraints(max_length=10)]
    item: int | None = None


class Measure(Entry):
    id: Id
    name: Name
    name_zh: Name | None = None
    effect: Effect
    implementing_department: Id
    contexts: Annotated[list[Id], Field(min_length=1)]
    trigger: Trigger
    binds: Annotated[str, StringConstraints(max_length=40)] = "subject"
    subject_kinds: Annotated[list[SubjectKind], Field(min_length=1)]
    legal_basis: LegalBasis
    national_item: NationalItem | None = None
    description: Text = ""

    @property
    def kind(self) -> MeasureKind:
        return EFFECT_KIND[self.effect]


class RepairMinimum(Entry):
    """Minimum period, in months from the record's valid_from, before repair may be approved."""

    minor: Annotated[int, Field(ge=0, le=36)] = 0
    general: Annotated[int, Field(ge=0, le=36)] = 3
    serious: Annotated[int, Field(ge=0, le=60)] = 12


class Procedure(Entry):
    """Due-process deadlines: one entry, the defaults of the reference table, as policy data."""

    id: Id
    objection_decision_working_days: Annotated[int, Field(ge=1, le=45)] = 15
    appeal_days: Annotated[int, Field(ge=1, le=60)] = 10
    correction_working_days: Annotated[int, Field(ge=1, le=15)] = 3
    repair_decision_working_days: Annotated[int, Field(ge=1, le=30)] = 10
    repair_min_months: RepairMinimum = Field(default_factory=RepairMinimum)
    holiday_calendar: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "CN"
    legal_basis: LegalBasis
    description: Text = ""


# Columns every record carries; attribute names may not reuse them.
CORE_FIELDS = (
    "source_ref",
    "revision",
    "record_type",
    "subject_name",
    "id_scheme",
    "id_number",
    "decided_on",
    "valid_from",
    "valid_until",
    "document_no",
)
