"""The app factory: one FastAPI app per settings, its context built at startup.

All state is in the database: any number of replicas may serve the same store (the public rate
limits are shared through Redis when XINYONG_REDIS_URL is set, counted per process otherwise).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xinyong import web
from xinyong.api import errors, health, metrics, openapi
from xinyong.api.logs import RequestLog
from xinyong.api.ratelimit import RateLimit, trusted_proxies
from xinyong.api.routers import catalog, checks, matches, me, merges, owners, public, records, reports, review
from xinyong.services.context import AppContext
from xinyong.settings import Settings
from xinyong.store.checkpointer import WalCheckpointer

# Every router of the app; the authorisation test walks their routes.
ROUTERS = (
    catalog.router,
    checks.router,
    records.router,
    owners.router,
    me.router,
    public.router,
    review.router,
    matches.router,
    merges.router,
    reports.router,
    health.router,
    metrics.router,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    ctx = AppContext(settings or Settings(), serving=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx.migrated_engine()
        ctx.signing_key  # noqa: B018 - fail at startup, not at the first check, when the key is missing
        ctx.catalog.identifier_schemes  # noqa: B018 - built now, before the freeze below
        # Everything built so far lives as long as the app: moved out of the collector's sight, a
        # full collection no longer walks it (it paused requests for over 100 ms on a 1M store).
        gc.collect()
        gc.freeze()
        checkpointer = WalCheckpointer(ctx.engine)
        checkpointer.start()
        yield
        ctx.close_check_writer()
        checkpointer.stop()
        ctx.engine.dispose()
        metrics.process_ended()

    # The docs' scripts and styles are served by the app from a Python package, never from a CDN:
    # /docs and /redoc work on a network without the internet.
    app = FastAPIOffline(
        title="xinyong",
        summary="Public credit information: check before you act, with reasons and signed proof.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    errors.install(app)
    app.add_middleware(BoundedBody, limit=ctx.settings.max_body_bytes)
    _operations(app, ctx)
    for router in ROUTERS:
        app.include_router(router)
    openapi.install(app, ctx.catalog)
    web.install(app)  # the portal's pages, after the API's error handlers (it keeps them for API paths)
    return app


def _operations(app: FastAPI, ctx: AppContext) -> None:
    """Operations around every request (docs/operations.md): 503 while the store is away, the
    shared rate limit, metrics, the JSON access log with its request id and, outermost, the
    client's address from X-Forwarded-For, only when a trusted proxy sent it."""
    health.install(app)
    app.state.rate_limit = RateLimit(ctx.settings)
    app.state.store_metrics = metrics.StoreCollector(ctx.engine)
    app.add_middleware(RequestLog, observers=(metrics.observe_request, lambda *_: metrics.queue_depth(ctx)))
    proxies = trusted_proxies(ctx.settings)
    if proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)


class BoundedBody:
    """Refuse a request body over the bound: by its declared length before reading a byte, and,
    for a body sent in chunks without a length, as soon as the bytes received pass the bound.

    A plain ASGI middleware: Starlette's `BaseHTTPMiddleware` would cost every request a task
    and a stream copy of the response.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.detail = f"request bodies are at most {limit} bytes: split the batch"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is None:
            await self.app(scope, self._counting(receive), send)
        elif not declared.isdigit() or int(declared) > self.limit:
            await errors.problem(413, errors.TITLES[413], self.detail)(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413, self.detail)
            return message

        return counted
