"""What every page shares: who is viewing, in which language, the guard, and rendering.

A page's route takes a `Viewer` from `guard(page)`: it lets through only the roles of the
portal's matrix (`web.authz`); the public is sent to sign in, a signed-in role that may not
open the page gets 403. Every HTML answer carries the security headers of `web.security`, and
pages with personal data are never cached.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from babel.support import Translations
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import escape

from xinyong.api.deps import read
from xinyong.domain.catalog.models import PROTECTED_SECTORS
from xinyong.domain.errors import XinyongError
from xinyong.services.context import AppContext
from xinyong.services.keys import PUBLIC, Principal, Role
from xinyong.services.web_sessions import Session
from xinyong.web import i18n, words
from xinyong.web import services as portal
from xinyong.web.authz import allowed
from xinyong.web.security import CSRF_FIELD, HEADERS, Cookies, cookie_key, same_origin


class SignInRequired(Exception):
    """The public asked for a page of a role: sign in first, then come back."""

    def __init__(self, back: str) -> None:
        self.back = back


class PageRefused(Exception):
    """A signed-in role may not do this, or a form's CSRF token or origin is wrong."""

    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


@dataclass
class Viewer:
    """Who is looking, in which language, with what their forms must carry."""

    request: Request
    ctx: AppContext
    principal: Principal
    lang: str
    session: Session | None = None
    session_id: str | None = None
    anon: tuple[str, str] | None = field(default=None, repr=False)

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def csrf(self) -> str:
        if self.session is not None:
            return self.session.csrf_secret
        if self.anon is None:
            self.anon = cookies(self.request).anon_token(self.request)
        return self.anon[1]

    def require_csrf(self, token: str) -> None:
        """Refuse a form whose token is not this viewer's, or that another site posted."""
        if not same_origin(self.request):
            raise PageRefused(403, "csrf_origin")
        if self.session is not None:
            ok = len(token) == len(self.session.csrf_secret) and _equal(token, self.session.csrf_secret)
        else:
            ok = cookies(self.request).anon_valid(self.request, token)
        if not ok:
            raise PageRefused(403, "csrf_token")


def _equal(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


def cookies(request: Request) -> Cookies:
    """The app's cookie signer, made on first use: its key derives from the signing key, which
    the app loads at startup."""
    kept: Cookies | None = request.app.state.web_cookies
    if kept is None:
        kept = request.app.state.web_cookies = Cookies(cookie_key(request.app.state.ctx.signing_key))
    return kept


def language(request: Request) -> str:
    return i18n.negotiate(request.headers.get("accept-language"), request.cookies.get(i18n.COOKIE))


async def current_viewer(request: Request) -> Viewer:
    """The viewer of a request: the session's principal when its cookie names a live session."""
    ctx: AppContext = request.app.state.ctx
    session_id = cookies(request).session_id(request)
    session = None
    if session_id is not None:
        session = await read(ctx, portal.signed_in, ctx, session_id)
    principal = session.principal if session else PUBLIC
    return Viewer(request, ctx, principal, language(request), session, session_id if session else None)


def guard(page: str) -> Callable[[Request], Awaitable[Viewer]]:
    """A dependency letting through only the roles the portal's matrix allows on `page`."""

    async def check(request: Request) -> Viewer:
        viewer = await current_viewer(request)
        if allowed(page, viewer.role):
            return viewer
        if viewer.role is Role.PUBLIC:
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInRequired(back if request.method == "GET" else "/")
        raise PageRefused(403, "role")

    return check


def day(value: date | str | None) -> str:
    """A date as YYYY-MM-DD and a moment as YYYY-MM-DD HH:MM UTC: the same in both languages
    (ISO 8601 is how Chinese administrative pages write them too), and cheap on busy pages."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        return value[:10]
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


_STATIC_CALL = re.compile(r"""\{\{ _\((?:"([^"\\%]*)"|'([^'\\%]*)')\) \}\}""")


class TranslatedLoader(PackageLoader):
    """The templates with each call of `_` on a plain literal (no values, no `%`) replaced by its
    translation, escaped, before they are compiled: one environment per language, so the words
    of a page cost nothing per request. Calls with values stay calls. The extractor and the
    tests read the templates as written."""

    def __init__(self, lang: str) -> None:
        super().__init__("xinyong.web", "templates")
        self.lang = lang

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool] | None]:
        source, filename, uptodate = super().get_source(environment, template)
        gettext = i18n.translations(self.lang).gettext
        text = _STATIC_CALL.sub(lambda m: str(escape(gettext(m[1] if m[1] is not None else m[2]))), source)
        return text, filename, uptodate


def _environment(lang: str) -> Environment:
    env = Environment(
        loader=TranslatedLoader(lang),
        auto_reload=False,  # package data: no stat of each template file on every page
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["day"] = day
    env.globals["lang"] = lang
    env.globals["languages"] = i18n.ENDONYMS
    env.globals["zh"] = lang == "zh-CN"
    env.globals["label"] = labeller(lang)
    env.globals.update(WORDS, effect_args=effect_args, protected_sectors=PROTECTED_SECTORS)
    return env


WORDS = {
    "kinds": words.KINDS,
    "states": words.STATES,
    "actions": words.ACTIONS,
    "record_status": words.RECORD_STATUS,
    "list_kinds": words.LIST_KINDS,
    "effects": words.EFFECTS,
    "targets": words.TARGETS,
    "outcomes": words.OUTCOMES,
    "unmet": words.UNMET,
    "compliance": words.COMPLIANCE,
    "score_status": words.SCORE_STATUS,
    "effect_text": words.EFFECT_TEXT,
    "notices": words.NOTICE_PAGES,
    "match_outcomes": words.MATCH_OUTCOMES,
    "priorities": words.PRIORITIES,
    "comparisons": words.COMPARISONS,
    "merge_actions": words.MERGE_ACTIONS,
    "merge_states": words.MERGE_STATES,
}


def labeller(lang: str) -> Callable[[Any], str]:
    """A catalog entry's name in the viewer's language: its `name_zh` in Chinese where the catalog
    gives one, else its name."""

    def label(entry: Any) -> str:
        zh = getattr(entry, "name_zh", None)
        return str(zh if lang == "zh-CN" and zh else entry.name)

    return label


def effect_args(effect: dict[str, Any]) -> dict[str, Any]:
    """The values of a previewed effect, for its sentence's placeholders."""
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in effect.items() if k != "code"}


ENVIRONMENTS = {tag: _environment(tag) for tag in i18n.LANGUAGES}


def translator(lang: str) -> Translations:
    return i18n.translations(lang)


def render(viewer: Viewer, template: str, status: int = 200, *, private: bool = True, **data: Any) -> HTMLResponse:
    """A page in the viewer's language, with the portal's headers; `private` pages are not cached."""
    env = ENVIRONMENTS[viewer.lang]
    path = viewer.request.url.path
    html = env.get_template(template).render(
        viewer=viewer, csrf_field=CSRF_FIELD, here=path, cat=viewer.ctx.catalog, **data
    )
    response = HTMLResponse(html, status_code=status, headers=HEADERS)
    # A signed-in viewer's copy of even a public page names them and holds their CSRF secret.
    shared = not private and viewer.session is None and viewer.anon is None
    response.headers["Cache-Control"] = "public, max-age=60" if shared else "no-store"
    response.headers["Vary"] = "Accept-Language, Cookie"
    if viewer.session is None and viewer.anon is not None:
        Cookies.set_anon(response, viewer.request, viewer.anon[0])
    return response


def see_other(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303, headers=HEADERS)
    response.headers["Cache-Control"] = "no-store"
    return response


ItemPage = Callable[..., HTMLResponse]  # (viewer, item id, status, error, **form): an item's page


def decided(
    viewer: Viewer,
    page: ItemPage,
    item_id: int,
    decide: Callable[[], object],
    form: dict[str, str],
    *,
    back: str,
    choice: str | None = None,
    choices: tuple[str, ...] = (),
    refusals: tuple[type[Exception], ...] = (XinyongError,),
) -> Response:
    """A decision posted from an item's page: a `choice` not among `choices` (when given) and the
    service's refusals show the page again, with the status the refusal carries (422 for one
    that carries none) and what was typed (`form`); a decision taken goes back to `back`."""
    if choices and choice not in choices:
        return page(viewer, item_id, 422, "choose", **form)
    try:
        decide()
    except refusals as exc:
        return page(viewer, item_id, getattr(exc, "status", 422), str(exc), **form)
    return see_other(f"{back}?decided=1")
