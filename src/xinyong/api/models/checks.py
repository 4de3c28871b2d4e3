"""Checks: the request a consuming department makes, the signed answer, replays, batches and keys."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from xinyong.services.check_batches import BATCH_MAX

__all__ = ["BATCH_MAX"]  # the batch bound, documented where the request is

Subject = Annotated[str, Field(min_length=1, max_length=64, examples=["91330106MA2ABCDE1G"])]
ContextId = Annotated[str, Field(min_length=1, max_length=64, examples=["procurement.tender"])]
PurposeCode = Annotated[
    str,
    Field(min_length=1, max_length=64, examples=["bidder_screening"], description="A purpose code of the context."),
]
Reference = Annotated[
    str | None,
    Field(max_length=200, examples=["tender 2026-001"], description="The department's own reference (free text)."),
]


class CheckRequest(BaseModel):
    subject: Subject
    context: ContextId
    purpose: PurposeCode
    reference: Reference = None
    as_of: date | None = None


class MeasureAnswer(BaseModel):
    measure: str
    name: str
    effect: str
    kind: str
    applies: bool
    implementing_department: str
    legal_basis: str
    reason: str
    basis: list[dict[str, Any]] = Field(description="The list entries or records behind the answer.")
    disputed: bool


class Decision(BaseModel):
    context: str
    outcome: Literal["deny", "review", "allow"]
    summary: str
    grade: str | None
    applied: list[MeasureAnswer]
    not_applied: list[MeasureAnswer]


class CheckedSubject(BaseModel):
    id: int | None
    identifier: str = Field(description="The identifier's scheme and its masked value.")


class DataVersion(BaseModel):
    catalog: str
    as_of: str = Field(description="The day the measures are decided for.")
    known_at: str = Field(description="The knowledge clock's stamp the check read the store as of.")
    evaluated_at: str | None = Field(
        None,
        description="The moment the check was evaluated at: the time of asking, or an earlier moment the "
        "caller gave; `issued_at` is always when it was issued.",
    )


class CheckResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "check_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                    "issued_at": "2026-03-01T08:00:00+00:00",
                    "consumer": "consumer:procurement",
                    "context": "procurement.tender",
                    "purpose": "bidder_screening",
                    "reference": "tender 2026-001",
                    "subject": {"id": 12, "identifier": "cn.uscc 9133********DE1Y"},
                    "data_version": {
                        "catalog": "4f2a…",
                        "as_of": "2026-03-01",
                        "known_at": "2026-02-28T23:10:00+00:00",
                        "evaluated_at": "2026-03-01T08:00:00+00:00",
                    },
                    "decision": {
                        "context": "procurement.tender",
                        "outcome": "allow",
                        "summary": "no measure applies",
                        "grade": None,
                        "applied": [],
                        "not_applied": [],
                    },
                    "certificate_url": "/v1/checks/0f1e2d3c4b5a69788796a5b4c3d2e1f0/certificate",
                }
            ]
        }
    )

    check_id: str
    issued_at: str
    consumer: str
    context: str
    purpose: str
    reference: str | None = None
    subject: CheckedSubject
    data_version: DataVersion
    decision: Decision
    audit: dict[str, Any] = Field(description="The audit chain's sequence and head the check was written at.")
    certificate_url: str


class CheckSummary(BaseModel):
    """A check as its consumer lists it (the signed answer is at `certificate_url`)."""

    check_id: str
    issued_at: datetime
    context: str
    purpose: str
    subject_id: int | None
    subject_identifier: str
    outcome: Literal["deny", "review", "allow"]
    certificate_url: str


class BatchRequest(BaseModel):
    """One tender, many subjects: each item is checked, stored, audited and signed as a single check."""

    context: ContextId
    purpose: PurposeCode
    reference: Reference = None
    subjects: Annotated[
        list[Subject],
        Field(min_length=1, max_length=BATCH_MAX, description=f"At most {BATCH_MAX} subjects; more: 422."),
    ]
    as_of: date | None = None


class BatchItem(BaseModel):
    index: int = Field(description="The subject's position in the request, from 0.")
    subject: str
    status: int = Field(description="200 when the check was made, else the status a single check would answer.")
    check: CheckResponse | None = None
    error: str | None = Field(None, description="What went wrong with this item; the others are unaffected.")


class BatchResponse(BaseModel):
    checked: int
    failed: int
    items: list[BatchItem]


class Replay(BaseModel):
    check_id: str
    same: bool | None
    reason: str
    as_of: str | None = None
    known_at: str | None = None
    outcome_then: str | None = None
    outcome_replayed: str | None = None
    differences: list[dict[str, Any]] = []


class PublicKey(BaseModel):
    key_id: str
    algorithm: str
    public_key: str = Field(description="The raw Ed25519 public key, base64.")
