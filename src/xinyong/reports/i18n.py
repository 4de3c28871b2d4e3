"""The report's words in Chinese and English, from Babel message catalogs.

Every string a report prints is an English message id marked with `N_` in this package (the
marker Babel's extractor is told about, `pybabel extract -k N_`); its Chinese text lives in
`locale/zh/LC_MESSAGES/messages.po`. English needs no catalog: the message id is the text.
The catalog is read with Babel's own PO reader, so the portal's translators work on the same
files with the same tools, and a test fails when a message has no Chinese text.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

from babel.messages.pofile import read_po

from xinyong.domain.errors import InvalidInput

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DOMAIN = "messages"


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a message for extraction; the text is looked up later, in the report's language."""
    return message


def locale_dir() -> str:
    return str(resources.files("xinyong.reports") / "locale")


@cache
def messages(lang: str) -> dict[str, str]:
    """The translated messages of one language (empty for English, whose ids are the text)."""
    if lang == "en":
        return {}
    path = resources.files("xinyong.reports") / "locale" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def check_lang(lang: str) -> Lang:
    if lang not in LANGS:
        raise InvalidInput(f"lang: '{lang}' is not a report language; use one of {', '.join(LANGS)}")
    return lang


def tr(lang: str, message: str, **values: Any) -> str:
    """`message` in `lang`, with `{name}` placeholders filled from `values`."""
    text = messages(lang).get(message, message)
    return text.format(**values) if values else text
