"""Credit reports: what a verification code proves, and the certificate that signs report PDFs."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class Period(BaseModel):
    from_: date | None = Field(alias="from")
    to: date | None


class ReportDataVersion(BaseModel):
    catalog_version: str
    known_at: datetime | str


class Verification(BaseModel):
    code: str
    issued: bool
    issued_at: datetime
    subject: str = Field(description="The subject's name, masked.")
    subject_kind: str
    period: Period
    purpose: str | None
    lang: str
    format: str
    json_sha256: str
    pdf_sha256: str | None
    data_version: ReportDataVersion


class Signer(BaseModel):
    certificate_pem: str
    spki_sha256: str
