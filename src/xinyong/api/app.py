"""The app factory: one FastAPI app per settings, its context built at startup.

All state is in the database: any number of replicas may serve the same store (the public rate
limit is counted per process).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from xinyong.api import errors
from xinyong.api.routers import checks, me, public, records, review
from xinyong.services.context import AppContext
from xinyong.settings import Settings

# Every router of the app; the authorisation test walks their routes.
ROUTERS = (checks.router, records.router, me.router, public.router, review.router)


def create_app(settings: Settings | None = None) -> FastAPI:
    ctx = AppContext(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx.migrated_engine()
        ctx.signing_key  # noqa: B018 - fail at startup, not at the first check, when the key is missing
        yield
        ctx.engine.dispose()

    app = FastAPI(
        title="xinyong",
        summary="Public credit information: check before you act, with reasons and signed proof.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    errors.install(app)
    limit = ctx.settings.max_body_bytes

    @app.middleware("http")
    async def bounded_body(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Refuse a body over the bound before reading it (by its declared length)."""
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return errors.problem(413, "Too large", f"request bodies are at most {limit} bytes: split the batch")
        return await call_next(request)

    for router in ROUTERS:
        app.include_router(router)
    return app
