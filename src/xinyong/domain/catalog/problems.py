"""Why a catalog is refused: each problem with its file, line, entry and rule, and the entries
located where they were written, which the loader and every rule module share."""

from __future__ import annotations

from dataclasses import dataclass, field

from xinyong.domain.catalog import yamlsource
from xinyong.domain.catalog.models import Entry

_NOUN = {
    "schemes": "scheme",
    "sources": "source",
    "contexts": "context",
    "record_types": "record type",
    "lists": "list",
    "measures": "measure",
    "rulesets": "ruleset",
    "procedures": "procedure",
    "mappings": "mapping",
}

# The eight principles of DESIGN.md; a refusal under one of them starts "principle N, <name>: ".
PRINCIPLES = {
    1: "legal basis",
    2: "scores inform, lists decide",
    3: "protected contexts",
    4: "no name-only identity",
    5: "due process",
    6: "explain everything",
    7: "proof of check",
    8: "least data",
}


def principled(principle: int, message: str) -> str:
    """A refusal's message, led by the principle it upholds, so that no one reads it as a style nit."""
    return f"principle {principle}, {PRINCIPLES[principle]}: {message}"


@dataclass(frozen=True)
class CatalogProblem:
    """One reason a catalog is refused: where, which entry, which rule, and what to do."""

    file: str
    line: int | None
    entry: str
    rule: str
    message: str
    principle: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        entry = f" {self.entry}:" if self.entry else ""
        return f"{where}:{entry} {self.message} [{self.rule}]"


@dataclass(frozen=True)
class Located:
    """A validated entry and where it was written."""

    section: str
    entry: Entry
    file: str
    path: yamlsource.Path
    lines: dict[yamlsource.Path, int] = field(repr=False)

    @property
    def entry_id(self) -> str:
        return str(getattr(self.entry, "id", "?"))

    @property
    def label(self) -> str:
        return f"{_NOUN[self.section]} '{self.entry_id}'"

    def line(self, *sub: str | int) -> int | None:
        """Line of a field inside this entry, or of its nearest written ancestor."""
        path = (*self.path, *sub)
        while True:
            if path in self.lines:
                return self.lines[path]
            if len(path) <= len(self.path):
                return self.lines.get(self.path)
            path = path[:-1]

    def problem(self, rule: str, message: str, *sub: str | int) -> CatalogProblem:
        return CatalogProblem(self.file, self.line(*sub), self.label, rule, message)

    def violation(self, principle: int, rule: str, message: str, *sub: str | int) -> CatalogProblem:
        """A refusal under one of the eight principles: the message names it first."""
        return CatalogProblem(self.file, self.line(*sub), self.label, rule, principled(principle, message), principle)
