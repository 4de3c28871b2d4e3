"""Measure rules: what may trigger a reward, supervision or sanction, against whom, and where.

A measure binds the record's subject alone, never applies in a protected sector, and rests on a basis
fit for its kind: scores and grades only inform (they never trigger a sanction), a list triggers only
the kinds of measure its own kind allows, and a sanction from a record needs an adjudicated decision.
"""

from __future__ import annotations

from typing import cast

from xinyong.domain.catalog.condition_rules import Problems, check_conditions, type_ref
from xinyong.domain.catalog.loader import Located
from xinyong.domain.catalog.models import (
    PROTECTED_SECTORS,
    Context,
    ListDefinition,
    Measure,
    MeasureKind,
    Polarity,
)


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
        rt = type_ref(loc, trig.record_type, types, problems, "trigger", "record_type")
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
