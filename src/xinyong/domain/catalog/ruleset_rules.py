"""Ruleset rules: what a scoring ruleset may count, and how its grades and periods must fit together.

A ruleset counts only record types that concern its subject kind, scores persons only after they opt
in, grades every possible score into exactly one band, and hands over to its successor without two
rulesets for one subject kind in force at once, so that a score always has one meaning.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise
from typing import cast

from xinyong.domain.catalog.condition_rules import Problems, check_conditions, type_ref
from xinyong.domain.catalog.models import RecordType
from xinyong.domain.catalog.problems import Located
from xinyong.domain.catalog.ruleset_models import ProportionalPoints, Ruleset


def check_rulesets(rulesets: list[Located], types: dict[str, Located], problems: Problems) -> dict[str, set[str]]:
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
            rt = type_ref(loc, rule.record_type, types, problems, "rules", i, "record_type")
            if rt is None:
                continue
            if rs.subject_kind not in rt.subject_kinds:
                problems.append(
                    loc.problem("subject-kind", f"record type '{rt.id}' never concerns a {rs.subject_kind}", "rules", i)
                )
            check_conditions(loc, rule.conditions, rt, problems, "rules", i)
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
