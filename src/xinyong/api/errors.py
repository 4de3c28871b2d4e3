"""Errors answer as application/problem+json (RFC 9457), mapped once from the domain's tree."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from xinyong.domain.errors import XinyongError

PROBLEM = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details; `detail` says what to fix."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str


_WHY = {
    400: "Bad request: the request could not be read (a malformed header or body, or a cursor not received "
    "from a page); the detail says what.",
    401: "No valid API key: send `Authorization: Bearer xy_...`.",
    403: "The key's role or scope does not allow this.",
    404: "Not found.",
    409: "Conflict: someone decided first, or the request repeats one still open.",
    413: "Too large: split the batch.",
    422: "Invalid input: the detail names each field and what to fix.",
    429: "Too many requests: wait for Retry-After seconds.",
    503: "Busy: the store stayed busy with other writes; try again later.",
}

# Titles of statuses raised as HTTPException from more than one place, the same from each.
TITLES = {413: "Too large"}

# Every route may answer these; declared once so the OpenAPI schema tells clients the truth.
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {
        "description": why,
        "content": {
            PROBLEM: {
                "schema": Problem.model_json_schema(),
                "example": Problem(title=why.split(":")[0].rstrip("."), status=code, detail=why).model_dump(),
            }
        },
    }
    for code, why in _WHY.items()
}


def problem(status: int, title: str, detail: str, **extra: object) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install(app: FastAPI) -> None:
    @app.exception_handler(XinyongError)
    async def _domain(_: Request, exc: XinyongError) -> JSONResponse:
        response = problem(exc.status, exc.title, str(exc))
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if all(tuple(e["loc"]) == ("query", "cursor") for e in errors):
            return problem(400, "Bad cursor", "cursor: send back the next_cursor of a page unchanged, or omit it")
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
        return problem(422, "Invalid request", f"fix these fields: {where}")

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        # A value valid for the schema the database cannot hold (a NUL character in PostgreSQL text).
        return problem(
            422,
            "Invalid input",
            "a value holds characters or a size the store cannot keep (for example a NUL character); remove them",
        )

    @app.exception_handler(UnicodeEncodeError)
    async def _surrogate(_: Request, exc: UnicodeEncodeError) -> JSONResponse:
        # A lone UTF-16 surrogate (JSON's "\\ud800" without its pair) is valid JSON but no text.
        return problem(
            422,
            "Invalid input",
            "a text value holds a lone UTF-16 surrogate (such as \\ud800), which is not a character; send the "
            "character itself or its pair",
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = problem(exc.status_code, TITLES.get(exc.status_code, str(exc.detail)), str(exc.detail))
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        return response
