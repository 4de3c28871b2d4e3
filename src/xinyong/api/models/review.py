"""Reviewers and admins: decisions of due process and what the lists, objections and repairs show."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from xinyong.api.models.common import Flag, Months, Open

Reason = Annotated[str, Field(min_length=5, max_length=1000, examples=["the judgment was paid in full"])]


class EntryDecision(BaseModel):
    decision: Literal["approve", "reject"]
    reason: Reason


class Extension(BaseModel):
    months: Months
    reason: Reason


class Removal(BaseModel):
    reason: Reason


class ObjectionDecision(BaseModel):
    decision: Literal["uphold", "dismiss"]
    reason: Reason
    revoke: Flag = False
    set: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=200)]] | None = None


class RepairDecision(BaseModel):
    decision: Literal["approve", "refuse"]
    reason: Reason
    unmet: list[Annotated[str, Field(max_length=40)]] | None = None


class EntryRow(BaseModel):
    id: int
    list_id: str
    subject_id: int
    subject_kind: str
    source_id: str
    source_ref: str
    record_type: str
    state: str
    notice_ends_on: date | None
    listed_on: date | None
    ends_on: date | None
    disputed: bool


class Transition(Open):
    seq: int
    action: str
    to: str
    actor: str
    at: datetime
    reason: str


class EntryDetail(Open):
    id: int
    list_id: str = Field(alias="list")
    list_name: str
    public: bool
    subject_id: int
    state: str | None
    listed_on: date | None
    ends_on: date | None
    ground: dict[str, Any]
    legal_basis: str
    disputed: bool
    transitions: list[Transition]


class EntryState(BaseModel):
    id: int
    state: str
    ends_on: date | None = None


class ObjectionRow(Open):
    id: int
    subject_id: int
    target_kind: str
    grounds: str
    filed_at: datetime
    due_on: date
    outcome: str | None
    state: str = Field(description="open, forwarded to SOURCE (which owns the list), or how it was decided or closed.")
    forwarded_to: str | None = Field(
        None,
        description="The source that owns the list of the entry objected to, or that made the record objected to "
        "and owns a list it grounds a published entry of.",
    )
    reference: str | None = Field(
        None, description="When the owner answered that its record stands: its own decision document's number, if any."
    )


class ObjectionOutcome(Open):
    """What a decision on an objection did."""


class RepairRow(Open):
    id: int
    subject_id: int
    source_id: str
    source_ref: str
    filed_at: datetime
    due_on: date
    outcome: str | None
    state: str = Field(description="open, forwarded to SOURCE (which owns the list), or how it was decided.")
    forwarded_to: str | None = Field(None, description="The source that owns the list of the entry objected to.")


class RepairOutcome(BaseModel):
    id: int
    outcome: Literal["approved", "refused"]
    unmet: list[str]
    reapply_on: date | None


class AuditReport(BaseModel):
    events: int
    intact: bool
    problems: list[str]


class MaintenanceRun(Open):
    """What one maintenance run did, by step (more counts may follow as due process grows)."""

    state_rows_rebuilt: int
    ended_ground_changed: int
    expired: int
    proposed: int
    published: int
    held_by_objection: int
    overdue_objections: int
    overdue_repairs: int
