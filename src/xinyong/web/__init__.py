"""The portal: server-rendered pages for the public, subjects, reviewers and administrators,
served by the API's app (`install`), over the same services and the same roles."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from xinyong.domain.errors import XinyongError
from xinyong.web.pages import PageRefused, SignInRequired, Viewer, current_viewer, language, render, see_other
from xinyong.web.routers import admin, matches, merges, public, review, subject

# Every router of the portal; the authorisation test walks their routes.
ROUTERS = (public.router, subject.router, review.router, matches.router, merges.router, admin.router)
# Paths that belong to the API: their errors stay application/problem+json.
API_PREFIXES = ("/v1/", "/docs", "/redoc", "/openapi.json", "/metrics", "/healthz", "/readyz")


def is_page(path: str) -> bool:
    return not path.startswith(API_PREFIXES)


def install(app: FastAPI) -> None:
    """Mount the portal's pages and static files on the app, and answer errors of pages as pages.

    Call after the API's error handlers are installed: an error on an API path still goes to them."""
    from importlib import resources

    app.state.web_cookies = None
    for router in ROUTERS:
        app.include_router(router)
    static = resources.files("xinyong.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    async def signin_required(request: Request, exc: Exception) -> Response:
        from urllib.parse import quote

        back = exc.back if isinstance(exc, SignInRequired) else "/"
        return see_other(f"/signin?next={quote(back, safe='/')}")

    async def refused(request: Request, exc: Exception) -> Response:
        status, code = (exc.status, exc.message) if isinstance(exc, PageRefused) else (403, "role")
        return await _error_page(request, status, code, None)

    app.add_exception_handler(SignInRequired, signin_required)
    app.add_exception_handler(PageRefused, refused)
    for cls in (XinyongError, StarletteHTTPException, RequestValidationError):
        _wrap(app, cls)


def _wrap(app: FastAPI, cls: type[Exception]) -> None:
    api_handler: Any = app.exception_handlers[cls]

    async def handler(request: Request, exc: Exception) -> Response:
        if not is_page(request.url.path):
            return await api_handler(request, exc)  # type: ignore[no-any-return]
        if isinstance(exc, XinyongError):
            return await _error_page(request, exc.status, "service", str(exc))
        if isinstance(exc, StarletteHTTPException):
            code = {404: "not_found", 429: "too_many", 413: "too_large", 405: "method"}.get(exc.status_code, "http")
            response = await _error_page(request, exc.status_code, code, str(exc.detail))
            for k, v in (exc.headers or {}).items():
                response.headers[k] = v
            return response
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
        return await _error_page(request, 422, "invalid", where)

    app.add_exception_handler(cls, handler)


async def _error_page(request: Request, status: int, code: str, detail: str | None) -> Response:
    try:
        viewer = await current_viewer(request)
    except XinyongError:  # the store itself is failing: show the page to the public
        from xinyong.services.keys import PUBLIC

        viewer = Viewer(request, request.app.state.ctx, PUBLIC, language(request))
    return render(viewer, "error.html", status, code=code, detail=detail, shown_status=status)
