"""Paging for every list route: a bounded `limit`, an opaque `cursor` and the `total`.

A cursor is what the previous page answered as `next_cursor`: clients send it back unchanged and
read nothing into it. Its form is in the schema, so every cursor the schema admits is one the
server can follow (past the end, a page is empty), and anything else is refused with 400 naming
the cursor, before any work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
CURSOR_PATTERN = r"^c[0-9a-f]{1,13}$"  # 13 hex digits: a position below 2**52

Limit = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description=f"Items per page: 1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}."),
]
Cursor = Annotated[
    str | None,
    Query(
        min_length=2,
        max_length=14,
        pattern=CURSOR_PATTERN,
        description="The `next_cursor` of the previous page, unchanged; omit it for the first page. Anything "
        "else is refused with 400.",
        examples=["c32"],
    ),
]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: its items, how many there are in all, and the cursor of the next page."""

    items: list[T]
    total: Annotated[int, Field(ge=0, description="Items in the whole list, on every page.")]
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)]
    next_cursor: Annotated[
        str | None, Field(pattern=CURSOR_PATTERN, description="Send as `cursor` for the next page; null on the last.")
    ]


def encode(position: int) -> str:
    return f"c{position:x}"


def position(cursor: str | None) -> int:
    """The position a cursor points at (the schema admitted its form); 0 without one."""
    return 0 if cursor is None else int(cursor[1:], 16)


def page(items: Sequence[T], start: int, limit: int, total: int | None = None) -> dict[str, object]:
    """The page of `items` (the whole list) from `start`; with `total`, `items` is the page already."""
    whole = len(items) if total is None else total
    shown = list(items[start : start + limit]) if total is None else list(items)
    end = min(start + limit, whole)
    return {"items": shown, "total": whole, "limit": limit, "next_cursor": encode(end) if end < whole else None}
