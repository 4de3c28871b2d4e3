"""The synthetic residents and companies of the demo city, with valid and unique identifiers.

Every check character comes from python-stdnum, and every number is confirmed with `is_valid`,
so a number that the platform refuses is always a deliberate typo, never a generator bug.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from stdnum.cn import ric, uscc

from xinyong.demo.names import INDUSTRIES, INDUSTRY_WEIGHTS, org_name, person_name

# The demo city's districts (Hangzhou), by administrative division code.
DISTRICTS: dict[str, str] = {
    "330102": "上城区", "330105": "拱墅区", "330106": "西湖区", "330108": "滨江区", "330109": "萧山区",
    "330110": "余杭区", "330111": "富阳区", "330112": "临安区", "330113": "临平区", "330114": "钱塘区",
}  # fmt: skip
_DISTRICT_WEIGHTS = (12, 13, 12, 7, 14, 11, 7, 6, 9, 9)

# An identity number carries the division code in force where and when it was first issued, so an
# older resident of a newer district holds the code of its predecessor. Newest first; the city code
# 330100 is the last resort. Which of them python-stdnum accepts for a birth year decides.
_RIC_LINEAGE: dict[str, tuple[str, ...]] = {
    "330102": ("330102", "330120", "330100"),
    "330105": ("330105", "330120", "330100"),
    "330106": ("330106", "330120", "330100"),
    "330108": ("330108", "330106", "330120", "330100"),
    "330109": ("330109", "330181", "330121", "330100"),
    "330110": ("330110", "330184", "330125", "330100"),
    "330111": ("330111", "330183", "330123", "330100"),
    "330112": ("330112", "330185", "330124", "330100"),
    "330113": ("330113", "330110", "330184", "330125", "330100"),
    "330114": ("330114", "330104", "330120", "330100"),
}

# The first code of a lineage that python-stdnum accepted for (district, birth year): it depends on
# nothing else, so later numbers try it first and skip the lookups of codes already refused.
_REGION_HINT: dict[tuple[str, int], str] = {}

_ORG_CODE_LETTERS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_NEW_STYLE_FROM = date(2015, 10, 1)  # organisation codes "MA..." since the unified codes began


@dataclass(frozen=True, slots=True)
class Person:
    key: str
    surname: str
    given: str
    male: bool
    birth: date
    district: str
    ric: str

    @property
    def name(self) -> str:
        return self.surname + self.given

    @property
    def start(self) -> int:
        """First day (ordinal) a decision can concern this person: the 18th birthday."""
        return _add_years(self.birth, 18).toordinal()


@dataclass(frozen=True, slots=True)
class Org:
    key: str
    name: str
    industry: str
    registered: date
    district: str
    uscc: str

    @property
    def start(self) -> int:
        return self.registered.toordinal()


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def accepted(is_valid: Callable[[str], bool], number: str) -> bool | None:
    """Whether python-stdnum accepts `number`; None when it fails with an unexpected error.

    python-stdnum 2.2 raises KeyError instead of a validation error for an identity number whose
    province is known but whose county is not (e.g. 330113): such numbers are avoided altogether.
    """
    try:
        return is_valid(number)
    except Exception:  # noqa: BLE001 - any error other than "invalid" makes the number unusable
        return None


def make_ric(rng: random.Random, district: str, birth: date, male: bool, used: set[str]) -> str:
    """A valid resident identity number not in `used`; the check character from python-stdnum."""
    born = birth.strftime("%Y%m%d")
    hint = _REGION_HINT.get((district, birth.year))
    lineage = _RIC_LINEAGE[district] if hint is None else (hint, *_RIC_LINEAGE[district])
    for _ in range(1000):
        seq = rng.randrange(500) * 2 + (1 if male else 0)  # odd for men, even for women
        for region in lineage:
            body = f"{region}{born}{seq:03d}"
            number = body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check digit
            if accepted(ric.is_valid, number):
                _REGION_HINT[district, birth.year] = region
                break
        else:
            raise RuntimeError(f"no division code of district {district} is valid for births on {birth}")
        if number not in used:
            used.add(number)
            return number
    raise RuntimeError(f"no unused identity number left for births on {birth} in {district}")


def make_uscc(rng: random.Random, district: str, registered: date, used: set[str]) -> str:
    """A valid Unified Social Credit Code (company registered with market regulation) not in `used`."""
    for _ in range(1000):
        if registered >= _NEW_STYLE_FROM:
            org_code = "MA" + "".join(rng.choices(_ORG_CODE_LETTERS, k=6))
        else:
            org_code = "".join(rng.choices("0123456789", k=8))
        # python-stdnum does not check the embedded GB 11714 code, so its last character is drawn
        # from that standard's range instead of being computed by hand.
        body = f"91{district}{org_code}{rng.choice('0123456789X')}"
        number = body + uscc.calc_check_digit(body)
        if not uscc.is_valid(number):
            raise RuntimeError(f"generated an invalid unified social credit code {number}")
        if number not in used:
            used.add(number)
            return number
    raise RuntimeError("no unused unified social credit code found")


def make_persons(rng: random.Random, n: int, anchor: date) -> list[Person]:
    """Residents aged 18 to 85 at the anchor date."""
    districts = list(DISTRICTS)
    cum = list(accumulate(_DISTRICT_WEIGHTS))
    used: set[str] = set()
    people = []
    oldest, youngest = _add_years(anchor, -85).toordinal() + 1, _add_years(anchor, -18).toordinal()
    for i in range(n):
        # More working-age residents than old ones: a triangular age distribution peaking near 35.
        born = int(rng.triangular(oldest, youngest, youngest - 17 * 365))
        birth = date.fromordinal(min(max(born, oldest), youngest))
        male = rng.random() < 0.5
        district = rng.choices(districts, cum_weights=cum)[0]
        surname, given = person_name(rng, male, birth.year)
        number = make_ric(rng, district, birth, male, used)
        people.append(Person(f"P{i + 1:06d}", surname, given, male, birth, district, number))
    return people


def make_orgs(rng: random.Random, n: int, anchor: date) -> list[Org]:
    """Companies registered up to 30 years before the anchor, most of them in recent years."""
    districts = list(DISTRICTS)
    cum = list(accumulate(_DISTRICT_WEIGHTS))
    industries = list(INDUSTRIES)
    ind_cum = list(accumulate(INDUSTRY_WEIGHTS[i] for i in industries))
    names: set[str] = set()
    used: set[str] = set()
    orgs = []
    for i in range(n):
        age_days = min(int(rng.expovariate(1 / (9 * 365))), 30 * 365) + 60
        registered = anchor - timedelta(days=age_days)
        industry = rng.choices(industries, cum_weights=ind_cum)[0]
        district = rng.choices(districts, cum_weights=cum)[0]
        name = org_name(rng, industry, names)
        number = make_uscc(rng, district, registered, used)
        orgs.append(Org(f"O{i + 1:06d}", name, industry, registered, district, number))
    return orgs


def mistype(rng: random.Random, number: str, is_valid: Callable[[str], bool]) -> str:
    """The number with one character changed or two neighbours swapped, so that it fails its check.

    The mutation is retried until python-stdnum rejects the result: a typo must never turn one
    subject's number into another valid number, which could point at someone else.
    """
    for _ in range(1000):
        chars = list(number)
        if rng.random() < 0.6:
            i = rng.randrange(len(chars))
            chars[i] = rng.choice("0123456789")
        else:
            i = rng.randrange(len(chars) - 1)
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        typo = "".join(chars)
        if typo != number and accepted(is_valid, typo) is False:
            return typo
    raise RuntimeError(f"could not mistype {number} into an invalid number")
