"""Whole-catalog rules: references between entries and the principles no configuration may break.

Each check appends a `CatalogProblem` naming the entry and field, and the rule it breaks, so that
`xinyong catalog check` can print all of them at once.
"""

from __future__ import annotations

from typing import cast

import holidays

from xinyong.domain.catalog.condition_rules import Problems, check_conditions, type_ref
from xinyong.domain.catalog.loader import CatalogProblem, Located
from xinyong.domain.catalog.mapping_rules import check_mappings
from xinyong.domain.catalog.measure_rules import check_measure
from xinyong.domain.catalog.models import (
    CORE_FIELDS,
    PUBLICATION_MONTHS,
    AttributeSpec,
    ListDefinition,
    Polarity,
    Procedure,
    RecordType,
    Scheme,
    Severity,
    Source,
)
from xinyong.domain.catalog.ruleset_rules import check_rulesets
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

    for loc in located["schemes"]:
        _check_scheme(loc, problems)
    for loc in types.values():
        _check_record_type(loc, problems)
    for loc in sources.values():
        source = cast(Source, loc.entry)
        for i, type_id in enumerate(source.submits):
            if type_id not in types:
                problems.append(
                    loc.problem("unknown-reference", f"submits unknown record type '{type_id}'", "submits", i)
                )
    for loc in lists.values():
        _check_list(loc, types, problems)
    grades = check_rulesets(rulesets, types, problems)
    _check_procedures(located["procedures"], problems)
    for loc in located["measures"]:
        check_measure(loc, types, contexts, sources, lists, grades, problems)
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
            loc.problem(
                "least-data",
                "a scheme for persons identifies a person: set 'personal: true' so its numbers are "
                "stored only as keyed hashes and masks (principle 8)",
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
        if spec.enum is None and spec.max_length is None:
            problems.append(
                loc.problem(
                    "no-free-text",
                    f"attribute '{name}' is free text: give it an 'enum' of allowed values or a "
                    "'max_length' (closed record schemas, principle 8)",
                    *where,
                )
            )
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


def _check_list(loc: Located, types: dict[str, Located], problems: Problems) -> None:
    lst = cast(ListDefinition, loc.entry)
    for i, crit in enumerate(lst.entry):
        rt = type_ref(loc, crit.record_type, types, problems, "entry", i, "record_type")
        if rt is None:
            continue
        check_conditions(loc, crit.conditions, rt, problems, "entry", i)
        if not set(rt.subject_kinds) & set(lst.subject_kinds):
            problems.append(
                loc.problem("subject-kind", f"record type '{rt.id}' concerns no subject kind of this list", "entry", i)
            )
        if lst.kind == "black" and not (
            rt.polarity is Polarity.ADVERSE and rt.severity is Severity.SERIOUS and rt.requires_document
        ):
            problems.append(
                loc.problem(
                    "black-list-entry",
                    f"a black list takes only serious adverse records backed by a decision document; "
                    f"'{rt.id}' is {rt.polarity.value}"
                    + (f", {rt.severity.value}" if rt.severity else "")
                    + ("" if rt.requires_document else ", without required document"),
                    "entry",
                    i,
                    "record_type",
                )
            )
        if lst.kind == "red" and rt.polarity is not Polarity.FAVOURABLE:
            problems.append(
                loc.problem("red-list-entry", f"a red list takes only favourable records; '{rt.id}' is not", "entry", i)
            )
        if lst.kind == "watch" and rt.polarity is not Polarity.ADVERSE:
            problems.append(
                loc.problem(
                    "watch-list-entry", f"a watch list takes only adverse records; '{rt.id}' is not", "entry", i
                )
            )
    if lst.extension and lst.extension.min_months > lst.extension.max_months:
        problems.append(loc.problem("invalid-value", "extension min_months exceeds max_months", "extension"))


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
        cal = cast(Procedure, loc.entry).holiday_calendar
        if cal not in holidays.list_supported_countries():
            problems.append(
                loc.problem(
                    "procedure",
                    f"unknown holiday calendar '{cal}' (the holidays package's country codes)",
                    "holiday_calendar",
                )
            )
