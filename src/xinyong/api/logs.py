"""The server's log: JSON lines, one per request and one per job, each with its request or job id.

The server writes its own access log (uvicorn's is off): method, route template, status,
duration, the client's address and the request id, and never the path's values, the query
string, a body or a header. A query such as `?q=<a resident's number>` therefore leaves no
trace. The request id comes from an incoming `X-Request-ID` when it is well formed (8 to 128
letters, digits and `._:-`), is made otherwise, and is returned in the response's `X-Request-ID`;
every line logged while the request runs carries it.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xinyong.ops.logs import REQUEST_ID

_WELL_FORMED = re.compile(rb"^[A-Za-z0-9._:-]{8,128}$")
access = logging.getLogger("xinyong.access")


def request_id(scope: Scope) -> str:
    incoming: bytes | None = next((v for k, v in scope["headers"] if k == b"x-request-id"), None)
    if incoming is not None and _WELL_FORMED.match(incoming):
        return incoming.decode("ascii")
    return uuid.uuid4().hex


def route_of(scope: Scope) -> str:
    """The template of the route that served the request (`/v1/public/subjects/{subject_id}`),
    never the path itself; `unmatched` for a path no route serves (so no value can leak in)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


Observer = Callable[[str, str, int, float], None]


class RequestLog:
    """Plain ASGI middleware: the request id, one access line per request, and the observers
    (the metrics) told each request's method, route, status and duration."""

    def __init__(self, app: ASGIApp, observers: tuple[Observer, ...] = ()) -> None:
        self.app, self.observers = app, observers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message).append("x-request-id", rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route, method = route_of(scope), str(scope["method"])
            client = scope.get("client")
            access.info(
                "request",
                extra={
                    "request_id": rid,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client": client[0] if client else None,
                },
            )
            for observe in self.observers:
                observe(method, route, status, elapsed)
            REQUEST_ID.reset(token)
