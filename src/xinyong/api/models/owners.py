"""Source departments that own a list: the objections forwarded to them, and their answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from xinyong.domain.disputes import RECORD_STANDS


class OwnerAnswer(BaseModel):
    answer: Annotated[
        str,
        Field(
            min_length=1,
            max_length=40,
            description=f"`{RECORD_STANDS}`: your record is right. The only answer: to correct or revoke the record, "
            "submit it corrected or revoked with a higher revision (POST /v1/records), which ends the entry and "
            "closes the objection as resolved by you; any other answer is refused with 422 saying so.",
            json_schema_extra={"enum": [RECORD_STANDS]},
            examples=[RECORD_STANDS],
        ),
    ]
    reasons: Annotated[
        str,
        Field(
            min_length=5,
            max_length=1000,
            description="Why the record stands, for the subject to read: plain text (line breaks are fine), no other "
            "control character, no identifier.",
            examples=["the judgment of 2024-02-20 is unperformed: no payment reached the court's account"],
        ),
    ]
    reference: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=200,
            description="The number of your own decision document on the objection, if you made one.",
            examples=["(2024)浙01执异12号"],
        ),
    ] = None


class OwnerAnswered(BaseModel):
    id: int
    outcome: str = Field(description="owner_maintained: closed by your answer that the record stands.")
    decided_by: str
    decided_at: datetime
    reasons: str
    reference: str | None


class ForwardedObjection(BaseModel):
    id: int
    target: str = Field(description="What the subject objects to: `record SOURCE/REF` or `entry ID`.")
    target_kind: str
    grounds: str
    filed_at: datetime
    due_on: date = Field(description="The day by which the objection is to be decided.")
    overdue: bool = Field(description="Open past its deadline: sanctions resting on it are suspended until decided.")
    entry_id: int = Field(description="The entry of your list the objection concerns.")
    list_id: str
    record: str = Field(description="Your record that grounds the entry: SOURCE/REF.")
    state: str
    outcome: str | None = Field(
        description="null while open; owner_resolved, owner_maintained or entry_ended once closed."
    )
    decided_by: str | None
    decided_at: datetime | None
    reasons: str | None
    reference: str | None
