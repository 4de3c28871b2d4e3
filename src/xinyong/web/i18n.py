"""The portal's languages: message catalogs read from the committed `.po` files at startup.

The `.po` files are the only form kept: they are compiled in memory when the portal starts,
so no `.mo` binary is committed or built at install, and a translator's edit shows at the next
start. The language of a request is the `xy_lang` cookie set by the switch, else the best
match of `Accept-Language`, else Chinese (the platform's public's language).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from io import BytesIO

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

# Language tag (as in Accept-Language, `<html lang>` and the cookie) -> catalog folder.
LANGUAGES = {"zh-CN": "zh_CN", "en": "en"}
DEFAULT = "zh-CN"
# Each language's name in itself, shown by the switch and never translated (an endonym).
ENDONYMS = {"zh-CN": "中文", "en": "English"}
COOKIE = "xy_lang"


def catalog_path(tag: str) -> str:
    return f"translations/{LANGUAGES[tag]}/LC_MESSAGES/messages.po"


@cache
def translations(tag: str) -> Translations:
    """The compiled catalog of a language tag of `LANGUAGES`."""
    source = resources.files("xinyong.web").joinpath(catalog_path(tag))
    with source.open("rb") as fp:
        catalog = read_po(fp, locale=Locale.parse(LANGUAGES[tag]))
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def _quality(part: str) -> tuple[str, float]:
    tag, _, params = part.strip().partition(";")
    q = 1.0
    for p in params.split(";"):
        name, _, value = p.strip().partition("=")
        if name == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
    return tag.strip().lower(), q


def negotiate(accept_language: str | None, cookie: str | None) -> str:
    """The language to answer in: the cookie's if it names one we have, else the best of the header."""
    if cookie in LANGUAGES:
        return cookie
    ranked = sorted((_quality(p) for p in (accept_language or "")[:500].split(",") if p.strip()), key=lambda t: -t[1])
    for tag, q in ranked:
        if q <= 0:
            continue
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT
