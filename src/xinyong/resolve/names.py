"""Name normalisation for linking: Chinese person names by sound, organisation names by their core.

Departments write one resident's name as 张晓明, 張曉明, "Zhang Xiaoming", "ZHANG Xiaoming",
"Xiaoming Zhang" or "Zhang, Xiaoming", and one company's as 杭州华鑫科技有限公司, 华鑫科技有限责任公司
or "杭州  华鑫科技 有限公司". Comparing the written strings finds none of these equal. So a person's
name is compared in simplified characters, in pinyin with tones (from characters only) and in pinyin
without tones in either order; an organisation's name without the place it starts with, the
bracketed place inside it, and its legal form (有限公司, 有限责任公司 and 公司 are one form).

Everything here is a pure function of its argument: equal inputs give equal features, on any
machine, so the features of subjects can be computed once, at ingestion, and stored.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from pypinyin import Style, pinyin

# Family names of two characters; a name that starts with one of them is split after it.
_COMPOUND = (
    "欧阳 司马 诸葛 上官 司徒 皇甫 东方 夏侯 尉迟 公孙 慕容 长孙 令狐 宇文 轩辕 端木 南宫 独孤 万俟 闻人 "
    "澹台 西门 呼延 百里 钟离 东郭 申屠 赫连 太史 公冶 濮阳 淳于 单于 仲孙 司空 羊舌 微生 梁丘 左丘 谷梁 拓跋 第五"
)
COMPOUND_SURNAMES = frozenset(_COMPOUND.split())
# Characters whose reading as a family name differs from the one a dictionary gives first.
SURNAME_READINGS: dict[str, tuple[str, ...]] = {
    "曾": ("zeng1",), "单": ("shan4",), "覃": ("qin2",), "区": ("ou1",), "仇": ("qiu2",), "解": ("xie4",),
    "朴": ("piao2",), "查": ("zha1",), "盖": ("ge3",), "员": ("yun4",), "乐": ("yue4",), "缪": ("miao4",),
    "翟": ("zhai2",), "种": ("chong2",), "秘": ("bi4",), "召": ("shao4",), "曲": ("qu1",), "重": ("chong2",),
    "纪": ("ji3",), "任": ("ren2",), "华": ("hua4",), "沈": ("shen3",), "柏": ("bai3",), "薄": ("bo2",),
    "卜": ("bu3",), "都": ("du1",), "谌": ("chen2",), "宿": ("su4",), "燕": ("yan1",), "隗": ("wei3",),
    "长孙": ("zhang3", "sun1"), "万俟": ("mo4", "qi2"), "尉迟": ("yu4", "chi2"), "单于": ("chan2", "yu2"),
}  # fmt: skip
# The common family names (in characters), whose pinyin tells which word of a romanised name is the family name.
COMMON_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈"
    "钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万武钱戴严覃莫孔向常汤康易乔"
    "赖文单施洪庞樊兰殷鲁倪牛岳葛柳齐欧祝包季伍关聂詹卓蓝房申翁霍凌童温柯景柴"
)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NOT_LATIN = re.compile(r"[^a-z ,]+")
_SPACES = re.compile(r"\s+")


class PersonName(NamedTuple):
    """The comparable forms of a person's name; a form is None when the name gives none.

    Attributes:
        hanzi: the name in simplified characters, without spaces (None for a romanised name).
        pinyin_tone: syllables with tone numbers, family name first ("zhang1 xiao3 ming2"); characters only.
        pinyin: toneless pinyin, family name first, no spaces ("zhangxiaoming").
        pinyin_key: the family name and the given name in toneless pinyin, sorted ("xiaoming zhang"),
            the same whichever order a department wrote them in.
        surname: the family name in toneless pinyin.
    """

    hanzi: str | None
    pinyin_tone: str | None
    pinyin: str | None
    pinyin_key: str | None
    surname: str | None


class OrgName(NamedTuple):
    """The comparable forms of an organisation's name.

    Attributes:
        full: the name folded (half-width, simplified, no spaces) with its legal form made canonical.
        core: the name without the place it starts with, bracketed parts and legal form.
        legal_form: the canonical legal form (``co_ltd``, ``joint_stock`` ...), None when the name has none.
    """

    full: str | None
    core: str | None
    legal_form: str | None


@lru_cache(maxsize=1)
def _t2s() -> object:
    import opencc  # a compiled library: loaded on first use, not at import of xinyong

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1 << 16)
def to_simplified(text: str) -> str:
    """Traditional characters folded to simplified ones (OpenCC's t2s); other text is unchanged."""
    if not _CJK.search(text):
        return text
    return str(_t2s().convert(text))  # type: ignore[attr-defined]


@lru_cache(maxsize=1 << 15)
def _char_reading(char: str) -> str:
    """The first dictionary reading of one character, with its tone number ("wei3"); "" when it has none."""
    readings = pinyin(char, style=Style.TONE3, heteronym=False, errors="ignore", neutral_tone_with_five=True)
    return str(readings[0][0]) if readings and readings[0] else ""


def _split_surname(hanzi: str) -> tuple[str, str]:
    if len(hanzi) > 2 and hanzi[:2] in COMPOUND_SURNAMES:
        return hanzi[:2], hanzi[2:]
    return hanzi[:1], hanzi[1:]


def _readings(surname: str, given: str) -> tuple[list[str], list[str]]:
    family = list(SURNAME_READINGS.get(surname) or [SURNAME_READINGS.get(c, (_char_reading(c),))[0] for c in surname])
    return [f for f in family if f], [r for r in map(_char_reading, given) if r]


def _toneless(syllable: str) -> str:
    return syllable.rstrip("012345").replace("v", "yu")


@lru_cache(maxsize=1)
def _surname_sounds() -> frozenset[str]:
    sounds = {"".join(_toneless(s) for s in _readings(n, "")[0]) for n in COMPOUND_SURNAMES}
    sounds.update(_toneless(_readings(c, "")[0][0]) for c in COMMON_SURNAMES)
    return frozenset(sounds)


def _fold_latin(text: str) -> str:
    """Lower case, tone marks removed, u-umlaut written "yu" (passport style: Lü -> Lyu)."""
    text = unicodedata.normalize("NFKC", text).lower().replace("ü", "yu").replace("u:", "yu")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    text = re.sub(r"(?<=[ln])v", "yu", text)
    return _SPACES.sub(" ", _NOT_LATIN.sub(" ", text.replace("-", "").replace("'", ""))).strip()


def _romanised(text: str) -> PersonName:
    folded = _fold_latin(text)
    if "," in folded:
        family, _, rest = folded.partition(",")
        words = [w for w in family.split() + rest.replace(",", " ").split() if w]
        surname_first = True
    else:
        words = folded.split()
        surname_first = False
    if not words:
        return PersonName(None, None, None, None, None)
    if len(words) == 1:
        return PersonName(None, None, words[0], words[0], None)
    sounds = _surname_sounds()
    if not surname_first and words[0] not in sounds and words[-1] in sounds:
        words = [words[-1], *words[:-1]]  # "Xiaoming Zhang": the family name written last
    surname, given = words[0], "".join(words[1:])
    return PersonName(None, None, surname + given, " ".join(sorted((surname, given))), surname)


@lru_cache(maxsize=1 << 16)
def person_name(name: str | None) -> PersonName:
    """The comparable forms of a resident's name as a department wrote it.

    A name with Chinese characters is read in simplified characters, split into family and given
    name (two-character family names such as 欧阳 are known), and read aloud with each family name's
    own reading (曾 zeng, 单 shan). A romanised name is folded to toneless pinyin; its family name
    is the word before a comma, else the first word, unless only the last word is a family name.
    """
    if name is None:
        return PersonName(None, None, None, None, None)
    text = unicodedata.normalize("NFKC", name).strip()
    if not _CJK.search(text):
        return _romanised(text)
    hanzi = "".join(_CJK.findall(to_simplified(text)))
    surname, given = _split_surname(hanzi)
    family, personal = _readings(surname, given)
    toned = " ".join(family + personal)
    fam, giv = "".join(map(_toneless, family)), "".join(map(_toneless, personal))
    key = " ".join(sorted((fam, giv))) if giv else fam
    return PersonName(hanzi, toned, fam + giv, key, fam)


# Legal forms, longest first: (written suffix, canonical form). 有限公司 and 有限责任公司 are one form
# (Company Law art. 3); 公司 alone is how departments shorten either, so it is its own form, "company".
LEGAL_FORMS: tuple[tuple[str, str], ...] = (
    ("股份有限公司", "joint_stock"), ("股份公司", "joint_stock"), ("有限责任公司", "co_ltd"),
    ("有限公司", "co_ltd"), ("普通合伙企业", "partnership"), ("有限合伙企业", "partnership"),
    ("合伙企业", "partnership"), ("有限合伙", "partnership"), ("普通合伙", "partnership"),
    ("个人独资企业", "sole_proprietorship"), ("农民专业合作社", "cooperative"), ("专业合作社", "cooperative"),
    ("合作社", "cooperative"), ("集团公司", "group"), ("个体工商户", "individual"), ("公司", "company"),
)  # fmt: skip
_CANONICAL_SUFFIX = {
    "joint_stock": "股份有限公司", "co_ltd": "有限公司", "partnership": "合伙企业",
    "sole_proprietorship": "个人独资企业", "cooperative": "专业合作社", "group": "集团公司",
    "individual": "个体工商户", "company": "公司",
}  # fmt: skip
_BRACKETED = re.compile(r"\([^()]*\)")
_ORG_DROP = re.compile(r"[\s·•・\"'“”‘’《》<>]+")
_OPEN = str.maketrans({"[": "(", "【": "(", "〔": "(", "［": "(", "]": ")", "】": ")", "〕": ")", "］": ")"})


@lru_cache(maxsize=1)
def _place_names() -> tuple[frozenset[str], tuple[int, ...]]:
    """Province, city and county names from python-stdnum's division table, and their lengths, longest first.

    Each appears with its suffix (杭州市) and, when what remains is two characters or more, without
    it (杭州): company names use both.
    """
    from importlib.resources import files

    text = files("stdnum").joinpath("cn", "loc.dat").read_text(encoding="utf-8")
    names: set[str] = set()
    for raw in re.findall(r'(?:province|county)="(?:\[[^\]]*\])?([^"]+)"', text):
        names.add(raw)
        for suffix in ("特别行政区", "自治区", "自治州", "自治县", "地区", "省", "市", "县", "区", "盟", "旗"):
            if raw.endswith(suffix) and len(raw) - len(suffix) >= 2:
                names.add(raw[: -len(suffix)])
                break
    return frozenset(names), tuple(sorted({len(n) for n in names}, reverse=True))


def _strip_places(name: str) -> str:
    places, lengths = _place_names()
    for _ in range(3):  # 浙江省杭州市西湖区...: province, city and county may all lead
        for size in lengths:
            if len(name) > size + 1 and name[:size] in places:
                name = name[size:]
                break
        else:
            return name
    return name


@lru_cache(maxsize=1 << 16)
def org_name(name: str | None) -> OrgName:
    """The comparable forms of an organisation's name as a department wrote it.

    Full-width letters and brackets are folded (NFKC), traditional characters simplified, spaces
    and quotes dropped and Latin letters upper-cased; the legal form at the end is made canonical;
    the core is what remains without a leading place name and without bracketed parts, which are
    nearly always a place or a former name.
    """
    if name is None:
        return OrgName(None, None, None)
    text = to_simplified(unicodedata.normalize("NFKC", name)).translate(_OPEN)
    text = _ORG_DROP.sub("", text).upper()
    if not text:
        return OrgName(None, None, None)
    body, form = text, None
    unbracketed = _BRACKETED.sub("", text)
    for suffix, canonical in LEGAL_FORMS:
        if unbracketed.endswith(suffix) and len(unbracketed) > len(suffix):
            form = canonical
            body = text[: text.rfind(suffix)] if text.endswith(suffix) else unbracketed[: -len(suffix)]
            break
    full = body + (_CANONICAL_SUFFIX[form] if form else "")
    core = _strip_places(_BRACKETED.sub("", body)) or None
    return OrgName(full, core, form)
