"""Measure rules: what may trigger a reward, supervision or sanction, against whom, and where.

A measure binds the record's subject alone, never applies in a protected sector, and rests on a basis
fit for its kind: scores and grades only inform (they never trigger a sanction), a list triggers only
the kinds of measure its own kind allows, and a sanction from a record needs an adjudicated decision.
Polarity matches effect: favourable and consent records, and red lists, lead to rewards only, and a
person meets closer supervision or a sanction only through an adjudicated adverse record or a black
list. A sanction on a list's entries cites the item of the national basic list of disciplinary
measures it applies.
"""

from __future__ import annotations

from typing import cast

from xinyong.domain.catalog.condition_rules import Problems, check_conditions, type_ref
from xinyong.domain.catalog.models import (
    PROTECTED_SECTORS,
    Context,
    Effect,
    GradeTrigger,
    ListDefinition,
    Measure,
    MeasureKind,
    Polarity,
    RecordType,
)
from xinyong.domain.catalog.problems import Located

# Editions of 全国失信惩戒措施基础清单 known to the loader: edition -> (document, number of items).
# The 2021 edition (Fa Gai Cai Jin Gui [2021] No. 1827) has 14 items in three categories; the 2022 edition is
# accepted without an item count, since its text was not at hand when this table was written.
NATIONAL_LIST_EDITIONS: dict[str, tuple[str | None, int | None]] = {
    "2021": ("发改财金规〔2021〕1827号", 14),  # noqa: RUF001 - the number as the document writes it
    "2022": (None, None),
}


def check_measure(
    loc: Located,
    types: dict[str, Located],
    contexts: dict[str, Located],
    sources: dict[str, Located],
    lists: dict[str, Located],
    grades: dict[str, set[str]],
    problems: Problems,
) -> None:
    m = cast(Measure, loc.entry)
    _check_reach(loc, m, contexts, sources, problems)
    if m.trigger.grade is not None:
        _check_grade_trigger(loc, m, m.trigger.grade, grades, problems)
    elif m.trigger.list is not None:
        _check_list_trigger(loc, m, m.trigger.list, lists, problems)
    elif m.trigger.record_type is not None:
        _check_record_trigger(loc, m, m.trigger.record_type, types, problems)
    _check_person_burden(loc, m, lists, types, problems)


def _check_reach(
    loc: Located, m: Measure, contexts: dict[str, Located], sources: dict[str, Located], problems: Problems
) -> None:
    """Whom and where a measure reaches: its subject alone, through a known department, never in a protected context."""
    if m.binds != "subject":
        problems.append(
            loc.violation(
                3,
                "binds-subject-only",
                f"binds '{m.binds}': a measure binds the subject of the record alone, never relatives, "
                "associates, representatives or anyone else; set 'binds: subject'",
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
                loc.violation(
                    3,
                    "protected-context",
                    f"context '{ctx_id}' is in the protected sector "
                    f"'{cast(Context, ctx.entry).sector.value}': no measure, reward or sanction, may apply "
                    "in healthcare, education, social assistance, utilities, emergency services or justice",
                    "contexts",
                    i,
                )
            )


def _check_grade_trigger(
    loc: Located, m: Measure, trig_grade: GradeTrigger, grades: dict[str, set[str]], problems: Problems
) -> None:
    """A grade informs: it may trigger no sanction, and a person's only rewards (principle 2)."""
    kind = m.kind
    if kind is MeasureKind.SANCTION:
        problems.append(
            loc.violation(
                2,
                "scores-inform",
                f"effect '{m.effect.value}' is a sanction and cannot be triggered by a score or grade: "
                "a sanction needs a list entry or an adjudicated record",
                "trigger",
                "grade",
            )
        )
    elif trig_grade.subject_kind == "person" and kind is not MeasureKind.REWARD:
        problems.append(
            loc.violation(
                2,
                "scores-inform",
                "a person's grade may only lead to rewards (person scoring is opt-in and never a basis "
                "for a sanction or closer supervision)",
                "trigger",
                "grade",
            )
        )
    unknown = [g for g in trig_grade.grades if g not in grades.get(trig_grade.subject_kind, set())]
    if unknown:
        problems.append(
            loc.problem(
                "unknown-reference",
                f"grade(s) {', '.join(unknown)} exist in no {trig_grade.subject_kind} ruleset",
                "trigger",
                "grade",
            )
        )


def _check_list_trigger(loc: Located, m: Measure, list_id: str, lists: dict[str, Located], problems: Problems) -> None:
    """A list triggers what its kind allows: a red list rewards, a black list sanctions or supervises."""
    kind = m.kind
    lst = lists.get(list_id)
    if lst is None:
        problems.append(loc.problem("unknown-reference", f"unknown list '{list_id}'", "trigger", "list"))
    else:
        lkind = cast(ListDefinition, lst.entry).kind
        allowed = {
            "black": {MeasureKind.SANCTION, MeasureKind.SUPERVISION},
            "watch": {MeasureKind.SUPERVISION},
            "red": {MeasureKind.REWARD},
        }[lkind]
        if lkind == "red" and kind is not MeasureKind.REWARD:
            problems.append(
                loc.violation(
                    2,
                    "polarity",
                    f"a red list rewards: it cannot trigger '{m.effect.value}' (a {kind.value})",
                    "effect",
                )
            )
        elif kind not in allowed:
            problems.append(
                loc.problem(
                    "list-effect",
                    f"a {lkind} list cannot trigger a {kind.value} ('{m.effect.value}'); it may trigger "
                    f"{' or '.join(sorted(k.value for k in allowed))}",
                    "effect",
                )
            )


def _check_record_trigger(
    loc: Located, m: Measure, type_id: str, types: dict[str, Located], problems: Problems
) -> None:
    """A record triggers a sanction only when adjudicated and adverse, a reward only when favourable."""
    kind = m.kind
    trig = m.trigger
    rt = type_ref(loc, type_id, types, problems, "trigger", "record_type")
    if rt is not None:
        check_conditions(loc, trig.conditions, rt, problems, "trigger")
        if kind is MeasureKind.SANCTION and not (rt.polarity is Polarity.ADVERSE and rt.adjudicated):
            problems.append(
                loc.problem(
                    "sanction-basis",
                    f"a sanction triggered by a record needs an adjudicated adverse record type; '{rt.id}' is not",
                    "trigger",
                    "record_type",
                )
            )
        if kind is not MeasureKind.REWARD and rt.polarity is not Polarity.ADVERSE:
            problems.append(
                loc.violation(
                    2,
                    "polarity",
                    f"'{rt.id}' is a {rt.polarity.value} record"
                    + (" (a consent)" if rt.category == "consent" else "")
                    + f": favourable and consent records trigger rewards only, never '{m.effect.value}'",
                    "trigger",
                    "record_type",
                )
            )
        elif kind is MeasureKind.REWARD and rt.polarity is not Polarity.FAVOURABLE:
            problems.append(
                loc.problem("reward-basis", f"a reward needs a favourable record type; '{rt.id}' is not", "trigger")
            )
        if not set(rt.subject_kinds) & set(m.subject_kinds):
            problems.append(
                loc.problem(
                    "subject-kind", f"record type '{rt.id}' concerns no subject kind of this measure", "trigger"
                )
            )


def _check_person_burden(
    loc: Located, m: Measure, lists: dict[str, Located], types: dict[str, Located], problems: Problems
) -> None:
    """A person meets closer supervision or a sanction only through an adjudicated adverse record or
    a black-list entry, never through a watch or red list, a grade, or an unadjudicated record."""
    if "person" not in m.subject_kinds or not (m.kind is MeasureKind.SANCTION or m.effect is Effect.INSPECT_MORE):
        return
    trig = m.trigger
    lst = lists.get(trig.list or "")
    rt = types.get(trig.record_type or "")
    if lst is not None and cast(ListDefinition, lst.entry).kind == "black":
        return
    if (
        rt is not None
        and cast(RecordType, rt.entry).polarity is Polarity.ADVERSE
        and cast(RecordType, rt.entry).adjudicated
    ):
        return
    if trig.grade is not None or (trig.list and lst is None) or (trig.record_type and rt is None):
        return  # refused above: a grade never burdens a person; an unknown reference is reported
    basis = f"list '{trig.list}'" if trig.list else f"record type '{trig.record_type}'"
    problems.append(
        loc.violation(
            2,
            "polarity",
            f"'{m.effect.value}' on persons needs an adjudicated adverse record or a black-list entry; "
            f"{basis} is neither (drop 'person' from subject_kinds, or trigger on such a ground)",
            "subject_kinds",
        )
    )


def check_national_item(loc: Located, lists: dict[str, Located], problems: Problems) -> None:
    """A sanction on list entries cites the national basic list item it applies, in a known form."""
    m = cast(Measure, loc.entry)
    item = m.national_item
    if item is None:
        if m.kind is MeasureKind.SANCTION and m.trigger.list in lists:
            problems.append(
                loc.violation(
                    1,
                    "national-item",
                    "a sanction triggered by a list cites the item of the national basic list of disciplinary "
                    "measures (全国失信惩戒措施基础清单) it applies: add 'national_item: {edition: \"2021\"}' "
                    "with the item's number where checked",
                    "effect",
                )
            )
        return
    known = NATIONAL_LIST_EDITIONS.get(item.edition)
    if known is None:
        problems.append(
            loc.violation(
                1,
                "national-item",
                f"unknown edition '{item.edition}' of the national basic list: one of "
                + ", ".join(f"{e} ({doc})" if doc else e for e, (doc, _) in NATIONAL_LIST_EDITIONS.items()),
                "national_item",
                "edition",
            )
        )
        return
    count = known[1]
    if item.item is not None and not 1 <= item.item <= (count or 99):
        problems.append(
            loc.violation(
                1,
                "national-item",
                f"item {item.item} is not in the {item.edition} edition of the national basic list "
                f"(items 1-{count or 99})",
                "national_item",
                "item",
            )
        )
