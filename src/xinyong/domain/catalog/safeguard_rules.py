"""Safeguards on names and citations: what no catalog may rename, omit or fill with a placeholder.

- Principle 1: every legal basis is a real citation (citations.py); a source that submits records
  names the law that lets it.
- Principle 3: the shipped protected contexts are fixed here, and a context whose id or name names a
  protected service (terms.py) must sit in that service's protected sector.
- Principle 8: no record type, category, attribute or enum value is about a never-in-scope topic;
  every string attribute is closed by an enum or a tight pattern (patterns.py); every context lists
  the purpose codes a consumer key is bound to.
"""

from __future__ import annotations

import re
from typing import cast

from xinyong.domain.catalog.citations import citation_problems
from xinyong.domain.catalog.condition_rules import Problems
from xinyong.domain.catalog.models import (
    CATEGORIES,
    AttributeSpec,
    Context,
    LegalBasis,
    RecordType,
    Sector,
    Source,
)
from xinyong.domain.catalog.patterns import looseness
from xinyong.domain.catalog.problems import CatalogProblem, Located, principled
from xinyong.domain.catalog.terms import NEVER_IN_SCOPE, PROTECTED_SERVICES, find_terms

# The protected contexts of the shipped catalog: no catalog may remove, rename or re-sector them,
# so that a check in healthcare, education, social assistance, utilities, emergency services or
# justice is always answered that no measure applies.
FIXED_PROTECTED_CONTEXTS: dict[str, Sector] = {
    "healthcare.services": Sector.HEALTHCARE,
    "education.enrolment": Sector.EDUCATION,
    "social.assistance": Sector.SOCIAL_ASSISTANCE,
    "utilities.connection": Sector.UTILITIES,
    "emergency.services": Sector.EMERGENCY_SERVICES,
    "justice.legal_aid": Sector.JUSTICE,
}
PURPOSE_CODE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
PURPOSE_CODE_MAX = 40
_WITH_BASIS = {"record_types", "lists", "measures", "rulesets", "procedures", "sources"}


def check_citations(located: dict[str, list[Located]], problems: Problems) -> None:
    """Principle 1 on every legal basis of the catalog, and on the sources that submit records."""
    for section in _WITH_BASIS:
        for loc in located[section]:
            bases: list[tuple[str, LegalBasis | None]] = [("legal_basis", getattr(loc.entry, "legal_basis", None))]
            bases.append(("repair_basis", getattr(loc.entry, "repair_basis", None)))
            bases.append(("review_basis", getattr(loc.entry, "review_basis", None)))
            for key, basis in bases:
                if basis is None:
                    continue
                for field, why in citation_problems(basis, needs_reference=section in ("lists", "measures")):
                    problems.append(loc.violation(1, "legal-basis", f"{key}: {why}", key, field))
    for loc in located["sources"]:
        src = cast(Source, loc.entry)
        if src.submits and src.legal_basis is None:
            problems.append(
                loc.violation(
                    1,
                    "legal-basis",
                    f"source '{src.id}' submits {', '.join(src.submits)} but names no legal basis: "
                    "name the law that lets it submit these records",
                    "submits",
                )
            )


def check_contexts(entries: list[Located], problems: Problems) -> None:
    """Principle 3 on the contexts (fixed ones present, protected services in their sector) and
    principle 8 on their purposes."""
    by_id = {loc.entry_id: loc for loc in entries}
    for ctx_id, sector in FIXED_PROTECTED_CONTEXTS.items():
        loc = by_id.get(ctx_id)
        if loc is None:
            problems.append(_missing_protected(entries, ctx_id, sector))
        elif cast(Context, loc.entry).sector is not sector:
            actual = cast(Context, loc.entry).sector.value
            problems.append(
                loc.violation(
                    3,
                    "protected-context",
                    f"context '{ctx_id}' is fixed in code in the protected sector '{sector.value}'; "
                    f"it may not be moved to '{actual}'",
                    "sector",
                )
            )
    for loc in entries:
        ctx = cast(Context, loc.entry)
        _protected_names(loc, ctx, problems)
        _purposes(loc, ctx, problems)


def _missing_protected(entries: list[Located], ctx_id: str, sector: Sector) -> CatalogProblem:
    first = entries[0] if entries else None
    message = principled(
        3,
        f"the protected context '{ctx_id}' (sector '{sector.value}') is missing: the shipped protected "
        "contexts are fixed in code and may not be removed or renamed; restore it",
    )
    if first is None:
        return CatalogProblem("(catalog)", None, f"context '{ctx_id}'", "protected-context", message, 3)
    return CatalogProblem(
        first.file, first.lines.get(("contexts",)), f"context '{ctx_id}'", "protected-context", message, 3
    )


def _protected_names(loc: Located, ctx: Context, problems: Problems) -> None:
    named: dict[str, tuple[str, str, str]] = {}
    for field in ("id", "name", "name_zh"):
        text = getattr(ctx, field)
        for hit in find_terms(text or "", PROTECTED_SERVICES):
            named.setdefault(hit.topic.key, (hit.topic.title, hit.term, field))
    if named and ctx.sector.value not in named:
        key, (title, term, field) = next(iter(named.items()))
        problems.append(
            loc.violation(
                3,
                "protected-context",
                f"context '{ctx.id}' names a protected service ({title.lower()}: '{term}' in its {field}) "
                f"but is in sector '{ctx.sector.value}'; put it in the protected sector '{key}', "
                "where no measure applies",
                field,
            )
        )


def _purposes(loc: Located, ctx: Context, problems: Problems) -> None:
    if not ctx.purposes:
        problems.append(
            loc.violation(
                8,
                "purposes",
                f"context '{ctx.id}' declares no purposes: list the purpose codes a check here may name "
                "(a consumer key is bound to its contexts and these codes)",
                "purposes",
            )
        )
    seen: set[str] = set()
    for i, purpose in enumerate(ctx.purposes):
        code = purpose.code
        if not PURPOSE_CODE.match(code) or len(code) > PURPOSE_CODE_MAX:
            problems.append(
                loc.violation(
                    8,
                    "purposes",
                    f"purpose code '{code}' is malformed: a short snake_case code "
                    f"(a-z, 0-9 and single underscores, at most {PURPOSE_CODE_MAX} characters)",
                    "purposes",
                    i,
                    "code",
                )
            )
        elif code in seen:
            problems.append(
                loc.violation(
                    8, "purposes", f"purpose code '{code}' is declared twice in context '{ctx.id}'", "purposes", i
                )
            )
        seen.add(code)


def check_record_type_scope(loc: Located, problems: Problems) -> None:
    """Principle 8 on one record type: its category, names, attributes and values."""
    rt = cast(RecordType, loc.entry)
    texts: list[tuple[str, str, tuple[str | int, ...]]] = [
        ("id", rt.id, ("id",)),
        ("name", rt.name, ("name",)),
        ("name_zh", rt.name_zh or "", ("name_zh",)),
        ("category", rt.category, ("category",)),
    ]
    for name, spec in rt.attributes.items():
        texts.append((f"attribute '{name}'", name, ("attributes", name)))
        texts.extend((f"value '{v}' of attribute '{name}'", v, ("attributes", name, "enum")) for v in spec.enum or [])
    for where, text, sub in texts:
        for hit in find_terms(text, NEVER_IN_SCOPE):
            problems.append(
                loc.violation(
                    8,
                    "never-in-scope",
                    f"{where} is about {hit.topic.title.lower()} ('{hit.term}'): that is never in scope, "
                    "no record may hold it",
                    *sub,
                )
            )
    if rt.category not in CATEGORIES:
        problems.append(
            loc.problem("invalid-value", f"category '{rt.category}' is not one of: {', '.join(CATEGORIES)}", "category")
        )


def check_string_attribute(loc: Located, name: str, spec: AttributeSpec, problems: Problems) -> None:
    """Principle 8: a string is closed by an enum or a tight pattern; a length alone is free text."""
    where = ("attributes", name)
    if spec.enum is not None:
        return
    if spec.pattern is None:
        problems.append(
            loc.violation(
                8,
                "no-free-text",
                f"attribute '{name}' is free text: give it an 'enum' of allowed values or a tight 'pattern' "
                "(max_length bounds its length, not what it says)",
                *where,
            )
        )
        return
    why = looseness(spec.pattern)
    if why is not None:
        problems.append(
            loc.violation(8, "no-free-text", f"attribute '{name}': its pattern is free text: {why}", *where, "pattern")
        )
