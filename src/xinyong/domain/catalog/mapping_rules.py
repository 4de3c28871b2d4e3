"""Catalog rules for column mappings: references, targets, the columns never held, and coverage.

Each refusal names file, line, mapping and what to fix, like the rules of the other sections.
"""

from __future__ import annotations

from typing import cast

from xinyong.domain.catalog.condition_rules import Problems
from xinyong.domain.catalog.mappings import IDENTITY, ColumnSpec, Mapping, header_key, never_held
from xinyong.domain.catalog.models import CORE_FIELDS, AttributeSpec, RecordType, Scheme, Source
from xinyong.domain.catalog.problems import Located


def check_mappings(
    located: list[Located],
    sources: dict[str, Located],
    types: dict[str, Located],
    schemes: dict[str, Located],
    problems: Problems,
) -> None:
    """Check every mapping against the catalog: references, targets, the never-held columns, coverage."""
    by_type: dict[tuple[str, str], Located] = {}
    by_headers: dict[tuple[str, frozenset[str]], Located] = {}
    declared: dict[str, tuple[str | None, str | None, Located]] = {}
    for loc in located:
        m = cast(Mapping, loc.entry)
        source = _source(loc, m, sources, problems)
        kinds = _record_types(loc, m, source, types, problems)
        for rt in kinds:
            first = by_type.setdefault((m.source, rt.id), loc)
            if first is not loc:
                problems.append(
                    loc.problem(
                        "duplicate-mapping",
                        f"source '{m.source}' already has a mapping for '{rt.id}' ({first.entry_id}, "
                        f"{first.file}:{first.line()}): one mapping per source and record type",
                    )
                )
        _check_headers(loc, m, problems)
        _check_columns(loc, m, kinds, problems)
        _check_identifiers(loc, m, kinds, schemes, problems)
        _check_coverage(loc, m, kinds, problems)
        keys = frozenset(header_key(h) for h in m.headers())
        other = by_headers.setdefault((m.source, keys), loc)
        if other is not loc:
            problems.append(
                loc.problem(
                    "ambiguous-mapping",
                    f"reads exactly the headers of mapping '{other.entry_id}' of the same source: a file could "
                    "not tell them apart; map a column onto record_type in one mapping instead",
                )
            )
        seen = declared.setdefault(m.source, (m.encoding, m.sheet, loc))
        if seen[2] is not loc and (seen[0], seen[1]) != (m.encoding, m.sheet):
            problems.append(
                loc.problem(
                    "file-conventions",
                    f"declares encoding {m.encoding!r} and sheet {m.sheet!r}, but mapping '{seen[2].entry_id}' of "
                    f"the same source declares {seen[0]!r} and {seen[1]!r}: a source's files are read one way",
                    "encoding",
                )
            )


def _source(loc: Located, m: Mapping, sources: dict[str, Located], problems: Problems) -> Source | None:
    found = sources.get(m.source)
    if found is None:
        known = ", ".join(sorted(sources))
        problems.append(loc.problem("unknown-reference", f"unknown source '{m.source}' (known: {known})", "source"))
        return None
    return cast(Source, found.entry)


def _record_types(
    loc: Located, m: Mapping, source: Source | None, types: dict[str, Located], problems: Problems
) -> list[RecordType]:
    routed = any("record_type" in s.to for s in m.specs().values())
    if (m.record_type is None) == (not routed):
        problems.append(
            loc.problem(
                "record-type",
                "say which record type the rows are: either 'record_type' for the whole file, or a column "
                "mapped onto record_type with a 'values' table (not both)",
                "record_type",
            )
        )
    found: list[RecordType] = []
    for type_id in m.record_types():
        rt = types.get(type_id)
        if rt is None:
            problems.append(loc.problem("unknown-reference", f"unknown record type '{type_id}'", "record_type"))
            continue
        if source is not None and type_id not in source.submits:
            problems.append(
                loc.problem(
                    "not-authorised",
                    f"source '{m.source}' does not submit '{type_id}' (it submits: {', '.join(source.submits)})",
                    "record_type",
                )
            )
        found.append(cast(RecordType, rt.entry))
    return found


def _check_headers(loc: Located, m: Mapping, problems: Problems) -> None:
    seen: dict[str, str] = {}
    for header in m.headers():
        key = header_key(header)
        if key in seen:
            problems.append(
                loc.problem(
                    "duplicate-header",
                    f"header '{header}' is read twice (as '{seen[key]}'): each column goes one way",
                    "columns",
                )
            )
        seen.setdefault(key, header)
    held = [*m.columns, *(i.header for i in m.identifiers)]
    for header in held:
        why = never_held(header)
        if why is not None:
            where = "columns" if header in m.columns else "identifiers"
            problems.append(
                loc.problem(
                    "least-data",
                    f"column '{header}' holds {why}; it may not be mapped: list it under 'drop'",
                    where,
                    header if where == "columns" else 0,
                )
            )


def _check_columns(loc: Located, m: Mapping, kinds: list[RecordType], problems: Problems) -> None:
    attributes = {name: spec for rt in kinds for name, spec in rt.attributes.items()}
    fields = set(CORE_FIELDS) - IDENTITY
    targets: dict[str, str] = {}
    for header, spec in m.specs().items():
        for target in spec.to:
            if target in IDENTITY:
                problems.append(
                    loc.problem(
                        "identifiers",
                        f"column '{header}' maps onto {target}: list identifier columns under 'identifiers', "
                        "with their scheme",
                        "columns",
                        header,
                    )
                )
            elif target not in fields and target not in attributes:
                allowed = ", ".join([*sorted(fields), *sorted(attributes)])
                problems.append(
                    loc.problem(
                        "unknown-attribute",
                        f"column '{header}' maps onto '{target}', which is no field of "
                        f"{', '.join(rt.id for rt in kinds) or 'the record type'} (allowed: {allowed})",
                        "columns",
                        header,
                    )
                )
            first = targets.setdefault(target, header)
            if first != header:
                problems.append(
                    loc.problem(
                        "duplicate-target",
                        f"columns '{first}' and '{header}' both map onto '{target}': one column per field",
                        "columns",
                        header,
                    )
                )
        attr = attributes.get(spec.to[0])
        if spec.unit is not None and (len(spec.to) != 1 or attr is None or attr.type != "decimal"):
            problems.append(
                loc.problem("invalid-value", f"column '{header}': a unit applies to one amount attribute", "columns")
            )
        if spec.values is not None:
            _check_values(loc, header, spec, attr, problems)


def _check_values(loc: Located, header: str, spec: ColumnSpec, attr: AttributeSpec | None, problems: Problems) -> None:
    if len(spec.to) != 1:
        problems.append(loc.problem("invalid-value", f"column '{header}': a value table feeds one field", "columns"))
        return
    if spec.to[0] == "record_type":
        return  # the record types are checked with the mapping's other references
    enum = attr.enum if attr is not None else None
    if not enum:
        problems.append(
            loc.problem(
                "invalid-value",
                f"column '{header}': a value table translates codes, and '{spec.to[0]}' has no enum",
                "columns",
                header,
            )
        )
        return
    bad = sorted(v for v in (spec.values or {}).values() if v not in enum)
    if bad:
        problems.append(
            loc.problem(
                "invalid-value",
                f"column '{header}' translates to {', '.join(bad)}, not values of '{spec.to[0]}' ({', '.join(enum)})",
                "columns",
                header,
            )
        )


def _check_identifiers(
    loc: Located, m: Mapping, kinds: list[RecordType], schemes: dict[str, Located], problems: Problems
) -> None:
    if not m.identifiers:
        problems.append(
            loc.problem(
                "identifiers",
                "a mapping names the column(s) of the subject's identifier under 'identifiers'",
                "identifiers",
            )
        )
    allowed = {k for rt in kinds for k in rt.subject_kinds}
    for i, col in enumerate(m.identifiers):
        for scheme_id in [col.scheme] if col.scheme else sorted(set((col.schemes or {}).values())):
            found = schemes.get(scheme_id)
            if found is None:
                problems.append(
                    loc.problem("unknown-reference", f"unknown identifier scheme '{scheme_id}'", "identifiers", i)
                )
                continue
            scheme = cast(Scheme, found.entry)
            if kinds and scheme.subject_kind not in allowed:
                problems.append(
                    loc.problem(
                        "subject-kind",
                        f"scheme '{scheme_id}' identifies {scheme.subject_kind}s; the record type concerns "
                        f"{', '.join(sorted(allowed))}",
                        "identifiers",
                        i,
                    )
                )


def _check_coverage(loc: Located, m: Mapping, kinds: list[RecordType], problems: Problems) -> None:
    """Every field a record needs comes from some column; a required one is never dropped."""
    fed = {t for spec in m.specs().values() for t in spec.to}
    needed = {"source_ref": "the department's own reference", "decided_on": "the date of the decision"}
    for rt in kinds:
        if rt.requires_document:
            needed["document_no"] = f"the decision document number ('{rt.id}' requires one)"
        for name, spec in rt.attributes.items():
            if spec.required:
                needed[name] = f"a required attribute of '{rt.id}'"
    for target, what in needed.items():
        if target in fed:
            continue
        hint = f"; it drops {', '.join(m.drop)}" if m.drop else ""
        problems.append(
            loc.problem(
                "required-unmapped",
                f"no column maps onto '{target}', {what}: map the export's column onto it{hint}",
                "columns",
            )
        )
