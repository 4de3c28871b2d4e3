"""One row read by the general path of validation: the fields every record has, each problem
named by its line and field as it is found, and the counts of the values normalised."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any

from xinyong.domain.fastpath import MAX_REVISION
from xinyong.domain.normalise import BadValue, Counts, parse_date
from xinyong.domain.rows import Problem
from xinyong.domain.values import CONTROL, code_value, missing, text_value

MAX_LEN = {"source_ref": 64, "subject_name": 200, "id_scheme": 32, "id_number": 64, "document_no": 64}
CODES = frozenset(("id_scheme", "id_number"))  # full-width forms folded; names and references kept as written
_REVISION = re.compile(r"\+?[0-9]{1,7}")


class RowReading:
    """The reading of one row: what it says, and what is wrong with it (`problems`, in the order found)."""

    def __init__(self, line: int, row: Mapping[str, Any]) -> None:
        self.line, self.row = line, row
        self.problems: list[Problem] = []
        self.counts: Counts = Counter()
        self.source_ref: str | None = None  # once read: the problems found after it name it

    def bad(self, field: str | None, code: str, message: str) -> None:
        self.problems.append(Problem(self.line, field, code, message, self.source_ref))

    def bounded_text(self, field: str) -> str | None:
        v = self.row.get(field)
        if missing(v):
            return None
        try:
            s = code_value(v, self.counts) if field in CODES else text_value(v, self.counts)
        except BadValue as exc:
            self.bad(field, "invalid", str(exc))
            return None
        if len(s) > MAX_LEN[field]:
            self.bad(field, "too_long", f"is {len(s)} characters long; at most {MAX_LEN[field]} allowed")
            return None
        if CONTROL.search(s):
            self.bad(field, "invalid", "contains control characters")
            return None
        return s

    def reference(self) -> str | None:
        source_ref = self.bounded_text("source_ref")
        if source_ref is None and missing(self.row.get("source_ref")):
            self.bad("source_ref", "missing", "is empty; every record needs the department's own reference")
        self.source_ref = source_ref
        return source_ref

    def revision(self) -> int:
        rev_raw = self.row.get("revision")
        if missing(rev_raw):
            return 1
        if isinstance(rev_raw, int) and not isinstance(rev_raw, bool):
            revision = rev_raw
        elif isinstance(rev_raw, str) and _REVISION.fullmatch(rev := code_value(rev_raw, self.counts)):
            revision = int(rev)
        else:
            revision = 0
        if not 1 <= revision <= MAX_REVISION:
            self.bad("revision", "invalid", f"'{str(rev_raw)[:20]}' is not a revision number (1, 2, 3, ...)")
            return 1
        return revision

    def dates(self, today: date) -> tuple[date | None, date | None, date | None]:
        """(decided_on, valid_from, valid_until); valid_from defaults to decided_on."""
        dates: dict[str, date | None] = {}
        for field in ("decided_on", "valid_from", "valid_until"):
            v = self.row.get(field)
            if missing(v):
                dates[field] = None
                if field == "decided_on":
                    self.bad(field, "missing", "is empty; every record needs the date of its decision")
                continue
            try:
                dates[field] = parse_date(v, self.counts)
            except BadValue as exc:
                self.bad(field, "invalid_date", str(exc))
                dates[field] = None
        decided_on = dates["decided_on"]
        valid_from = dates["valid_from"] or decided_on
        valid_until = dates["valid_until"]
        for field, d in (("decided_on", decided_on), ("valid_from", dates["valid_from"])):
            if d is not None and d > today:
                self.bad(
                    field,
                    "future_date",
                    f"{d.isoformat()} is in the future; submit a decision once it is made and in effect",
                )
        if valid_from is not None and valid_until is not None and valid_until <= valid_from:
            self.bad(
                "valid_until",
                "invalid_period",
                f"{valid_until.isoformat()} is not after valid_from {valid_from.isoformat()}",
            )
        return decided_on, valid_from, valid_until
