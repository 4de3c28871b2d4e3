"""Discovery: what a consumer may ask about, and under which law."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Basis(BaseModel):
    instrument: str
    article: str | None
    document: str | None
    url: str | None
    text: str = Field(description="The citation as checks and notices write it.")


class PurposeCode(BaseModel):
    code: str = Field(description="Send as a check's `purpose` (a free-text reference may follow it).")
    name: str
    name_zh: str


class ContextInfo(BaseModel):
    id: str
    name: str
    name_zh: str | None
    sector: str
    protected: bool = Field(description="A protected context: no measure ever applies in it.")
    description: str
    purposes: list[PurposeCode]
    measures: list[str] = Field(description="The measures answered in this context, by id.")


class MeasureInfo(BaseModel):
    id: str
    name: str
    name_zh: str | None
    effect: str
    kind: str = Field(description="sanction, reward or supervision.")
    implementing_department: str
    contexts: list[str]
    subject_kinds: list[str]
    legal_basis: Basis


class RecordTypeInfo(BaseModel):
    id: str
    name: str
    name_zh: str | None
    category: str
    polarity: str
    subject_kinds: list[str]
    public: bool
    publication_months: int
    sources: list[str] = Field(description="The departments that submit it.")
    legal_basis: Basis


class ListInfo(BaseModel):
    id: str
    kind: str
    name: str
    name_zh: str | None
    subject_kinds: list[str]
    public: bool
    reviewer_required: bool
    notice_days: int
    term_months: int
    legal_basis: Basis


class CatalogView(BaseModel):
    version: str
    contexts: list[ContextInfo]
    measures: list[MeasureInfo]
    record_types: list[RecordTypeInfo]
    lists: list[ListInfo]
