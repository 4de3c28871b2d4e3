"""Validation of submitted rows against the catalog: one row in, a normalised record or reasons out.

Pure logic: the caller reads files and writes the store. Every problem names its line and field
and says what to fix. Personal identifiers leave this module only as keyed hashes and masks.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.models import CORE_FIELDS
from xinyong.domain.fastpath import FastPath
from xinyong.domain.identifiers import IdentifierVault, Scheme
from xinyong.domain.normalise import BadValue, Counts
from xinyong.domain.row_reading import RowReading
from xinyong.domain.rows import Problem, TypePlan, ValidRow
from xinyong.domain.values import (
    FastAttr,
    canonical_json,
    code_value,
    converter,
    kinds_text,
    missing,
)

REQUIRED_COLUMNS = ("source_ref", "record_type", "id_number", "decided_on")
IDENTIFY_CACHE = 1 << 19  # distinct identifiers remembered per scheme (about 400 bytes each)
# (hash, mask, plain number if not personal, why unresolved); hash and mask are None when there is no number.
Identified = tuple[str | None, str | None, str | None, str | None]
_MISSING: Identified = (None, None, None, "missing identifier")


class RowValidator:
    """Validates rows of one source against the catalog, as of `today`."""

    def __init__(self, catalog: Catalog, source_id: str, vault: IdentifierVault, today: date) -> None:
        self.catalog = catalog
        self.source = catalog.sources[source_id]
        self.vault = vault
        self.today = today
        self.schemes = {s.id: s for s in catalog.identifier_schemes}
        self.personal_schemes = [s for s in self.schemes.values() if s.personal]
        default_by_kind: dict[str, str] = {}
        for s in catalog.schemes.values():
            default_by_kind.setdefault(s.subject_kind, s.id)
        self.plans: dict[str, TypePlan] = {}
        for type_id in self.source.submits:
            rt = catalog.record_types[type_id]
            attrs = tuple((name, converter(spec), spec.required) for name, spec in rt.attributes.items())
            default = default_by_kind.get(rt.subject_kinds[0]) if len(rt.subject_kinds) == 1 else None
            fast = tuple(
                FastAttr(
                    name,
                    spec.type,
                    spec.required,
                    frozenset(spec.enum) if spec.enum else None,
                    spec.max_length,
                    re.compile(spec.pattern) if spec.pattern else None,
                    spec.minimum,
                    spec.maximum,
                )
                for name, spec in sorted(rt.attributes.items())
            )
            foreign = tuple(sorted(catalog.attribute_names(source_id) - set(rt.attributes)))
            self.plans[type_id] = TypePlan(rt, attrs, default, fast, foreign)
        self.attribute_columns = catalog.attribute_names(source_id)
        # Department files name the same subjects again and again: check, hash and mask once.
        # By scheme, then by the number as written: a dict per scheme keyed by the row's own
        # string holds an identifier in about 400 bytes where functools.lru_cache took 560 (its
        # key tuple and list link), 70 MB of a batch that meets 440,000 identifiers.
        self._identified: dict[str, dict[str, Identified]] = {}
        self.allowed_columns = set(CORE_FIELDS) | self.attribute_columns
        self.fast_rows = FastPath(self).rows
        self.normalised: Counts = Counter()  # values the general path rewrote, by kind (normalise.KINDS)
        # Numbers that failed their checksum, by keyed hash: (scheme, compact number as written).
        # Ingestion turns them into identifier fragments for match review while the batch runs;
        # they are never stored.
        self.unresolved_numbers: dict[str, tuple[str, str]] = {}

    def take_normalised(self) -> dict[str, int]:
        """The counts of rewritten values since the last call (a chunk's share of the batch summary)."""
        taken = dict(self.normalised)
        self.normalised.clear()
        return taken

    def identify(self, scheme_id: str, number: str) -> Identified:
        """(hash, mask, plain number if not personal, why unresolved) of one submitted number, as
        `_identify_uncached` says, remembered (a scheme's numbers are forgotten all at once when
        IDENTIFY_CACHE of them are held: memory stays bounded, and the cost is only time)."""
        known = self._identified.get(scheme_id)
        found = None if known is None else known.get(number)
        return self._learn(scheme_id, number) if found is None else found

    def identify_all(self, scheme_ids: Sequence[str], numbers: Sequence[str | None]) -> list[Identified]:
        """`identify` of each (scheme, number) pair; a missing number is unresolved as missing.
        The look-up is written out here: a method call per row would cost more than the look-up."""
        out: list[Identified] = []
        append = out.append
        identified = self._identified
        for scheme_id, number in zip(scheme_ids, numbers, strict=True):
            if number is None:
                append(_MISSING)
                continue
            known = identified.get(scheme_id)
            found = None if known is None else known.get(number)
            append(self._learn(scheme_id, number) if found is None else found)
        return out

    def _learn(self, scheme_id: str, number: str) -> Identified:
        """Identify a number not remembered, and remember it (see `identify`)."""
        known = self._identified.setdefault(scheme_id, {})
        if len(known) >= IDENTIFY_CACHE:
            known.clear()
        found = known[number] = self._identify_uncached(scheme_id, number)
        return found

    def _identify_uncached(self, scheme_id: str, number: str) -> Identified:
        """(hash, mask, plain number if not personal, why unresolved) of one submitted number.

        A number under a non-personal scheme is kept in plain only when it is valid for that
        scheme and is not also a valid personal number (a resident's number mislabelled as an
        organisation code must not end up in the store).
        """
        scheme = self.schemes[scheme_id]
        checked = scheme.check(number)
        id_hash = self.vault.digest(scheme.id, checked.compact)
        if not scheme.personal:
            for other in self.personal_schemes:
                if other.check(number).valid:
                    masked = other.mask(checked.compact)
                    return id_hash, masked, None, f"looks like a {other.id} number, not {scheme.id}: {masked}"
            if not checked.valid:
                self.unresolved_numbers[id_hash] = (scheme.id, checked.compact)
                masked = self.personal_schemes[0].mask(checked.compact) if self.personal_schemes else "*" * 8
                return id_hash, masked, None, f"{checked.problem}: {masked}"
        id_masked = scheme.mask(checked.compact)
        if checked.valid:
            # The number as written when it is already compact: one string for the cache's key and this.
            plain = None if scheme.personal else (number if number == checked.compact else checked.compact)
            return id_hash, id_masked, plain, None
        self.unresolved_numbers[id_hash] = (scheme.id, checked.compact)
        return id_hash, id_masked, None, f"{checked.problem}: {id_masked}"

    def header_problems(self, columns: list[str]) -> list[str]:
        """File-level problems with the column set; empty when the header is acceptable."""
        problems = []
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            problems.append(f"missing required column(s): {', '.join(missing)}")
        unknown = [c for c in columns if c not in self.allowed_columns]
        if unknown:
            problems.append(
                f"unknown column(s): {', '.join(unknown)}; a file from '{self.source.id}' may have: "
                f"{', '.join(CORE_FIELDS)}"
                + (
                    f", and the attributes {', '.join(sorted(self.attribute_columns))}"
                    if self.attribute_columns
                    else ""
                )
            )
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        if dupes:
            problems.append(f"column(s) appear twice: {', '.join(dupes)}")
        return problems

    def validate(self, line: int, row: Mapping[str, Any]) -> ValidRow | list[Problem]:
        """Validate one row: a normalised record, or every problem found in the row.

        Rows in the common form (text values, ISO dates, plain numbers) take a fast path; any
        row it is not sure about takes the general path, which also names each problem. The
        two must agree on every row the fast path accepts (a property test holds them to it).
        """
        fast = self.fast(line, row)
        if fast is not None:
            return fast
        return self.general(line, row)

    def fast(self, line: int, row: Mapping[str, Any]) -> ValidRow | None:
        """The fast path: a ValidRow for a row in the common form, or None to take the general path.

        It accepts only text values that need no normalising (already trimmed, printable, ISO
        dates, plain decimal numbers), so whatever it accepts the general path accepts the same
        way. It never explains: anything doubtful goes to `general`. See domain/fastpath.py.
        """
        return self.fast_rows([line], {k: [v] for k, v in row.items()})[0]

    def general(self, line: int, row: Mapping[str, Any]) -> ValidRow | list[Problem]:
        """The general path: accepts every form the platform accepts, and explains refusals."""
        r = RowReading(line, row)
        source_ref = r.reference()
        revision = r.revision()
        plan = self._plan(r)
        decided_on, valid_from, valid_until = r.dates(self.today)
        subject_name = r.bounded_text("subject_name")
        document_no = r.bounded_text("document_no")
        scheme_raw = r.bounded_text("id_scheme")
        number = r.bounded_text("id_number")
        attributes: dict[str, Any] = {}
        scheme: Scheme | None = None
        if plan is not None:
            if plan.rt.requires_document and document_no is None and "document_no" not in {p.field for p in r.problems}:
                r.bad("document_no", "missing", f"record type '{plan.rt.id}' needs the decision document number")
            scheme = self._scheme(r, plan, scheme_raw)
            attributes = self._attributes(r, plan)
            if number is None and subject_name is None:
                r.bad(
                    "id_number",
                    "missing",
                    "a record needs an identifier, or at least a name, to be linked to its subject",
                )
        self.normalised.update(r.counts)
        problems = r.problems
        if problems or plan is None or scheme is None or source_ref is None or decided_on is None or valid_from is None:
            return problems or [Problem(line, None, "invalid", "row could not be read", source_ref)]
        return self._finish(
            line, source_ref, revision, plan.rt.id, scheme, subject_name, number, decided_on, valid_from, valid_until,
            document_no, canonical_json(attributes),
        )  # fmt: skip

    def _plan(self, r: RowReading) -> TypePlan | None:
        """The plan of the row's record type; None (with its problem) when unknown or not the source's to submit."""
        type_raw = r.row.get("record_type")
        if missing(type_raw):
            r.bad("record_type", "missing", "is empty")
            return None
        type_id = code_value(str(type_raw), r.counts)
        plan = self.plans.get(type_id)
        if plan is None:
            known = type_id in self.catalog.record_types
            why = (
                f"source '{self.source.id}' may not submit '{type_id[:64]}'"
                if known
                else f"unknown record type '{type_id[:64]}'"
            )
            r.bad(
                "record_type",
                "not_authorised" if known else "unknown_type",
                why + f"; it may submit: {', '.join(self.source.submits) or 'nothing'}",
            )
        return plan

    def _scheme(self, r: RowReading, plan: TypePlan, scheme_raw: str | None) -> Scheme | None:
        """The row's identifier scheme: given, or the only one of the record type's subject kind."""
        rt = plan.rt
        scheme_id = scheme_raw or plan.default_scheme
        if scheme_id is None:
            r.bad(
                "id_scheme",
                "missing",
                f"record type '{rt.id}' concerns {kinds_text(rt)}: say which scheme the identifier uses "
                f"({', '.join(self.schemes)})",
            )
            return None
        if scheme_id not in self.schemes:
            r.bad(
                "id_scheme",
                "unknown_scheme",
                f"unknown identifier scheme '{scheme_id}' (known: {', '.join(self.schemes)})",
            )
            return None
        scheme = self.schemes[scheme_id]
        if scheme.kind not in rt.subject_kinds:
            r.bad(
                "id_scheme",
                "wrong_kind",
                f"'{scheme_id}' identifies {scheme.kind}s; record type '{rt.id}' concerns {kinds_text(rt)}",
            )
            return None
        return scheme

    def _attributes(self, r: RowReading, plan: TypePlan) -> dict[str, Any]:
        """The record type's attributes, converted; a column of another type's attribute must be empty."""
        rt = plan.rt
        attributes: dict[str, Any] = {}
        for name, conv, required in plan.attributes:
            v = r.row.get(name)
            if missing(v):
                if required:
                    r.bad(name, "missing", f"is required for record type '{rt.id}'")
                continue
            try:
                attributes[name] = conv(v, r.counts)
            except BadValue as exc:
                r.bad(name, "invalid", str(exc))
        for col in self.attribute_columns:
            if col not in rt.attributes and not missing(r.row.get(col)):
                r.bad(col, "foreign_field", f"is not an attribute of record type '{rt.id}'; leave it empty")
        return attributes

    def _finish(
        self,
        line: int,
        source_ref: str,
        revision: int,
        type_id: str,
        scheme: Scheme,
        subject_name: str | None,
        number: str | None,
        decided: date,
        start: date,
        end: date | None,
        document_no: str | None,
        attributes_json: str,
    ) -> ValidRow:
        decided_on, valid_from = decided.isoformat(), start.isoformat()
        valid_until = end.isoformat() if end else None
        if number is None:
            id_hash = id_masked = id_public = None
            unresolved: str | None = "missing identifier"
        else:
            id_hash, id_masked, id_public, unresolved = self.identify(scheme.id, number)
        return ValidRow(
            line,
            source_ref,
            revision,
            type_id,
            scheme.kind,
            subject_name,
            scheme.id,
            id_hash,
            id_masked,
            id_public,
            unresolved,
            decided_on,
            valid_from,
            valid_until,
            document_no,
            attributes_json,
        )


def revision_text(revision: int, version: int = 0) -> str:
    """A record version as people read it: the department's revision, and which of the platform's
    versions of that revision it is when the platform wrote it ("revision 2, platform version 1")."""
    return f"revision {revision}" + (f", platform version {version}" if version else "")


__all__ = ["IDENTIFY_CACHE", "REQUIRED_COLUMNS", "Problem", "RowValidator", "ValidRow", "revision_text"]
