"""Both languages, and no string shown untranslated.

Three checks: every string the extractor finds in the portal's code and templates has a Chinese
translation in the catalog; no template holds text outside a translation call; and every page,
rendered in Chinese for every role, shows no catalog string in its English source.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from .conftest import Portal, World

WEB = Path(str(resources.files("xinyong.web")))
METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "N_": None}


def _catalog(folder: str) -> dict[str, str]:
    with (WEB / "translations" / folder / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        return {str(m.id): str(m.string) for m in read_po(fp) if m.id}


def _extracted() -> set[str]:
    found = {str(m[2]) for m in extract_from_dir(str(WEB), METHODS, keywords=KEYWORDS)}  # type: ignore[arg-type]
    return {m for m in found if m}


def test_every_string_of_the_portal_has_a_chinese_translation_and_the_catalogs_hold_no_stale_one() -> None:
    used = _extracted()
    zh, en = _catalog("zh_CN"), _catalog("en")
    assert len(used) > 200
    missing = sorted(m for m in used if not zh.get(m))
    assert not missing, f"strings without a zh_CN translation (run the steps of docs/portal.md): {missing[:10]}"
    assert used - set(en) == set(), "the en catalog lacks strings the code uses"
    assert set(zh) - used == set(), f"stale strings in the catalog: {sorted(set(zh) - used)[:10]}"
    placeholders = re.compile(r"%\(\w+\)s")
    for msgid, text in zh.items():
        assert sorted(placeholders.findall(msgid)) == sorted(placeholders.findall(text)), msgid


class _Text(HTMLParser):
    """Text and human-facing attribute values of an HTML fragment."""

    SHOWN = ("alt", "title", "aria-label", "placeholder", "label")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self.skip += 1
        self.parts += [v for k, v in attrs if k in self.SHOWN and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and data.strip():
            self.parts.append(data.strip())


def _texts(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.parts


def test_no_template_shows_text_outside_a_translation_call() -> None:
    jinja = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
    for template in sorted((WEB / "templates").glob("*.html")):
        bare = [t for t in _texts(jinja.sub(" ", template.read_text())) if re.search(r"[A-Za-z\u4e00-\u9fff]", t)]
        assert not bare, f"{template.name}: text outside _(): {bare}"


PAGES = {
    "public": ["/", "/search?q=%E6%9D%AD%E5%B7%9E", "/measures", "/signin", "/entities/{company}", "/nowhere"],
    "subject": ["/me", "/me/objections/new?target=record:court/H-1", "/me/repairs/new?record=court/H-1"],
    "reviewer": [
        "/review",
        "/review/entries/{proposal}",
        "/review/merges/{merge}",
        "/review/subjects/{company}/merges",
    ],
    "admin": ["/admin", "/admin/catalog", "/admin/whatif", "/review/merges/{merge}", "/entities/{company}"],
}


def _untranslated(html: str, english: dict[str, re.Pattern[str]]) -> list[str]:
    return [t for t in _texts(html) for msgid, pattern in english.items() if pattern.fullmatch(t)]


def test_every_page_in_chinese_shows_no_english_ui_string(portal: Portal, world: World, merge: int, visit: Any) -> None:
    zh = _catalog("zh_CN")
    # A catalog string whose translation differs, as it would show untranslated (values filled in).
    english = {
        m: re.compile(re.sub(r"%\\\(\w+\\\)s", ".+?", re.escape(m))) for m, t in zh.items() if t != m and len(m) > 1
    }
    shown_in_english = _untranslated(visit("en").get("/measures").text, english)
    assert "Where no measure ever applies" in shown_in_english, "the check finds English strings when they are there"
    for role, paths in PAGES.items():
        v = visit("zh-CN,zh;q=0.9")
        if role != "public":
            v.sign_in(world.keys[role])
        for path in paths:
            page = v.get(path.format(company=world.listed_company, proposal=world.proposal, merge=merge))
            assert '<html lang="zh-CN">' in page.text, path
            assert not _untranslated(page.text, english), f"{role} {path}: {_untranslated(page.text, english)[:5]}"
            assert "信用信息门户" in page.text


def test_the_language_follows_accept_language_and_the_switch(visit: Any) -> None:
    v = visit("en-GB,en;q=0.8")
    assert '<html lang="en">' in v.get("/measures").text and "Where no measure ever applies" in v.get("/measures").text
    assert '<html lang="zh-CN">' in visit("fr,zh-TW;q=0.5").get("/").text
    assert '<html lang="zh-CN">' in visit("de").get("/").text  # neither: the platform's default
    switched = v.get("/language/zh-CN", params={"next": "/measures"}, follow_redirects=True)
    assert switched.url.path == "/measures" and "任何措施都不适用的场景" in switched.text
