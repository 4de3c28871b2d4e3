"""Record-type references and attribute conditions, checked alike wherever an entry names a record type.

Lists, rulesets and measures all pick records by type and filter them by conditions on the type's
attributes; checking both in one place keeps the wording of their problems the same everywhere.
"""

from __future__ import annotations

from datetime import date
from typing import cast

from xinyong.domain.catalog.models import Condition, RecordType
from xinyong.domain.catalog.problems import CatalogProblem, Located

Problems = list[CatalogProblem]


def check_conditions(
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


def type_ref(
    loc: Located, type_id: str, types: dict[str, Located], problems: Problems, *where: str | int
) -> RecordType | None:
    found = types.get(type_id)
    if found is None:
        problems.append(loc.problem("unknown-reference", f"unknown record type '{type_id}'", *where))
        return None
    return cast(RecordType, found.entry)
