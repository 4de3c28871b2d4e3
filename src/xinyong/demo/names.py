"""Names for the synthetic demo city, and the ways departments write them down.

Surnames are weighted by their share of China's population (rounded census figures, in tenths of
a per cent), so a sample looks like a real register: many Wang, Li and Zhang, a few Ouyang. The
variants reproduce what makes linking by name hard: pinyin in several orders and cases, company
names shortened or padded with spaces. They exist so that probabilistic matching has something
realistic to work on; no sanction may ever rest on a name alone.
"""

from __future__ import annotations

import random
from functools import lru_cache
from itertools import accumulate

from pypinyin import lazy_pinyin

# (surname, weight in tenths of a per cent of the population)
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 71), ("李", 70), ("张", 68), ("刘", 54), ("陈", 53), ("杨", 31), ("黄", 25), ("赵", 23),
    ("吴", 21), ("周", 20), ("徐", 16), ("孙", 15), ("马", 14), ("朱", 13), ("胡", 13), ("郭", 11),
    ("何", 11), ("林", 10), ("高", 10), ("罗", 10), ("郑", 9), ("梁", 9), ("谢", 8), ("宋", 7),
    ("唐", 7), ("许", 7), ("韩", 7), ("邓", 7), ("冯", 7), ("曹", 6), ("彭", 6), ("曾", 6),
    ("肖", 6), ("田", 5), ("董", 5), ("潘", 5), ("袁", 5), ("蔡", 5), ("蒋", 5), ("余", 5),
    ("于", 5), ("杜", 5), ("叶", 4), ("程", 4), ("魏", 4), ("苏", 4), ("吕", 4), ("丁", 4),
    ("任", 4), ("卢", 4), ("姚", 4), ("沈", 4), ("钟", 4), ("姜", 4), ("崔", 3), ("谭", 3),
    ("陆", 3), ("范", 3), ("汪", 3), ("廖", 3), ("石", 3), ("金", 3), ("韦", 3), ("贾", 3),
    ("夏", 3), ("付", 3), ("方", 3), ("邹", 2), ("熊", 2), ("白", 2), ("孟", 2), ("秦", 2),
    ("邱", 2), ("侯", 2), ("江", 2), ("尹", 2), ("薛", 2), ("闫", 2), ("段", 2), ("雷", 2),
    ("龙", 2), ("黎", 2), ("史", 2), ("陶", 2), ("贺", 2), ("毛", 2), ("郝", 2), ("顾", 2),
    ("龚", 2), ("邵", 2), ("万", 2), ("武", 2), ("钱", 2), ("戴", 2), ("严", 2), ("覃", 1),
    ("莫", 1), ("孔", 1), ("向", 1), ("常", 1), ("汤", 1), ("康", 1), ("易", 1), ("乔", 1),
    ("赖", 1), ("文", 1), ("单", 0.5),
    ("欧阳", 0.5), ("司马", 0.1), ("诸葛", 0.1), ("上官", 0.1), ("司徒", 0.1), ("皇甫", 0.05),
)  # fmt: skip
_SURNAME_CUM = tuple(accumulate(w for _, w in SURNAMES))

# pypinyin reads these characters in their common sense; as surnames they are read differently.
SURNAME_READINGS = {"曾": "zeng", "覃": "qin", "单": "shan"}

# Given-name characters (about 200), by the sex they are usually given to and the era they belong to.
_MALE_CLASSIC = "国建军华平明强伟勇刚志红文斌波涛辉杰峰林海东永德福兵忠卫成庆生荣祥春金宝树山元光昌跃进中良富贵兴发贤"
_MALE_MODERN = "浩宇轩睿泽博昊然俊凯鹏飞鑫磊帅航哲铭诚远晨旭阳翔毅宏栋彬坤锋豪天子嘉逸恒煜锦宸皓晟霖琛楷钧"
_FEMALE_CLASSIC = "秀英桂兰芳玉珍凤霞萍丽华红梅燕琴云莲娟敏静艳玲芬洁慧素美翠淑琼珠银彩娥香仙巧"
_FEMALE_MODERN = "婷雪琳晶颖倩欣怡佳蕾薇璐瑶妍婧雯菲琪悦彤诗涵萱雨露月蓉莉茜丹梓可馨语若思晓芷沫钰妤婉蓓岚"
_NEUTRAL = "小一文心安乐家新清宁立晓思子雨春秋雅亦培"
_GIVEN = {
    (True, False): _MALE_CLASSIC,
    (True, True): _MALE_MODERN,
    (False, False): _FEMALE_CLASSIC,
    (False, True): _FEMALE_MODERN,
}


@lru_cache(maxsize=1 << 14)
def _syllables(text: str) -> tuple[str, ...]:
    # Passport style: no tone marks, and u-umlaut written "yu" (Lü -> Lyu).
    return tuple(s.replace("v", "yu") for s in lazy_pinyin(text))


def pinyin_surname(surname: str) -> str:
    """The surname in pinyin, as one capitalised word (欧阳 -> Ouyang)."""
    spelled = "".join(SURNAME_READINGS.get(c, "") or _syllables(c)[0] for c in surname)
    return spelled.capitalize()


def pinyin_given(given: str) -> str:
    """The given name in pinyin, as one capitalised word (晓明 -> Xiaoming)."""
    return "".join(_syllables(given)).capitalize()


def person_name(rng: random.Random, male: bool, birth_year: int) -> tuple[str, str]:
    """A surname and a given name of one or two characters, in the style of the birth decade."""
    surname = rng.choices(SURNAMES, cum_weights=_SURNAME_CUM)[0][0]
    modern = rng.random() < min(0.9, max(0.1, (birth_year - 1950) / 60))
    pool = _GIVEN[male, modern]
    if rng.random() < (0.35 if birth_year < 1975 else 0.2):
        return surname, rng.choice(pool)
    first = rng.choice(_NEUTRAL) if rng.random() < 0.25 else rng.choice(pool)
    second = rng.choice(pool)
    while second == first:
        second = rng.choice(pool)
    return surname, first + second


def person_variant(rng: random.Random, surname: str, given: str, pinyin_share: float) -> tuple[str, str]:
    """The name as one department wrote it, and which variant that is.

    Returns:
        (written name, variant): variant is one of hanzi, hanzi_spaced, pinyin, pinyin_upper,
        pinyin_reversed, pinyin_comma.
    """
    r = rng.random()
    if r >= pinyin_share:
        if len(surname) + len(given) == 2 and rng.random() < 0.03:
            return f"{surname} {given}", "hanzi_spaced"  # some registers pad two-character names
        return surname + given, "hanzi"
    family, personal = pinyin_surname(surname), pinyin_given(given)
    r /= pinyin_share
    if r < 0.4:
        return f"{family} {personal}", "pinyin"
    if r < 0.65:
        return f"{family.upper()} {personal}", "pinyin_upper"
    if r < 0.85:
        return f"{personal} {family}", "pinyin_reversed"
    return f"{family}, {personal}", "pinyin_comma"


# Industry -> words that appear in company names of that industry.
INDUSTRIES: dict[str, tuple[str, ...]] = {
    "tech": ("科技", "信息技术", "网络科技"),
    "trade": ("贸易", "进出口"),
    "construction": ("建筑工程", "建设"),
    "catering": ("餐饮管理", "餐饮"),
    "logistics": ("物流", "供应链管理"),
    "manufacturing": ("机械制造", "制造", "精密机械"),
    "food": ("食品",),
    "chemical": ("化工", "新材料"),
    "electronics": ("电子", "电子科技"),
    "garment": ("服装", "服饰"),
}
INDUSTRY_WEIGHTS = {
    "tech": 16, "trade": 18, "construction": 10, "catering": 12, "logistics": 8,
    "manufacturing": 12, "food": 7, "chemical": 4, "electronics": 7, "garment": 6,
}  # fmt: skip

_TRADE_CHARS = (
    "华鑫恒盛达泰宏远瑞祥中天宇新金丰源润海和嘉德信诚博创联众光明东方正立安康兴荣昌隆鼎汇通腾龙凯越"
    "杰晟致锦绿星辰佳美欣悦弘永富旺福顺利万百亿钱江西湖之江运河良渚"
)
_CITY = "杭州"


def org_name(rng: random.Random, industry: str, used: set[str]) -> str:
    """A company name not yet in `used` (names are unique within a registration authority)."""
    words = INDUSTRIES[industry]
    for attempt in range(200):
        size = 2 if attempt < 50 else 3
        trade = "".join(rng.sample(_TRADE_CHARS, size))
        suffix = "股份有限公司" if rng.random() < 0.08 else "有限公司"
        name = f"{_CITY}{trade}{rng.choice(words)}{suffix}"
        if name not in used:
            used.add(name)
            return name
    raise RuntimeError("could not find an unused company name; the name lists are too small for this size")


def org_variant(rng: random.Random, name: str, variant_share: float) -> tuple[str, str]:
    """The company name as one department wrote it, and which variant that is.

    Returns:
        (written name, variant): variant is one of hanzi, abbreviated, spaced.
    """
    r = rng.random()
    if r >= variant_share:
        return name, "hanzi"
    if r < variant_share * 0.65:
        if rng.random() < 0.5 and name.startswith(_CITY):
            return name[len(_CITY) :], "abbreviated"  # the city prefix left out
        return name.replace("股份有限公司", "股份公司").replace("有限公司", "公司"), "abbreviated"
    body = name[len(_CITY) :] if name.startswith(_CITY) else name
    for suffix in ("股份有限公司", "有限公司"):
        if body.endswith(suffix):
            body = body[: -len(suffix)] + " " + suffix
            break
    return f"{_CITY}  {body}" if name.startswith(_CITY) else body, "spaced"
