"""Dependencies shared by the routers: the app context, the caller, and the authorisation guard.

They are coroutines: FastAPI runs a plain function dependency in a worker thread, and the hop
there and back costs more than any of these does. `caller` reads one key by primary key through
`read` (readers never wait for a lock, and a server's pool holds a connection for each worker
thread besides, see AppContext). `kept_caller`, for routes that confirm the key in their own read
(`guard(..., key_confirmed_by_route=True)`), finds a key shown before in the server's `KeyCache`
without a read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, ParamSpec, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, HTTPException, Path, Request

from xinyong.api.authz import allowed
from xinyong.services.context import AppContext
from xinyong.services.keys import PUBLIC, Principal, authenticate
from xinyong.store.unit_of_work import AuditNote


async def app_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(app_context)]

P = ParamSpec("P")
T = TypeVar("T")


READ_THREADS = 16  # worker threads for reads, besides the shared pool (see AppContext's pool)
_readers: list[anyio.CapacityLimiter] = []  # made on first use, inside the event loop


async def read(ctx: AppContext, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a read of the store for a request: on SQLite on the event loop, since a read of a
    local file costs less than a hop to a worker thread and back; on PostgreSQL in a worker
    thread, since a round trip would hold the loop, and every other request, for its duration.
    Those threads are limited apart from the pool that runs plain routes, so reads never queue
    behind writers that wait for a lock (a batch being ingested holds the knowledge clock)."""
    if ctx.engine.dialect.name == "sqlite":
        return fn(*args, **kwargs)
    if not _readers:
        _readers.append(anyio.CapacityLimiter(READ_THREADS))
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=_readers[0])


def _token(request: Request) -> str | None:
    """The bearer token of the request; None without an Authorization header; 401 for another scheme."""
    header = request.headers.get("authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise _unknown_key()
    return token.strip()


def _unknown_key() -> HTTPException:
    return HTTPException(401, "the API key is unknown, revoked or malformed", {"WWW-Authenticate": "Bearer"})


async def _authenticated(ctx: AppContext, token: str) -> Principal:
    principal = await read(ctx, authenticate, ctx.engine, token)
    if principal is None:
        raise _unknown_key()
    ctx.keys.keep(principal)
    return principal


async def caller(request: Request, ctx: Ctx) -> Principal:
    """The principal of the request's key (`Authorization: Bearer xy_...`), read from the store;
    the public without one."""
    token = _token(request)
    return PUBLIC if token is None else await _authenticated(ctx, token)


async def kept_caller(request: Request, ctx: Ctx) -> Principal:
    """As `caller`, but a key the server has authenticated before is taken from its `KeyCache`
    without a read: only for routes whose own read confirms the key (`KEY_STANDS`)."""
    token = _token(request)
    if token is None:
        return PUBLIC
    return ctx.keys.find(token) or await _authenticated(ctx, token)


def guard(route: str, *, key_confirmed_by_route: bool = False) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through only the roles the matrix allows on `route`.

    `key_confirmed_by_route`: the route reads `KEY_STANDS` with what it serves and refuses the
    request when the key no longer stands, so its caller may come from the server's `KeyCache`.
    (Two functions, not one with a variable dependency: FastAPI resolves the annotations by name.)
    """

    async def check(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        return _admitted(route, principal)

    async def check_kept(principal: Annotated[Principal, Depends(kept_caller)]) -> Principal:
        return _admitted(route, principal)

    return check_kept if key_confirmed_by_route else check


def _admitted(route: str, principal: Principal) -> Principal:
    if allowed(route, principal.role):
        return principal
    if principal.role.value == "public":
        raise HTTPException(401, f"{route}: an API key is required", {"WWW-Authenticate": "Bearer"})
    raise HTTPException(403, f"{route}: a {principal.role.value} key may not do this")


# Ids in paths: bounded, so that no number a database cannot hold reaches it.
RowId = Annotated[int, Path(ge=1, le=2**53 - 1, description="A row id.")]
CheckId = Annotated[str, Path(min_length=32, max_length=32, pattern="^[0-9a-f]{32}$", description="A check id.")]


def decision_note(who: Principal, action: str, target: str) -> AuditNote:
    """The audit event of a reviewer's or admin's decision, which the service stores in the
    decision's own unit of work."""
    return AuditNote(who.actor, action, "due process", target)
