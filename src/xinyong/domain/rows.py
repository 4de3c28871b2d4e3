"""The rows of validation: a row's problems, a valid row as ingestion stores it, and the plan of a
record type that both paths of validation (general and fast) follow."""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from xinyong.domain.catalog.models import RecordType
from xinyong.domain.values import Convert, FastAttr


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a row (or part of it) cannot be accepted as given."""

    line: int
    field: str | None
    code: str
    message: str
    source_ref: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", field '{self.field}'" if self.field else "")
        return f"{where}: {self.message}"


class ValidRow(NamedTuple):
    """A row that passed validation, normalised, with its identifier reduced to hash and mask.

    A named tuple, not a dataclass: millions of them cross a process boundary during ingestion.
    """

    line: int
    source_ref: str
    revision: int
    record_type: str
    subject_kind: str
    subject_name: str | None
    scheme: str
    id_hash: str | None
    id_masked: str | None
    id_public: str | None  # the plain number, only for non-personal schemes and valid numbers
    unresolved: str | None  # why the row cannot be linked deterministically, or None
    decided_on: str  # ISO 8601 dates, normalised from whatever form the department sent
    valid_from: str
    valid_until: str | None
    document_no: str | None
    attributes_json: str  # canonical JSON of the attributes (sorted keys), as stored and as hashed


# What a row's content hash covers, in this order (see content_hashes).
_HASHED = (
    "record_type", "scheme", "id_hash", "subject_name", "decided_on", "valid_from", "valid_until", "document_no",
    "attributes_json",
)  # fmt: skip
_HASHED_AT = tuple(ValidRow._fields.index(f) for f in _HASHED)
_OPTIONAL = frozenset(ValidRow._fields.index(f) for f in ("id_hash", "subject_name", "valid_until", "document_no"))
_HEX = operator.methodcaller("hexdigest")


def content_hashes(rows: Sequence[ValidRow]) -> list[str]:
    """Each row's content hash: the SHA-256 (hex) of what it says about its subject (the fields of
    _HASHED, a missing one as "", joined by U+001F), by which the store recognises a revision it
    holds already, unchanged or changed. The store keeps it with the record: the definition never
    changes (a test holds it to fixed digests).

    Computed by the writing process when it stores the rows, not by the validating helper: on a
    large file the helper was the slower of the two, and the writer waited for it with the time
    to hash the rows itself (see ingest.chunks).
    """
    if not rows:
        return []
    columns = list(zip(*rows, strict=True))
    parts = [[v or "" for v in columns[i]] if i in _OPTIONAL else columns[i] for i in _HASHED_AT]
    contents = map("\x1f".join, zip(*parts, strict=True))
    return list(map(_HEX, map(hashlib.sha256, map(str.encode, contents))))


@dataclass(frozen=True, slots=True)
class TypePlan:
    """What validating the rows of one record type needs, prepared once per validator."""

    rt: RecordType
    attributes: tuple[tuple[str, Convert, bool], ...]
    default_scheme: str | None
    fast_attributes: tuple[FastAttr, ...]  # sorted by name, the order of the canonical JSON
    foreign: tuple[str, ...]  # attribute columns of the source that this type does not have
