"""Pages for everyone: search, a subject's public page, the catalog of measures, sign-in, language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from xinyong.api.ratelimit import rate_limited as limiter
from xinyong.domain.catalog.models import PROTECTED_SECTORS
from xinyong.domain.errors import Unauthorized
from xinyong.services.keys import Role
from xinyong.services.web_sessions import SESSION_HOURS
from xinyong.web import i18n
from xinyong.web import services as portal
from xinyong.web.pages import Viewer, cookies, guard, render, see_other
from xinyong.web.security import safe_next

router = APIRouter(include_in_schema=False)
Limited = Annotated[None, Depends(limiter)]
SubjectId = Annotated[int, Path(ge=1, le=2**53 - 1)]
HOME_OF = {Role.SUBJECT: "/me", Role.REVIEWER: "/review", Role.ADMIN: "/admin"}


@router.get("/", name="web_home", response_class=HTMLResponse)
def home(viewer: Annotated[Viewer, Depends(guard("web_home"))]) -> HTMLResponse:
    return render(viewer, "home.html", private=False)


@router.get("/search", name="web_search", response_class=HTMLResponse)
def search(
    viewer: Annotated[Viewer, Depends(guard("web_search"))],
    _: Limited,
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    q = " ".join(q.split())
    too_short = 0 < len(q) < 2
    results = portal.search(viewer.ctx, q) if q and not too_short else []
    return render(viewer, "search.html", private=False, q=q, results=results, too_short=too_short, searched=bool(q))


@router.get("/entities/{subject_id}", name="web_entity", response_class=HTMLResponse)
def entity(subject_id: SubjectId, viewer: Annotated[Viewer, Depends(guard("web_entity"))], _: Limited) -> HTMLResponse:
    page = portal.entity(viewer.ctx, subject_id)
    return render(viewer, "entity.html", private=False, s=page, subject_id=subject_id, catalog=viewer.ctx.catalog)


@router.get("/measures", name="web_measures", response_class=HTMLResponse)
def measures(viewer: Annotated[Viewer, Depends(guard("web_measures"))]) -> HTMLResponse:
    catalog = portal.catalog(viewer.ctx)
    protected = [c for c in catalog.contexts.values() if c.sector in PROTECTED_SECTORS]
    return render(viewer, "measures.html", private=False, catalog=catalog, protected=protected)


@router.get("/language/{tag}", name="web_language")
def language(
    tag: str,
    request: Request,
    _: Annotated[Viewer, Depends(guard("web_language"))],
    next: Annotated[str, Query(max_length=500)] = "/",
) -> RedirectResponse:
    response = see_other(safe_next(next))
    if tag in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, tag, max_age=365 * 86400, samesite="lax", httponly=True, secure=request.url.scheme == "https"
        )
    return response


@router.get("/signin", name="web_signin_form", response_class=HTMLResponse)
def signin_form(
    viewer: Annotated[Viewer, Depends(guard("web_signin_form"))],
    next: Annotated[str, Query(max_length=500)] = "",
) -> HTMLResponse:
    return render(viewer, "signin.html", back=safe_next(next, ""), error=None)


@router.post("/signin", name="web_signin", response_class=HTMLResponse)
def signin(
    request: Request,
    viewer: Annotated[Viewer, Depends(guard("web_signin"))],
    token: Annotated[str, Form(max_length=300)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    viewer.require_csrf(csrf)
    try:
        session_id, session = portal.sign_in(viewer.ctx, token)
    except Unauthorized as exc:
        error = "wrong_role" if "for the API" in str(exc) else "unknown_key"
        return render(viewer, "signin.html", 401, back=safe_next(back, ""), error=error)
    response = see_other(safe_next(back, HOME_OF[session.principal.role]))
    cookies(request).set_session(response, request, session_id, SESSION_HOURS * 3600)
    return response


@router.post("/signout", name="web_signout")
def signout(
    request: Request,
    viewer: Annotated[Viewer, Depends(guard("web_signout"))],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> RedirectResponse:
    if viewer.session_id is not None:
        viewer.require_csrf(csrf)
        portal.sign_out(viewer.ctx, viewer.session_id, viewer.principal)
    response = see_other("/")
    cookies(request).clear_session(response)
    return response
