"""Load a catalog directory, validate every entry, enforce the principles, compute its version.

A catalog is a directory of YAML files. Each file is a mapping whose keys are section names
(`sources`, `record_types`, ...) and whose values are lists of entries, so a catalog may be split
per department or kept in one file per section.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError

from xinyong.domain.catalog import yamlsource
from xinyong.domain.catalog.mappings import Mapping
from xinyong.domain.catalog.models import (
    Context,
    Entry,
    ListDefinition,
    Measure,
    Procedure,
    Purpose,
    RecordType,
    Scheme,
    Source,
)
from xinyong.domain.catalog.problems import CatalogProblem, Located, principled
from xinyong.domain.catalog.ruleset_models import Ruleset
from xinyong.domain.errors import InvalidInput
from xinyong.domain.identifiers import Scheme as IdentifierScheme

# The sections of a catalog and the model of their entries, in the order they are read.
SECTIONS: dict[str, type[Entry]] = {
    "schemes": Scheme,
    "sources": Source,
    "contexts": Context,
    "record_types": RecordType,
    "lists": ListDefinition,
    "measures": Measure,
    "rulesets": Ruleset,
    "procedures": Procedure,
    "mappings": Mapping,
}
_REQUIRED_HINT = {
    "legal_basis": "every record type, list and measure must name the law, article or decision document that allows it",
}


class CatalogError(InvalidInput):
    """The catalog is refused; `problems` lists every reason found, not only the first."""

    def __init__(self, problems: list[CatalogProblem]) -> None:
        self.problems = problems
        summary = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"the catalog has {len(problems)} problem(s):\n{summary}")


@dataclass(frozen=True)
class Catalog:
    """A validated catalog. Immutable; `version` is a hash of its meaning, not its formatting."""

    schemes: dict[str, Scheme]
    sources: dict[str, Source]
    contexts: dict[str, Context]
    record_types: dict[str, RecordType]
    lists: dict[str, ListDefinition]
    measures: dict[str, Measure]
    rulesets: dict[str, Ruleset]
    procedures: dict[str, Procedure]
    version: str
    directory: str
    mappings: dict[str, Mapping] = field(default_factory=dict)  # a source's export headers, per record type

    @property
    def procedure(self) -> Procedure:
        """The due-process deadlines in force (the loader checks there is exactly one)."""
        return next(iter(self.procedures.values()))

    @cached_property
    def identifier_schemes(self) -> tuple[IdentifierScheme, ...]:
        """The schemes' validators, in catalog order, built once."""
        return tuple(IdentifierScheme(s.id, s.subject_kind, s.personal) for s in self.schemes.values())

    @property
    def short_version(self) -> str:
        return self.version[:12]

    def purposes_of(self, context_id: str) -> tuple[Purpose, ...]:
        """The purposes a check in this context may name (each a code, with its names).

        A consumer key is scoped to contexts and to these codes; a check's purpose is matched
        against them exactly (the free-text reference travels beside the code).

        Raises:
            KeyError: the context is not in the catalog.
        """
        return tuple(self.contexts[context_id].purposes)

    def purpose_codes(self, context_id: str) -> frozenset[str]:
        """The purpose codes of a context, for exact matching."""
        return frozenset(p.code for p in self.purposes_of(context_id))

    def attribute_names(self, source_id: str) -> set[str]:
        """Every attribute column a file from this source may carry."""
        names: set[str] = set()
        for type_id in self.sources[source_id].submits:
            names.update(self.record_types[type_id].attributes)
        return names


def default_catalog_dir() -> FsPath:
    """The catalog shipped with xinyong (src/xinyong/policy)."""
    return FsPath(str(resources.files("xinyong") / "policy"))


def _yaml_files(directory: FsPath) -> Iterator[FsPath]:
    yield from sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def _pydantic_problems(exc: ValidationError, loc: Located) -> list[CatalogProblem]:
    problems = []
    for err in exc.errors():
        sub = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
        # Union members add their type name to the location; keep only real field names.
        sub = tuple(p for p in sub if not ((isinstance(p, str) and p[:1].isupper()) or p in ("str", "int", "float")))
        field_name = ".".join(str(p) for p in sub) or "(entry)"
        kind = err["type"]
        principle = None
        if kind == "missing":
            hint = _REQUIRED_HINT.get(str(sub[-1]) if sub else "", "add it")
            msg = f"field '{field_name}' is missing: {hint}"
            rule = "legal-basis" if sub and sub[-1] == "legal_basis" else "required-field"
            if rule == "legal-basis":
                principle, msg = 1, principled(1, msg)
        elif kind == "extra_forbidden":
            allowed = ", ".join(sorted(type(loc.entry).model_fields)) if sub[:-1] == () else "see the documented fields"
            msg = f"unknown key '{field_name}': remove it or fix its spelling (allowed here: {allowed})"
            rule = "unknown-key"
        else:
            msg = f"field '{field_name}': {err['msg']}"
            rule = "invalid-value"
        problems.append(CatalogProblem(loc.file, loc.line(*sub), loc.label, rule, msg, principle))
    return problems


class _Placeholder(Entry):
    id: str = "?"


def load_catalog(directory: FsPath | str | None = None) -> Catalog:
    """Load and validate a catalog directory.

    Raises:
        CatalogError: with every problem found, each naming file, line, entry and rule.
    """
    from xinyong.domain.catalog.rules import check_catalog

    root = FsPath(directory) if directory is not None else default_catalog_dir()
    problems: list[CatalogProblem] = []
    if not root.is_dir():
        raise CatalogError([CatalogProblem(str(root), None, "", "catalog-dir", "is not a directory")])
    files = list(_yaml_files(root))
    if not files:
        raise CatalogError([CatalogProblem(str(root), None, "", "catalog-dir", "holds no .yaml files")])

    located: dict[str, list[Located]] = {s: [] for s in SECTIONS}
    for path in files:
        rel = str(path.relative_to(root))
        try:
            text = path.read_text(encoding="utf-8")
            data, lines = yamlsource.parse(text)
        except UnicodeDecodeError as exc:
            problems.append(CatalogProblem(rel, None, "", "encoding", f"is not UTF-8 ({exc.reason}); save it as UTF-8"))
            continue
        except yamlsource.YamlProblem as exc:
            problems.append(CatalogProblem(rel, exc.line, "", "yaml", exc.message))
            continue
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(CatalogProblem(rel, 1, "", "file-shape", "must be a mapping of section names to lists"))
            continue
        for section, entries in data.items():
            if section not in SECTIONS:
                problems.append(
                    CatalogProblem(
                        rel,
                        lines.get((section,)),
                        "",
                        "unknown-key",
                        f"unknown section '{section}': expected one of {', '.join(SECTIONS)}",
                    )
                )
                continue
            if not isinstance(entries, list):
                problems.append(
                    CatalogProblem(rel, lines.get((section,)), "", "file-shape", f"section '{section}' must be a list")
                )
                continue
            model = SECTIONS[section]
            for i, raw in enumerate(entries):
                path_ = (section, i)
                raw_id = raw.get("id", f"#{i + 1}") if isinstance(raw, dict) else f"#{i + 1}"
                placeholder = Located(section, _Placeholder(id=str(raw_id)), rel, path_, lines)
                if not isinstance(raw, dict):
                    problems.append(placeholder.problem("file-shape", "each entry must be a mapping"))
                    continue
                try:
                    entry = model.model_validate(raw)
                except ValidationError as exc:
                    problems.extend(_pydantic_problems(exc, placeholder))
                    continue
                located[section].append(Located(section, entry, rel, path_, lines))

    problems.extend(check_catalog(located))
    if problems:
        raise CatalogError(problems)

    def by_id(section: str) -> dict[str, Any]:
        return {loc.entry_id: loc.entry for loc in located[section]}

    sections = {s: by_id(s) for s in SECTIONS}
    return Catalog(**sections, version=_version(sections), directory=str(root))


def _version(sections: dict[str, dict[str, Any]]) -> str:
    canonical = {
        name: [entries[k].model_dump(mode="json") for k in sorted(entries)] for name, entries in sections.items()
    }
    blob = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()
