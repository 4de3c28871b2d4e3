"""Health: `/healthz` (the process answers) and `/readyz` (it can serve), and 503 while the store is away.

`/readyz` answers 200 only when the store answers, its schema is the one this code expects,
the catalog is loaded and the signing key is at hand; otherwise 503 naming what is missing, so
a load balancer sends no traffic to a replica that would fail it. Neither reads a key: a probe
needs none, and neither shows anything but the names of the checks and their outcome.

While the store cannot be reached (a PostgreSQL restart, a lost connection, a full disk), a
request that needs it answers 503 with `Retry-After`, not 500: the condition is the store's, and
the same request succeeds once it is back. The pool replaces the dead connections on its own.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from xinyong.api import errors
from xinyong.ops.faults import disk_full
from xinyong.services.context import AppContext
from xinyong.store.migrate import current_revision, head_revision

log = logging.getLogger("xinyong.health")
router = APIRouter(tags=["operations"])
RETRY_AFTER_S = 5


class Alive(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@lru_cache(maxsize=1)
def _head() -> str | None:
    return head_revision()


def readiness(ctx: AppContext) -> dict[str, str]:
    """Each condition of serving, `ok` or what is wrong (never a secret or a value of the store)."""
    checks: dict[str, str] = {}
    try:
        current = current_revision(ctx.engine)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the store is the answer
        checks["store"] = f"unreachable ({type(exc).__name__})"
        checks["migrations"] = "unknown: the store is unreachable"
    else:
        checks["store"] = "ok"
        checks["migrations"] = "ok" if current == _head() else f"the store is at {current}, this code needs {_head()}"
    checks["catalog"] = "ok" if "catalog" in vars(ctx) else "not loaded"
    try:
        ctx.signing_key  # noqa: B018 - loaded at startup; loads it if it was not
        checks["signing_key"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a missing or unreadable key is the answer
        checks["signing_key"] = f"missing ({type(exc).__name__})"
    return checks


@router.get("/healthz", name="healthz", response_model=Alive)
async def healthz() -> dict[str, str]:
    """The process is alive and answers; nothing else is checked."""
    return {"status": "alive"}


@router.get(
    "/readyz",
    name="readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: the checks that failed say why."}},
)
def readyz(request: Request) -> JSONResponse:
    """Ready to serve: store reachable, migrations current, catalog loaded, signing key present."""
    checks = readiness(request.app.state.ctx)
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    """The store could not be reached or could not take the write: 503, try again shortly."""
    full = disk_full(exc)
    log.warning("the store is unavailable: %s", "disk full" if full else type(getattr(exc, "orig", exc)).__name__)
    detail = (
        "the store's disk is full: nothing of this request was stored; try again once space is freed"
        if full
        else "the store cannot be reached just now; nothing of this request was stored: try again in a moment"
    )
    response = errors.problem(503, "Store unavailable", detail)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _os_error(request: Request, exc: Exception) -> JSONResponse:
    """A full disk (a reject report, a temporary file) is the store's condition; any other
    system error is the server's, answered 500 and logged with its traceback."""
    if disk_full(exc):
        return _unavailable(request, exc)
    log.error("unexpected system error", exc_info=exc)
    return errors.problem(500, "Internal error", "the server failed; the log holds the request id")


def install(app: FastAPI) -> None:
    """Answer 503 for every request the store's absence made fail (see the module's docstring)."""
    handler: Any = _unavailable
    for exc in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(exc, handler)
    os_handler: Any = _os_error
    app.add_exception_handler(OSError, os_handler)
