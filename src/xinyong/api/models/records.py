"""Source departments: record batches, what a batch did, its rejected rows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt, StrictStr, model_validator

# A record's values as JSON carries them; the record type in the catalog says which each field takes.
Value = StrictStr | StrictInt | StrictFloat | StrictBool | None
FieldName = Annotated[str, Field(min_length=1, max_length=64)]


class RecordBatch(BaseModel):
    records: Annotated[
        list[dict[FieldName, Value]],
        Field(
            min_length=1,
            description="Records, each a JSON object of the fields of its record type (as a CSV or JSONL row).",
            examples=[
                [
                    {
                        "source_ref": "(2027)浙01执12号",
                        "revision": 1,
                        "record_type": "court.defaulter",
                        "subject_name": "杭州示例科技有限公司",
                        "id_scheme": "cn.uscc",
                        "id_number": "91330106MA2ABCDE1G",
                        "decided_on": "2027-01-15",
                        "valid_from": "2027-01-20",
                        "valid_until": "",
                        "document_no": "(2027)浙01执12号",
                        "case_no": "(2027)浙01执12号",
                        "amount_cny": "120000.00",
                        "circumstance": "has_ability_refuses",
                        "performance": "none",
                    }
                ]
            ],
        ),
    ]

    @model_validator(mode="after")
    def _text_is_text(self) -> RecordBatch:
        """A lone surrogate (JSON's `\\ud800` without its pair) is no character: refused by record and
        field, before anything is written."""
        for i, record in enumerate(self.records, start=1):
            for name, value in record.items():
                for text, what in ((name, "a field name"), (value, "its value")):
                    if isinstance(text, str) and not _encodable(text):
                        raise ValueError(
                            f"record {i}, field '{name.encode('utf-8', 'backslashreplace').decode()}': {what} holds "
                            "a lone UTF-16 surrogate, which is not text; send the character itself or its pair"
                        )
        return self


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class BatchResult(BaseModel):
    """What a batch did: rows read, stored, unchanged, rejected; a sample of the rejects."""

    batch_id: int
    source: str
    rows_read: int
    accepted: int
    new_versions: int
    unchanged: int
    rejected: int
    unresolved: int
    subjects_created: int
    problems_sample: list[str] = Field(description="The first rejected rows, each naming its position and field.")
    rejects_url: str = Field(description="Every rejected row of this batch: GET it with the same key.")


class Batch(BaseModel):
    id: int
    source_id: str
    file_format: str
    file_sha256: str
    catalog_version: str
    started_at: datetime
    finished_at: datetime
    rows_read: int
    accepted: int
    new_versions: int
    unchanged: int
    rejected: int
    unresolved: int
    subjects_created: int


class Reject(BaseModel):
    id: int
    batch_id: int
    line: int = Field(description="The row's line in the file, or its position in an API batch (from 1).")
    source_ref: str | None
    field: str | None
    code: str
    message: str
