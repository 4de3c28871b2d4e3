"""What the public may see: organisations, and persons only while on a public list, masked."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class PublicIdentifier(BaseModel):
    scheme: str
    value: str


class PublicEntry(BaseModel):
    entry: int
    list: str
    list_name: str
    listed_on: date | None
    ends_on: date | None


class PublicRecord(BaseModel):
    record_type: str
    source: str | None
    decided_on: date | None
    valid_from: date | None
    document_no: str | None


class Found(BaseModel):
    id: int
    kind: str
    name: str | None
    identifiers: list[PublicIdentifier]
    list_entries: list[PublicEntry]


class PublicSubject(Found):
    records: list[PublicRecord]
