"""Values of submitted rows: parsing, checking and normalising one field at a time.

Used by the row validator (records.py): the general path's converters, which explain what is
wrong, and the fast path's checks, which only say yes or "not sure".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol
from unicodedata import is_normalized

from xinyong.domain.catalog.models import AttributeSpec, RecordType
from xinyong.domain.normalise import (
    BadValue,
    Counts,
    code,
    parse_amount,
    parse_date,
    parse_integer,
    shown,
    tidy,
)

__all__ = [  # BadValue and parse_date are re-exported: callers took them from here before normalise.py
    "CONTROL",
    "BadValue",
    "FastAttr",
    "canonical_json",
    "clean_text",
    "code_value",
    "converter",
    "fast_value",
    "iso_date",
    "kinds_text",
    "missing",
    "parse_date",
    "text_value",
]

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Convert(Protocol):
    """Checks and normalises one value, adding each rewrite's kind to `counts` when given."""

    def __call__(self, value: Any, counts: Counts | None = None, /) -> Any: ...


def text_value(value: Any, counts: Counts | None = None) -> str:
    """Text as stored: tidied of stray spaces (see normalise.tidy), never echoed when it is not text."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadValue("contains characters that are not valid Unicode text (lone surrogates)") from None
        return tidy(value, counts)
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    # Never echo the value: it may be a personal identifier in the wrong shape.
    raise BadValue(f"a {type(value).__name__} is not text")


def code_value(value: Any, counts: Counts | None = None) -> str:
    """An identifier, number or code as stored: text with full-width forms folded (see normalise.code)."""
    text = text_value(value, counts)
    return code(text, counts) if not text.isascii() else text


def converter(spec: AttributeSpec) -> Convert:
    """Build a function that checks and normalises one attribute value, counting what it rewrote.

    Enumerated and patterned strings are codes (full-width forms folded); other strings keep their
    characters. Numbers take full-width digits and thousands separators; amounts also a unit (元, 万元).
    """
    if spec.type == "string":
        enum = frozenset(spec.enum) if spec.enum else None
        limit = spec.max_length
        pattern = re.compile(spec.pattern) if spec.pattern else None
        as_code = enum is not None or pattern is not None

        def conv_str(v: Any, counts: Counts | None = None) -> str:
            s = code_value(v, counts) if as_code else text_value(v, counts)
            if enum is not None and s not in enum:
                raise BadValue(f"'{shown(s)}' is not one of: {', '.join(sorted(enum))}")
            if limit is not None and len(s) > limit:
                raise BadValue(f"is {len(s)} characters long; at most {limit} allowed")
            if CONTROL.search(s):
                raise BadValue("contains control characters")
            if pattern is not None and not pattern.fullmatch(s):
                raise BadValue(f"'{shown(s)}' does not match the pattern {pattern.pattern}")
            return s

        return conv_str
    lo, hi = spec.minimum, spec.maximum

    def bounds(x: float) -> None:
        if lo is not None and x < lo:
            raise BadValue(f"{x} is below the minimum {lo}")
        if hi is not None and x > hi:
            raise BadValue(f"{x} is above the maximum {hi}")

    if spec.type == "integer":

        def conv_int(v: Any, counts: Counts | None = None) -> int:
            if isinstance(v, bool):
                raise BadValue(f"{v!r} is not a whole number")
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if isinstance(v, str):
                n = parse_integer(v, counts)
                if n is None:
                    raise BadValue(f"'{shown(v)}' is not a whole number")
                v = n
            if not isinstance(v, int):
                raise BadValue(f"{shown(v)!r} is not a whole number")
            bounds(v)
            return v

        return conv_int
    if spec.type == "decimal":

        def conv_dec(v: Any, counts: Counts | None = None) -> float:
            d = parse_amount(v, None, counts)
            if abs(d) >= Decimal("1e15"):
                raise BadValue(f"'{shown(v)}' is not a finite amount below 10^15")
            x = float(round(d, 2))
            bounds(x)
            return x

        return conv_dec
    if spec.type == "boolean":
        truth = {"true": True, "1": True, "yes": True, "是": True, "false": False, "0": False, "no": False, "否": False}

        def conv_bool(v: Any, counts: Counts | None = None) -> bool:
            if isinstance(v, bool):
                return v
            key = code(str(v), counts).lower()
            if key not in truth:
                raise BadValue(f"'{shown(key, 20)}' is not true or false")
            return truth[key]

        return conv_bool

    def conv_date(v: Any, counts: Counts | None = None) -> str:
        return parse_date(v, counts).isoformat()

    return conv_date


def clean_text(v: object, limit: int) -> bool:
    """A text value the general path would accept unchanged: trimmed, printable, within limit."""
    return type(v) is str and 0 < len(v) <= limit and v.isprintable() and not v[0].isspace() and not v[-1].isspace()


def iso_date(v: object) -> date | None:
    """The date of a value already in ISO form (ASCII digits only: anything else is normalised, and counted)."""
    if type(v) is not str or len(v) != 10 or v[4] != "-" or v[7] != "-" or not v.isascii():
        return None
    y, m, d = v[0:4], v[5:7], v[8:10]
    if not (y.isdigit() and m.isdigit() and d.isdigit()):
        return None
    try:
        return date(int(y), int(m), int(d))
    except ValueError:
        return None


def fast_value(a: FastAttr, v: str) -> str | None:
    """The canonical JSON of one attribute value in the common form, or None if unsure."""
    if a.type == "string":
        if not v.isprintable() or v[0].isspace() or v[-1].isspace() or '"' in v or "\\" in v:
            return None
        if a.enum is not None and v not in a.enum:
            return None
        if a.max_length is not None and len(v) > a.max_length:
            return None
        if a.pattern is not None and not (is_normalized("NFKC", v) and a.pattern.fullmatch(v)):
            return None
        return f'"{v}"'
    if a.type == "integer":
        if not (v.isdigit() and v.isascii() and len(v) <= 15):
            return None
        n = int(v)
        if (a.minimum is not None and n < a.minimum) or (a.maximum is not None and n > a.maximum):
            return None
        return str(n)
    if a.type == "decimal":
        whole, _, frac = v.partition(".")
        if not (whole.isdigit() and whole.isascii() and len(whole) <= 14):
            return None
        if frac and not (frac.isdigit() and frac.isascii() and len(frac) <= 2):
            return None
        x = float(v)
        if (a.minimum is not None and x < a.minimum) or (a.maximum is not None and x > a.maximum):
            return None
        return repr(x)
    if a.type == "date":
        d = iso_date(v)
        return None if d is None else f'"{d.isoformat()}"'
    return None


def canonical_json(attributes: Mapping[str, Any]) -> str:
    """The one JSON form of a record's attributes: sorted keys, no spaces, UTF-8 text as is."""
    return json.dumps(attributes, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def kinds_text(rt: RecordType) -> str:
    return " and ".join(f"{k}s" for k in rt.subject_kinds)


def missing(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


@dataclass(frozen=True, slots=True)
class FastAttr:
    """What the fast path needs to know of one attribute."""

    name: str
    type: str
    required: bool
    enum: frozenset[str] | None
    max_length: int | None
    pattern: re.Pattern[str] | None
    minimum: float | None
    maximum: float | None
