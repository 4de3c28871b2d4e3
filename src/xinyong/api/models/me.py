"""A subject's own file, objections and repair requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from xinyong.api.models.common import Flag, Open
from xinyong.api.models.review import EntryRow, ObjectionRow, RepairRow

Ref = Annotated[str, Field(min_length=1, max_length=200)]


class ObjectionRequest(BaseModel):
    target: Annotated[
        str,
        Field(
            min_length=3,
            max_length=200,
            description="What is objected to: record:SOURCE/REF, link:SOURCE/REF, entry:ID or score:ID.",
            examples=["record:court/(2027)浙01执12号", "entry:12"],
        ),
    ]
    grounds: Annotated[
        str, Field(min_length=10, max_length=2000, examples=["the judgment was paid in full on 2027-02-01"])
    ]


class RepairRequest(BaseModel):
    record: Annotated[str, Field(min_length=3, max_length=200, examples=["court/(2027)浙01执12号"])]
    evidence_ref: Annotated[str, Field(min_length=1, max_length=200, examples=["receipt 2027-0042"])] | None = None
    commitment: Flag = False


class Filed(BaseModel):
    id: int
    due_on: date


class ObjectionFiled(Filed):
    target: str
    forwarded_to: str | None = Field(
        None,
        description=(
            "The source that owns the list of the entry objected to, or that made the record objected to and "
            "owns a list it grounds a published entry of: only its decision ends the entry."
        ),
    )


class RepairFiled(Filed):
    unmet: list[str] = Field(description="Conditions of repair not met yet, if any.")


class Identifier(BaseModel):
    scheme: str
    masked: str


class MySubject(BaseModel):
    id: int
    kind: str
    name: str | None
    identifiers: list[Identifier]


class MyRecord(BaseModel):
    source: str
    source_name: str | None
    source_ref: str
    revision: int = Field(description="The department's own revision number of the record.")
    version: int = Field(
        0,
        description="0: the record as the department sent that revision; 1, 2, ...: the versions the platform "
        "wrote of it since (a correction after an upheld objection, a link a person confirmed, a merge).",
    )
    record_type: str
    decided_on: date | None
    valid_from: date | None
    valid_until: date | None
    status: str
    in_force: bool
    document_no: str | None
    attributes: dict[str, Any] = Field(description="The record type's attributes, as the catalog defines them.")
    disputed: bool
    link_mark: str | None = Field(
        None, description="The person's decision that linked the record to you (a match review, a merge or split)."
    )


class CheckAboutMe(BaseModel):
    id: str
    created_at: datetime
    consumer: str
    context: str
    purpose: str
    outcome: str


class MyFile(BaseModel):
    subject: MySubject
    records: list[MyRecord]
    score: Open = Field(description="The score with every contribution explained (see `xinyong score`).")
    list_entries: list[EntryRow]
    notices: list[Open]
    objections: list[ObjectionRow]
    repairs: list[RepairRow]
    checks: list[CheckAboutMe]
    reports_received_by_others: list[Open]
