"""Values as departments type them, turned into the platform's form and counted.

Departments type into Excel on Chinese-language systems: identifiers in full-width digits
(U+FF10 to U+FF19 for 0-9), dates as 2024年3月5日, 2024/3/5 or 2024.03.05, amounts as 1,234.50 or in 万元,
with stray leading, trailing and non-breaking spaces. Making every department re-export its data
by hand would lose the data, so each function here turns one such value into the platform's form,
or raises `BadValue` saying what it expected, and adds the kind of each rewrite to `counts`: the
batch summary says how many values of each kind were rewritten, so nothing changes unseen.

Names and references keep the characters they were given (only stray spaces go): a name is
evidence of what the department wrote. `fold_name` gives the form names are compared in.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

Counts = Counter[str]

FULL_WIDTH = "full_width"  # full-width digits, letters and signs (NFKC) in identifiers, numbers and codes
SPACES = "spaces"  # leading, trailing, non-breaking and zero-width spaces
DATE_FORMS = "date_forms"  # dates written other than YYYY-MM-DD (2024年3月5日, 2024/3/5, an Excel serial)
SEPARATORS = "thousands_separators"  # 1,234,567.89
UNITS = "units"  # an amount converted from 万元 to 元
KINDS = (FULL_WIDTH, SPACES, DATE_FORMS, SEPARATORS, UNITS)

UNIT_FACTORS = {"元": Decimal(1), "万元": Decimal(10_000)}
# Non-breaking and ideographic spaces read as a space; zero-width ones and a stray byte-order mark go.
_SPACE_TABLE = str.maketrans({0xA0: " ", 0x2007: " ", 0x202F: " ", 0x3000: " ", 0x200B: None, 0xFEFF: None})
_DATE_SEPARATED = re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})", re.ASCII)
_DATE_CHINESE = re.compile(r"([0-9]{4}) ?年 ?([0-9]{1,2}) ?月 ?([0-9]{1,2}) ?日?", re.ASCII)
_MIDNIGHT = re.compile(r"(.*?)(?:[ T]0?0:00(?::00(?:\.0+)?)?)", re.ASCII)
_AMOUNT = re.compile(r"([+-]?)([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+|(?=\.[0-9]))(\.[0-9]*)?([eE][+-]?[0-9]{1,3})?", re.ASCII)
_INTEGER = re.compile(r"([+-]?)([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)", re.ASCII)
EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 in Excel's 1900 date system (its leap-year bug included)
EXCEL_LAST = 2_958_465  # 9999-12-31


class BadValue(ValueError):
    """A value that does not fit its field; the message says what is expected."""


def shown(value: object, limit: int = 40) -> str:
    """A submitted value as a message quotes it: cut to `limit` characters, control characters escaped.

    The message then goes into reject reports that people open in spreadsheets and terminals: a
    raw line break or escape sequence there would break the report's layout or the terminal.
    """
    text = value if isinstance(value, str) else str(value)
    cut = text[:limit] + ("..." if len(text) > limit else "")
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in cut)


def tidy(value: str, counts: Counts | None = None) -> str:
    """The text without leading and trailing spaces, with non-breaking spaces as plain ones."""
    text = value if value.isascii() else value.translate(_SPACE_TABLE)
    text = text.strip()
    if counts is not None and text != value:
        counts[SPACES] += 1
    return text


def code(value: str, counts: Counts | None = None) -> str:
    """An identifier, number or code: tidied, and full-width forms folded to ASCII (NFKC)."""
    text = tidy(value, counts)
    if not text.isascii():
        folded = unicodedata.normalize("NFKC", text)
        if folded != text:
            if counts is not None:
                counts[FULL_WIDTH] += 1
            text = folded.strip()
    return text


def parse_date(value: Any, counts: Counts | None = None) -> date:
    """A date in any of the forms departments write; `BadValue` naming the forms otherwise."""
    if isinstance(value, datetime):
        if (value.hour, value.minute, value.second, value.microsecond) != (0, 0, 0, 0):
            raise BadValue(f"{value.isoformat()} has a time of day; send a date")
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise BadValue(f"{shown(value)!r} is not a date; use YYYY-MM-DD")
    s = code(value, counts)
    if len(s) == 10 and s[4] == "-" and s[7] == "-" and s.replace("-", "").isdigit():
        return _date(s, int(s[0:4]), int(s[5:7]), int(s[8:10]))
    midnight = _MIDNIGHT.fullmatch(s)
    body = midnight[1] if midnight else s
    if (found := _DATE_SEPARATED.fullmatch(body)) is not None:
        result = _date(s, int(found[1]), int(found[3]), int(found[4]))
    elif (found := _DATE_CHINESE.fullmatch(body)) is not None:
        result = _date(s, int(found[1]), int(found[2]), int(found[3]))
    elif len(body) == 8 and body.isdigit() and body.isascii():
        result = _date(s, int(body[0:4]), int(body[4:6]), int(body[6:8]))
    else:
        raise BadValue(f"'{shown(s)}' is not a date; use YYYY-MM-DD (also 2024/3/5, 2024.03.05 or 2024年3月5日)")
    if counts is not None:
        counts[DATE_FORMS] += 1
    return result


def _date(text: str, y: int, m: int, d: int) -> date:
    try:
        return date(y, m, d)
    except ValueError as exc:
        raise BadValue(f"'{shown(text)}' is not a real date ({exc})") from None


def excel_serial(serial: float, counts: Counts | None = None) -> date:
    """The date an Excel serial number stands for (the 1900 date system), as a date column holds it."""
    if not (serial == int(serial) and 1 <= serial <= EXCEL_LAST):
        raise BadValue(f"{shown(serial)} is not a date (nor a whole Excel date serial); use YYYY-MM-DD")
    if counts is not None:
        counts[DATE_FORMS] += 1
    return EXCEL_EPOCH + timedelta(days=int(serial))


def parse_amount(value: Any, unit: str | None = None, counts: Counts | None = None) -> Decimal:
    """An amount of money in yuan, exactly (Decimal, never float).

    Thousands separators must group by three (a "1,5" could be a decimal comma, so it is refused
    rather than read as 15); a unit written after the number (元, 万元) wins over the column's
    declared `unit`, and an amount in 万元 is multiplied by 10,000 in decimal arithmetic.
    """
    if isinstance(value, bool):
        raise BadValue(f"{value!r} is not a number")
    if isinstance(value, (int, Decimal)):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        s = code(value, counts)
        for suffix in ("万元", "元"):
            if s.endswith(suffix):
                s, unit = s[: -len(suffix)].rstrip(), suffix
                break
        found = _AMOUNT.fullmatch(s)
        if found is None:
            raise BadValue(f"'{shown(value)}' is not a number" + ("; group thousands by three" if "," in s else ""))
        if "," in found[2] and counts is not None:
            counts[SEPARATORS] += 1
        amount = Decimal(found[1] + (found[2].replace(",", "") or "0") + (found[3] or "") + (found[4] or ""))
    else:
        raise BadValue(f"a {type(value).__name__} is not a number")
    if not amount.is_finite():
        raise BadValue(f"'{shown(value)}' is not a finite amount")
    if unit is not None and unit != "元":
        factor = UNIT_FACTORS.get(unit)
        if factor is None:
            raise BadValue(f"unknown unit '{shown(unit)}'; amounts are in 元 or 万元")
        amount *= factor
        if counts is not None:
            counts[UNITS] += 1
    return amount


def plain_amount(amount: Decimal) -> str:
    """An exact amount as plain decimal text (15000, 12345.6): what a file in yuan would hold."""
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def parse_integer(value: str, counts: Counts | None = None) -> int | None:
    """A whole number typed with full-width digits or thousands separators; None if it is not one."""
    s = code(value, counts)
    found = _INTEGER.fullmatch(s)
    if found is None or len(found[2].replace(",", "")) > 18:
        return None
    if "," in found[2] and counts is not None:
        counts[SEPARATORS] += 1
    return int(found[1] + found[2].replace(",", ""))


@lru_cache(maxsize=1)
def _simplifier() -> Any:
    import opencc  # loaded on the first name folded: the conversion tables take a moment to read

    return opencc.OpenCC("t2s")


def fold_name(name: str) -> str:
    """The form names are compared in: NFKC, traditional characters as simplified, no spaces, case-folded.

    Only for matching: the store keeps each name as the department wrote it (張偉 stays 張偉, and
    is found as 张伟).
    """
    text = unicodedata.normalize("NFKC", name)
    if not text.isascii():
        text = str(_simplifier().convert(text))
    return "".join(text.split()).casefold()
