"""Whole-catalog rules: references between entries and the principles no configuration may break.

Each check appends a `CatalogProblem` naming the entry and field, and the rule it breaks, so that
`xinyong catalog check` can print all of them at once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from itertools import pairwise
from typing import cast

import holidays

from xinyong.domain.catalog.loader import CatalogProblem, Located
from xinyong.domain.catalog.models import (
    CORE_FIELDS,
    PROTECTED_SECTORS,
    PUBLICATION_MONTHS,
    AttributeSpec,
    Condition,
    Context,
    ListDefinition,
    Measure,
    MeasureKind,
    Polarity,
    Procedure,
    ProportionalPoints,
    RecordType,
    Ruleset,
    Scheme,
    Severity,
    Source,
)
from xinyong.domain.identifiers import load_scheme_module

Problems = list[CatalogProblem]


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
    grades = _check_rulesets(rulesets, types, problems)
    _check_procedures(located["procedures"], problems)
    for loc in located["measures"]:
        _check_measure(loc, types, contexts, sources, lists, grades, problems)
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


def _check_conditions(
    loc: Located,
    conditions: list[Condition],
    rt: RecordType,
    problems: Problems,
    *where: str | int,
) -> None:
    for i, cond in enumerate(conditions):
        at = (*where, "conditions", i)
        spec = rt.attributes.get(cond.attribute)
        if spec is None:
            problems.append(
                loc.problem(
                    "unknown-reference",
                    f"condition on unknown attribute '{cond.attribute}' of record type '{rt.id}' "
                    f"(it has: {', '.join(rt.attributes) or 'none'})",
                    *at,
                    "attribute",
                )
            )
            continue
        values = cond.value if isinstance(cond.value, list) else [cond.value]
        if cond.op in ("lt", "le", "gt", "ge", "between") and spec.type not in ("integer", "decimal", "date"):
            problems.append(
                loc.problem("condition-type", f"operator '{cond.op}' needs a number or date, not {spec.type}", *at)
            )
            continue
        for v in values:
            ok = {
                "string": isinstance(v, str) and (spec.enum is None or v in spec.enum),
                "integer": isinstance(v, int) and not isinstance(v, bool),
                "decimal": isinstance(v, (int, float)) and not isinstance(v, bool),
                "boolean": isinstance(v, bool),
                "date": isinstance(v, date),
            }[spec.type]
            if not ok:
                allowed = f" (allowed: {', '.join(spec.enum)})" if spec.type == "string" and spec.enum else ""
                problems.append(
                    loc.problem(
                        "condition-type",
                        f"value {v!r} does not fit attribute '{cond.attribute}' of type {spec.type}{allowed}",
                        *at,
                        "value",
                    )
                )


def _type_ref(
    loc: Located, type_id: str, types: dict[str, Located], problems: Problems, *where: str | int
) -> RecordType | None:
    found = types.get(type_id)
    if found is None:
        problems.append(loc.problem("unknown-reference", f"unknown record type '{type_id}'", *where))
        return None
    return cast(RecordType, found.entry)


def _check_list(loc: Located, types: dict[str, Located], problems: Problems) -> None:
    lst = cast(ListDefinition, loc.entry)
    for i, crit in enumerate(lst.entry):
        rt = _type_ref(loc, crit.record_type, types, problems, "entry", i, "record_type")
        if rt is None:
            continue
        _check_conditions(loc, crit.conditions, rt, problems, "entry", i)
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


def _check_rulesets(rulesets: list[Located], types: dict[str, Located], problems: Problems) -> dict[str, set[str]]:
    """Check rulesets; return the grades each subject kind can have."""
    grades: dict[str, set[str]] = defaultdict(set)
    by_kind: dict[str, list[Located]] = defaultdict(list)
    for loc in rulesets:
        rs = cast(Ruleset, loc.entry)
        by_kind[rs.subject_kind].append(loc)
        grades[rs.subject_kind].update(b.grade for b in rs.bands)
        if rs.effective_until is not None and rs.effective_until <= rs.effective_from:
            problems.append(
                loc.problem("invalid-value", "effective_until must be after effective_from", "effective_until")
            )
        if rs.subject_kind == "person":
            consent = types.get(rs.requires_consent or "")
            if consent is None or cast(RecordType, consent.entry).category != "consent":
                problems.append(
                    loc.problem(
                        "person-opt-in",
                        "a ruleset for persons must name in 'requires_consent' the consent record type "
                        "through which a resident opts in (persons are scored only by their own choice)",
                        "requires_consent",
                    )
                )
        for i, rule in enumerate(rs.rules):
            rt = _type_ref(loc, rule.record_type, types, problems, "rules", i, "record_type")
            if rt is None:
                continue
            if rs.subject_kind not in rt.subject_kinds:
                problems.append(
                    loc.problem("subject-kind", f"record type '{rt.id}' never concerns a {rs.subject_kind}", "rules", i)
                )
            _check_conditions(loc, rule.conditions, rt, problems, "rules", i)
            if isinstance(rule.points, ProportionalPoints):
                spec = rt.attributes.get(rule.points.attribute)
                if (
                    spec is not None
                    and spec.type in ("integer", "decimal")
                    and (spec.minimum is None or spec.minimum < 0)
                ):
                    problems.append(
                        loc.problem(
                            "condition-type",
                            f"proportional points need a non-negative attribute: give '{rule.points.attribute}' "
                            f"of '{rt.id}' a minimum of 0 or more",
                            "rules",
                            i,
                            "points",
                        )
                    )
                if spec is None or spec.type not in ("integer", "decimal"):
                    problems.append(
                        loc.problem(
                            "condition-type",
                            f"proportional points need a numeric attribute; '{rule.points.attribute}' is not one "
                            f"of '{rt.id}'",
                            "rules",
                            i,
                            "points",
                        )
                    )
        _check_bands(loc, rs, problems)
        if (rs.floor is not None and rs.base < rs.floor) or (rs.ceiling is not None and rs.base > rs.ceiling):
            problems.append(loc.problem("invalid-value", "base must lie between floor and ceiling", "base"))
    for kind, locs in by_kind.items():
        ordered = sorted(locs, key=lambda x: cast(Ruleset, x.entry).effective_from)
        for prev, nxt in pairwise(ordered):
            p, n = cast(Ruleset, prev.entry), cast(Ruleset, nxt.entry)
            if p.effective_until is None or p.effective_until > n.effective_from:
                problems.append(
                    nxt.problem(
                        "ruleset-overlap",
                        f"its effective period overlaps ruleset '{p.id}' {p.version} for {kind}s: give "
                        f"'{p.id}' an effective_until on or before {n.effective_from}",
                        "effective_from",
                    )
                )
    return grades


def _check_bands(loc: Located, rs: Ruleset, problems: Problems) -> None:
    names = [b.grade for b in rs.bands]
    if len(set(names)) != len(names):
        problems.append(loc.problem("grade-bands", "a grade appears in two bands", "bands"))
    lows = sorted(rs.bands, key=lambda b: float("-inf") if b.min is None else b.min)
    if lows[0].min is not None or lows[-1].max is not None:
        problems.append(
            loc.problem(
                "grade-bands",
                "bands must cover every score: the lowest band has no 'min', the highest no 'max'",
                "bands",
            )
        )
    for a, b in pairwise(lows):
        if a.max is None or b.min is None or a.max != b.min:
            problems.append(
                loc.problem(
                    "grade-bands",
                    f"bands '{a.grade}' and '{b.grade}' leave a gap or overlap: "
                    f"'{a.grade}'.max must equal '{b.grade}'.min (a band holds min <= points < max)",
                    "bands",
                )
            )
    for band in rs.bands:
        if band.min is not None and band.max is not None and band.min >= band.max:
            problems.append(loc.problem("grade-bands", f"band '{band.grade}' has min >= max", "bands"))


def _check_measure(
    loc: Located,
    types: dict[str, Located],
    contexts: dict[str, Located],
    sources: dict[str, Located],
    lists: dict[str, Located],
    grades: dict[str, set[str]],
    problems: Problems,
) -> None:
    m = cast(Measure, loc.entry)
    kind = m.kind
    if m.binds != "subject":
        problems.append(
            loc.problem(
                "binds-subject-only",
                f"binds '{m.binds}': a measure binds the subject of the record alone, never relatives, "
                "associates, representatives or anyone else (principle 3); set 'binds: subject'",
                "binds",
            )
        )
    if m.implementing_department not in sources:
        problems.append(
            loc.problem(
                "unknown-reference",
                f"unknown implementing department '{m.implementing_department}' (declare it under 'sources')",
                "implementing_department",
            )
        )
    for i, ctx_id in enumerate(m.contexts):
        ctx = contexts.get(ctx_id)
        if ctx is None:
            problems.append(loc.problem("unknown-reference", f"unknown context '{ctx_id}'", "contexts", i))
        elif cast(Context, ctx.entry).sector in PROTECTED_SECTORS:
            problems.append(
                loc.problem(
                    "protected-context",
                    f"context '{ctx_id}' is in the protected sector "
                    f"'{cast(Context, ctx.entry).sector.value}': no measure, reward or sanction, may apply "
                    "in healthcare, education, social assistance, utilities, emergency services or justice "
                    "(principle 3)",
                    "contexts",
                    i,
                )
            )
    trig = m.trigger
    if trig.grade is not None:
        if kind is MeasureKind.SANCTION:
            problems.append(
                loc.problem(
                    "scores-inform",
                    f"effect '{m.effect.value}' is a sanction and cannot be triggered by a score or grade: "
                    "a sanction needs a list entry or an adjudicated record (principle 2: scores inform, lists decide)",
                    "trigger",
                    "grade",
                )
            )
        elif trig.grade.subject_kind == "person" and kind is not MeasureKind.REWARD:
            problems.append(
                loc.problem(
                    "scores-inform",
                    "a person's grade may only lead to rewards (person scoring is opt-in and never a basis "
                    "for a sanction or closer supervision)",
                    "trigger",
                    "grade",
                )
            )
        unknown = [g for g in trig.grade.grades if g not in grades.get(trig.grade.subject_kind, set())]
        if unknown:
            problems.append(
                loc.problem(
                    "unknown-reference",
                    f"grade(s) {', '.join(unknown)} exist in no {trig.grade.subject_kind} ruleset",
                    "trigger",
                    "grade",
                )
            )
    elif trig.list is not None:
        lst = lists.get(trig.list)
        if lst is None:
            problems.append(loc.problem("unknown-reference", f"unknown list '{trig.list}'", "trigger", "list"))
        else:
            lkind = cast(ListDefinition, lst.entry).kind
            allowed = {
                "black": {MeasureKind.SANCTION, MeasureKind.SUPERVISION},
                "watch": {MeasureKind.SUPERVISION},
                "red": {MeasureKind.REWARD, MeasureKind.SUPERVISION},
            }[lkind]
            if kind not in allowed:
                problems.append(
                    loc.problem(
                        "list-effect",
                        f"a {lkind} list cannot trigger a {kind.value} ('{m.effect.value}'); it may trigger "
                        f"{' or '.join(sorted(k.value for k in allowed))}",
                        "effect",
                    )
                )
    elif trig.record_type is not None:
        rt = _type_ref(loc, trig.record_type, types, problems, "trigger", "record_type")
        if rt is not None:
            _check_conditions(loc, trig.conditions, rt, problems, "trigger")
            if kind is MeasureKind.SANCTION and not (rt.polarity is Polarity.ADVERSE and rt.adjudicated):
                problems.append(
                    loc.problem(
                        "sanction-basis",
                        f"a sanction triggered by a record needs an adjudicated adverse record type; '{rt.id}' is not",
                        "trigger",
                        "record_type",
                    )
                )
            if kind is MeasureKind.REWARD and rt.polarity is not Polarity.FAVOURABLE:
                problems.append(
                    loc.problem("reward-basis", f"a reward needs a favourable record type; '{rt.id}' is not", "trigger")
                )
            if not set(rt.subject_kinds) & set(m.subject_kinds):
                problems.append(
                    loc.problem(
                        "subject-kind", f"record type '{rt.id}' concerns no subject kind of this measure", "trigger"
                    )
                )


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
