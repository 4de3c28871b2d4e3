"""Working days, from the `holidays` package's calendar (China by default).

Deadlines in due process count working days: statutory holidays are skipped and the weekend
days the State Council makes working days around them count. The calendar is policy data (the
catalog's procedure names it), so another jurisdiction's catalog can name its own.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=8)
def _calendar(country: str) -> holidays.HolidayBase:
    # Years are added lazily by the package as dates are looked up.
    return holidays.country_holidays(country)


def add_working_days(day: date, n: int, country: str = "CN") -> date:
    """The n-th working day after `day` (n >= 1); n = 0 gives `day` itself."""
    if n <= 0:
        return day
    return _calendar(country).get_nth_working_day(day, n)


def is_working_day(day: date, country: str = "CN") -> bool:
    return bool(_calendar(country).is_working_day(day))
