"""Whole-catalog rules: references between entries and the principles no configuration may break.

Each check appends a `CatalogProblem` naming the entry and field, and the rule it breaks, so that
`xinyong catalog check` can print all of them at once.
"""

from __future__ import annotations

from typing import cast

from holidays.registry import COUNTRIES

from xinyong.domain.catalog import floors
from xinyong.domain.catalog.condition_rules import Problems
from xinyong.domain.catalog.list_rules import check_list
from xinyong.domain.catalog.mapping_rules import check_mappings
from xinyong.domain.catalog.measure_rules import check_measure, check_national_item
from xinyong.domain.catalog.models import (
    CORE_FIELDS,
    PUBLICATION_MONTHS,
    AttributeSpec,
    Measure,
    MeasureKind,
    Polarity,
    Procedure,
    RecordType,
    Scheme,
    Source,
)
from xinyong.domain.catalog.problems import CatalogProblem, Located
from xinyong.domain.catalog.ruleset_rules import check_rulesets
from xinyong.domain.catalog.safeguard_rules import (
    check_citations,
    check_contexts,
    check_record_type_scope,
    check_string_attribute,
)
from xinyong.domain.identifiers import load_scheme_module


def check_catalog(located: dict[str, list[Located]]) -> Problems:
    problems: Problems = []
    for entries in located.values():
        seen: dict[str, Located] = {}
        for loc in entries:
            key = loc.entry_id
            if key in seen:
                first = seen[key]
                problems.append(
                    loc.problem("duplicate-id", f"id already used at {first.file}:{first.line()}; ids must be unique")
                )
            else:
                seen[key] = loc

    def index(section: str) -> dict[str, Located]:
        return {loc.entry_id: loc for loc in located[section]}

    types = index("record_types")
    contexts = index("contexts")
    sources = index("sources")
    lists = index("lists")
    rulesets = located["rulesets"]

    check_citations(located, problems)
    check_contexts(located["contexts"], problems)
    for loc in located["schemes"]:
        _check_scheme(loc, problems)
    for loc in types.values():
        _check_record_type(loc, problems)
        check_record_type_scope(loc, problems)
    for loc in sources.values():
        source = cast(Source, loc.entry)
        for i, type_id in enumerate(source.submits):
            if type_id not in types:
                problems.append(
                    loc.problem("unknown-reference", f"submits unknown record type '{type_id}'", "submits", i)
                )
    measures = [cast(Measure, loc.entry) for loc in located["measures"]]
    sanctioning = {m.trigger.list for m in measures if m.kind is MeasureKind.SANCTION and m.trigger.list}
    for loc in lists.values():
        check_list(loc, types, sources, loc.entry_id in sanctioning, problems)
    grades = check_rulesets(rulesets, types, problems)
    _check_procedures(located["procedures"], problems)
    for loc in located["measures"]:
        check_measure(loc, types, contexts, sources, lists, grades, problems)
        check_national_item(loc, lists, problems)
    check_mappings(located["mappings"], sources, types, index("schemes"), problems)
    return problems


def _check_scheme(loc: Located, problems: Problems) -> None:
    scheme = cast(Scheme, loc.entry)
    try:
        load_scheme_module(scheme.id)
    except ValueError as exc:
        problems.append(loc.problem("unknown-scheme", str(exc), "id"))
    if scheme.subject_kind == "person" and not scheme.personal:
        problems.append(
            loc.violation(
                8,
                "least-data",
                "a scheme for persons identifies a person: set 'personal: true' so its numbers are "
                "stored only as keyed hashes and masks",
                "personal",
            )
        )


def _check_attribute(loc: Located, name: str, spec: AttributeSpec, problems: Problems) -> None:
    where = ("attributes", name)
    if name in CORE_FIELDS:
        problems.append(
            loc.problem("reserved-name", f"attribute '{name}' reuses a core record field; rename it", *where)
        )
    if spec.type == "string":
        check_string_attribute(loc, name, spec, problems)
        if spec.enum and spec.max_length and any(len(v) > spec.max_length for v in spec.enum):
            problems.append(
                loc.problem("invalid-value", f"attribute '{name}': an enum value exceeds max_length", *where)
            )
    else:
        for key in ("enum", "max_length", "pattern"):
            if getattr(spec, key) is not None:
                problems.append(
                    loc.problem(
                        "invalid-value", f"attribute '{name}': '{key}' applies to strings, not {spec.type}", *where, key
                    )
                )
    if spec.type not in ("integer", "decimal"):
        for key in ("minimum", "maximum"):
            if getattr(spec, key) is not None:
                problems.append(
                    loc.problem(
                        "invalid-value", f"attribute '{name}': '{key}' applies to numbers, not {spec.type}", *where, key
                    )
                )
    if spec.minimum is not None and spec.maximum is not None and spec.minimum > spec.maximum:
        problems.append(loc.problem("invalid-value", f"attribute '{name}': minimum exceeds maximum", *where))


def _check_record_type(loc: Located, problems: Problems) -> None:
    rt = cast(RecordType, loc.entry)
    if rt.polarity is Polarity.ADVERSE:
        if rt.severity is None:
            problems.append(
                loc.problem(
                    "severity", "an adverse record type needs a severity: minor, general or serious", "polarity"
                )
            )
        else:
            low, high = PUBLICATION_MONTHS[rt.severity]
            if not low <= rt.publication_months <= high:
                problems.append(
                    loc.problem(
                        "publication-period",
                        f"publication_months {rt.publication_months} is outside the {rt.severity.value} range "
                        f"{low}-{high} months (NDRC credit repair rules)",
                        "publication_months",
                    )
                )
    elif rt.severity is not None:
        problems.append(loc.problem("severity", "only adverse record types carry a severity", "severity"))
    if rt.adjudicated and rt.polarity is not Polarity.ADVERSE:
        problems.append(loc.problem("invalid-value", "only adverse records are adjudicated decisions", "adjudicated"))
    for name, spec in rt.attributes.items():
        _check_attribute(loc, name, spec, problems)


def _check_procedures(entries: list[Located], problems: Problems) -> None:
    if not entries:
        problems.append(
            CatalogProblem(
                "(catalog)",
                None,
                "",
                "procedure",
                "no 'procedures' entry: add one with the due-process deadlines (objection, appeal, repair)",
            )
        )
    for loc in entries[1:]:
        problems.append(
            loc.problem("procedure", "only one 'procedures' entry may be in force; merge it with the first")
        )
    for loc in entries:
        days = cast(Procedure, loc.entry).objection_decision_working_days
        if days > floors.OBJECTION_DECISION_WORKING_DAYS_MAX:
            problems.append(
                loc.violation(
                    5,
                    "due-process-floor",
                    f"objection_decision_working_days {days} is above the floor of "
                    f"{floors.OBJECTION_DECISION_WORKING_DAYS_MAX} working days to decide an objection "
                    "(configuration may be stricter than the floors in code, never looser)",
                    "objection_decision_working_days",
                )
            )
        cal = cast(Procedure, loc.entry).holiday_calendar
        if not _known_calendar(cal):
            problems.append(
                loc.problem(
                    "procedure",
                    f"unknown holiday calendar '{cal}' (the holidays package's country codes)",
                    "holiday_calendar",
                )
            )


def _known_calendar(code: str) -> bool:
    """Whether the holidays package has this country's calendar, read from its registry: listing
    the supported countries, or building one, imports all 250 country modules (a quarter of a
    second that each command loading the catalog would pay)."""
    return code in {entry[1] for entry in COUNTRIES.values()}
