"""Notices to subjects and sources: what happened, why, what the recipient can do and by when.

Every event of due process that concerns a subject writes one (FCRA s.615 is the model of an
adverse-action notice: name the source, say who decided, give the right to dispute). The text is
built here, from the facts of the event, so that every channel delivers the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from xinyong.domain.catalog.models import LegalBasis


class NoticeKind(StrEnum):
    LISTING_PROPOSED = "listing_proposed"
    LISTED = "listed"
    LISTING_EXTENDED = "listing_extended"
    LISTING_WITHDRAWN = "listing_withdrawn"
    REMOVED = "removed"
    EXPIRED = "expired"
    REPAIRED = "repaired"
    OBJECTION_RECEIVED = "objection_received"
    OBJECTION_UPHELD = "objection_upheld"
    OBJECTION_DISMISSED = "objection_dismissed"
    OBJECTION_FORWARDED = "objection_forwarded"  # to the source that owns the list of the entry objected to
    RECORD_CORRECTED = "record_corrected"  # to the source department of a corrected record
    REPAIR_RECEIVED = "repair_received"
    REPAIR_APPROVED = "repair_approved"
    REPAIR_REFUSED = "repair_refused"
    LINK_CONFIRMED = "link_confirmed"  # a record without a valid identifier linked by a reviewer
    LINK_UNDONE = "link_undone"
    SUBJECTS_MERGED = "subjects_merged"  # a reviewed merge: two subject rows are one person or organisation
    SUBJECTS_SPLIT = "subjects_split"


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    title: str
    what: str
    why: str
    can_do: str
    respond_by: date | None = None

    @property
    def body(self) -> str:
        by = f" By {self.respond_by.isoformat()}." if self.respond_by else ""
        return f"What happened: {self.what}\nWhy: {self.why}\nWhat you can do: {self.can_do}{by}"


def basis_text(basis: LegalBasis) -> str:
    parts = [basis.instrument]
    if basis.document:
        parts.append(basis.document)
    if basis.article:
        parts.append(basis.article)
    return ", ".join(parts)


def record_text(record_type_name: str, source_name: str, document_no: str | None, decided_on: date) -> str:
    doc = f" (decision {document_no})" if document_no else ""
    return f"{record_type_name} decided by {source_name} on {decided_on.isoformat()}{doc}"
