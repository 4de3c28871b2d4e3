"""Principle 1: a legal basis is a real citation, not a placeholder that fills the field.

The models only ask for a non-empty `instrument`; `TBD`, `n/a`, `---` or three zero-width spaces
pass that. Here an instrument must hold real words once zero-width characters, whitespace and
punctuation are gone, an article or document number must hold a number, and nothing may carry a
to-do marker. Lists and measures, which act on people, also name the article or the document.
"""

from __future__ import annotations

import re
import unicodedata

from xinyong.domain.catalog.models import LegalBasis

# Whole texts that stand for "nothing here" (compared with letters and digits only, case-folded).
_PLACEHOLDERS = frozenset(
    {
        "tbd", "tba", "tbc", "na", "nil", "null", "none", "nothing", "todo", "fixme", "unknown", "placeholder",
        "pending", "dummy", "sample", "example", "test", "foo", "bar", "baz", "asdf", "qwerty", "lorem", "ipsum",
        "loremipsum", "blah", "etc", "misc", "other", "various", "same", "ditto", "seeabove", "notapplicable",
        "notavailable", "tobedetermined", "tobeconfirmed", "tobeadded", "law", "article", "document", "art", "no",
        "无", "暂无", "待定", "未知", "略", "同上", "待补充", "不详", "空", "见上", "未定", "法律", "法规",
    }
)  # fmt: skip
# Words that mark a draft wherever they stand ("Law TBD", "Art. xxx").
_MARKERS = re.compile(r"^(tbd|tba|tbc|todo|fixme|placeholder|lorem|ipsum|x{3,}|待定|待补充|暂无|未定)$")
# Filler that is no word of any title, wherever it stands.
_FILLER = frozenset({"lorem", "ipsum", "foo", "bar", "baz", "asdf", "qwerty", "blah", "dummy", "placeholder", "xyz"})
_WORD = re.compile(r"[^\W\d_]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NUMBER = re.compile(r"[0-9\u3007零一二三四五六七八九十百千]")
_ROMAN = re.compile(r"^[ivxlc]+$")


def _visible(text: str) -> str:
    """NFKC, case-folded, without zero-width and other format characters."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[\W_]+", _visible(text)) if t]


def _placeholder(text: str) -> str | None:
    """Why `text` is no citation at all, or None when it has some content."""
    tokens = _tokens(text)
    squashed = "".join(tokens)
    if not squashed:
        return "is empty once whitespace, zero-width characters and punctuation are removed"
    if squashed in _PLACEHOLDERS or len(set(squashed)) == 1:
        return f"'{text.strip()}' is a placeholder"
    marker = next((t for t in tokens if _MARKERS.match(t)), None)
    if marker is not None:
        return f"'{text.strip()}' still carries the draft marker '{marker}'"
    return None


def _has_words(text: str) -> bool:
    """A Latin word of three letters or more (not one letter repeated), or two Chinese characters."""
    visible = _visible(text)
    if len(set(_CJK.findall(visible))) >= 2:
        return True
    words = [w for w in _WORD.findall(visible) if not _CJK.search(w)]
    return any(len(w) >= 3 and len(set(w)) >= 2 and w not in _FILLER for w in words)


def _has_number(text: str) -> bool:
    """An article or document number: digits, Chinese numerals or a Roman numeral."""
    visible = _visible(text)
    return bool(_NUMBER.search(visible)) or any(_ROMAN.match(t) for t in _tokens(visible))


def citation_problems(basis: LegalBasis, *, needs_reference: bool) -> list[tuple[str, str]]:
    """(field, what is wrong) for every part of `basis` that is no real citation.

    Args:
        basis: the entry's legal basis.
        needs_reference: a list or a measure must also name an article or a document number.
    """
    found: list[tuple[str, str]] = []
    why = _placeholder(basis.instrument)
    if why is not None:
        found.append(("instrument", f"instrument {why}: name the law, regulation or decision"))
    elif not _has_words(basis.instrument):
        found.append(
            ("instrument", f"instrument '{basis.instrument.strip()}' has no real words: name the law or decision")
        )
    for key in ("article", "document"):
        value = getattr(basis, key)
        if value is None:
            continue
        why = _placeholder(value)
        if why is None and not _has_number(value):
            why = f"'{value.strip()}' has no number"
        if why is not None:
            found.append((key, f"{key} {why}: cite it as written, e.g. 'Art. 8' or 'Fa Shi [2017] No. 7'"))
    if needs_reference and basis.article is None and basis.document is None:
        found.append(
            ("instrument", "names no article and no document number: a list or measure cites where the law says it")
        )
    return found


def words_problem(text: str) -> str | None:
    """Why a free text someone must read (a reason for a decision) says nothing, or None.

    The same test as an instrument's: no placeholder, no draft marker, and real words once
    zero-width characters, whitespace and punctuation are removed.
    """
    why = _placeholder(text)
    if why is not None:
        return why
    if not _has_words(text):
        return f"'{text.strip()}' has no real words"
    return None
