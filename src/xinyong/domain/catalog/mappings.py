"""Column mappings: a department's own export headers, in Chinese, onto a record type's fields.

A department exports what its own system holds, under the headers of the national templates
(统一社会信用代码, 行政相对人名称, 处罚决定日期, 罚款金额（万元）...). A mapping, one per source and
record type, says which header feeds which field of xinyong's records, in which unit an amount
column is, how the department's words for coded values read as the catalog's codes, where the
subject's identifier is, and which columns the platform reads and drops: free text and a legal
representative's data are never held (principle 8), and the batch summary names what was dropped.

The models validate one entry; `mapping_rules.check_mappings` checks them against the rest of the
catalog, with file, line and what to fix, like every other section.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from xinyong.domain.catalog.models import Entry, Id, Name, Text

Header = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Unit = Literal["元", "万元"]
# The encodings a source may declare for its text files; GBK and GB2312 are read as GB18030, their superset.
Encoding = Literal["utf-8", "gb18030", "gbk", "gb2312", "utf-16", "utf-16-le", "utf-16-be"]
IDENTITY = frozenset(("id_scheme", "id_number"))  # filled from `identifiers`, never from a plain column
# Headers whose columns the platform must never hold, whatever a mapping says: free-text facts and
# remarks (closed record schemas, principle 8) and a legal representative's data (measures bind
# the subject alone). Matched as parts of the normalised header, so 法定代表人证件号码 is one too.
NEVER_HELD = {
    "法定代表人": "a legal representative's data: measures bind the subject alone",
    "法人代表": "a legal representative's data: measures bind the subject alone",
    "负责人": "a responsible person's data: measures bind the subject alone",
    "违法事实": "free-text facts (closed record schemas, principle 8)",
    "事实": "free-text facts (closed record schemas, principle 8)",
    "处罚内容": "free-text content of a decision (closed record schemas, principle 8)",
    "确定的义务": "free-text obligations (closed record schemas, principle 8)",
    "备注": "free-text remarks (closed record schemas, principle 8)",
}


def header_key(header: str) -> str:
    """A header as compared: NFKC (full-width brackets as ASCII), without any white space.

    Templates vary between provinces in exactly these ways (罚款金额（万元） and 罚款金额(万元)).
    """
    return "".join(unicodedata.normalize("NFKC", header).split())


def never_held(header: str) -> str | None:
    """Why a column under this header may not be held, or None."""
    key = header_key(header)
    return next((why for part, why in NEVER_HELD.items() if part in key), None)


class ColumnSpec(Entry):
    """Where one column goes: one or more fields, with the column's unit or value table."""

    to: Annotated[list[Annotated[str, StringConstraints(max_length=40)]], Field(min_length=1, max_length=4)]
    unit: Unit | None = None
    values: dict[Header, Annotated[str, StringConstraints(min_length=1, max_length=100)]] | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_field(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("to"), str):
            return {**data, "to": [data["to"]]}
        return data


class IdentifierColumn(Entry):
    """A column holding the subject's identifier, under one scheme or the one another column names."""

    header: Header
    scheme: Annotated[str, StringConstraints(max_length=32)] | None = None
    scheme_from: Header | None = None
    schemes: dict[Header, Annotated[str, StringConstraints(max_length=32)]] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> IdentifierColumn:
        if (self.scheme is None) == (self.scheme_from is None):
            raise ValueError("give either 'scheme' or 'scheme_from' with 'schemes'")
        if (self.scheme_from is None) != (self.schemes is None):
            raise ValueError("'scheme_from' and 'schemes' go together")
        return self


class Mapping(Entry):
    """One source's export for one record type (or for the types a mapped column names)."""

    id: Id
    source: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=32)]
    record_type: Id | None = None
    name: Name | None = None
    encoding: Encoding | None = None
    sheet: Header | None = None
    columns: dict[Header, Annotated[str, StringConstraints(max_length=40)] | ColumnSpec] = Field(default_factory=dict)
    identifiers: list[IdentifierColumn] = Field(default_factory=list)
    drop: dict[Header, Annotated[str, StringConstraints(min_length=3, max_length=200)]] = Field(default_factory=dict)
    description: Text = ""

    def specs(self) -> dict[str, ColumnSpec]:
        """Every mapped column as a ColumnSpec (a plain field name is one with a single target)."""
        return {h: ColumnSpec(to=[c]) if isinstance(c, str) else c for h, c in self.columns.items()}

    def headers(self) -> list[str]:
        """Every header this mapping reads (mapped, identifier, scheme and dropped columns)."""
        ids = [h for i in self.identifiers for h in (i.header, i.scheme_from) if h is not None]
        return [*self.columns, *dict.fromkeys(ids), *self.drop]

    def record_types(self) -> list[str]:
        """The record types this mapping's rows may be: the fixed one, or those its value table names."""
        if self.record_type is not None:
            return [self.record_type]
        for spec in self.specs().values():
            if "record_type" in spec.to and spec.values:
                return sorted(set(spec.values.values()))
        return []
