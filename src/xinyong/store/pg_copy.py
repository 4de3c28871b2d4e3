"""PostgreSQL's COPY for the rows of a bulk insert.

An `executemany` of INSERTs sends each row as a statement of its own (psycopg pipelines them,
but the server still parses, plans and executes every one); COPY streams the rows in one
statement, the way the server loads data fastest short of building its indexes afresh. The rows
come in the form `bulk.insert_rows` takes them (dates and JSON as text, timestamps as aware
datetimes), and go in COPY's text format, which the server parses by each column's own type,
exactly as it parses the parameters of an INSERT: what is stored does not change.

The rows are turned into COPY's text by psycopg's own formatter (C, in psycopg's binary
package), called for every row from C too (`map`), in blocks that go to the server as they are
made: no Python frame per row or per value.

Columns whose value is the same in every row come as SQL literals (see `bulk.insert_rows`):
the server evaluates them once per connection (literals: the same values in every transaction),
psycopg formats the values once per statement, and that text ends every row
of a block in one replace. COPY's text format escapes a newline inside a value (`\\n`), so the
only newline bytes of a block are the ends of its rows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from itertools import repeat
from typing import Any, cast

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

# Rows per block sent to the server: large enough that a block costs few calls, small enough
# that the server parses one block while the next is formatted.
BLOCK_ROWS = 1000

# Sets of constants remembered per connection (a batch uses a few: one per table it writes).
KNOWN_CONSTANTS = 16

Format = Callable[[Sequence[Any], Any, bytearray], None]


@cache
def _formatter() -> Format | None:
    """psycopg's formatter of a row in COPY's text format (its C one where installed); None if
    this psycopg keeps it elsewhere, and then each row goes through `Copy.write_row`. Looked up
    at the first COPY: a command on SQLite never imports psycopg (70 ms of its start)."""
    try:
        from psycopg._copy_base import format_row_text
    except ImportError:  # pragma: no cover - another psycopg 3 layout
        return None
    return cast("Format", format_row_text)  # psycopg picks it at import time (C or Python): untyped


def copy_rows(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    constants: Mapping[str, str] | None = None,
) -> None:
    """COPY `rows` (tuples in the order of `columns`) into `table` on `conn`'s transaction.

    `constants` maps further columns to SQL literals, evaluated once by the server and given to
    every row. The caller has checked the names (they are written into the statement).
    """
    if not rows:
        return
    constants = constants or {}
    statement = f"COPY {table} ({', '.join((*columns, *constants))}) FROM STDIN"
    dialect = conn.dialect
    driver: Any = conn.connection.driver_connection
    try:
        with driver.cursor() as cur:
            extra = _evaluated(conn, cur, constants) if constants else ()
            with cur.copy(statement) as copy:
                format_row = _formatter()
                if format_row is None:
                    for row in map(tuple.__add__, rows, repeat(extra)) if extra else rows:
                        copy.write_row(row)
                else:
                    for block in _blocks(format_row, copy.formatter.transformer, rows, extra):
                        copy.write(block)
    except dialect.loaded_dbapi.Error as exc:
        # Raised as SQLAlchemy raises a statement's error (a lost server answers 503, a broken
        # key is an IntegrityError), and a connection the error shows to be lost is not reused.
        if dialect.is_disconnect(exc, driver, None):
            conn.invalidate(exc)
        raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc


def _evaluated(conn: Connection, cur: Any, constants: Mapping[str, str]) -> tuple[Any, ...]:
    """The values of the constants' SQL literals, asked of the server once per connection (a
    batch's chunks all give the same: its source, its batch, its time)."""
    # Sent without parameters, so the `%` the caller doubled for the driver is one again.
    select = f"SELECT {', '.join(constants.values()).replace('%%', '%')}"
    known: dict[str, tuple[Any, ...]] = conn.info.setdefault("xinyong_copy_constants", {})
    if select not in known:
        cur.execute(select)
        if len(known) >= KNOWN_CONSTANTS:
            known.clear()  # the constants of batches long done
        known[select] = tuple(cur.fetchone())
    return known[select]


def _blocks(
    format_row: Format, tx: Any, rows: Sequence[tuple[Any, ...]], extra: tuple[Any, ...]
) -> Iterator[bytearray]:
    """The rows in COPY's text format, `BLOCK_ROWS` at a time, each ending with `extra`'s values."""
    end = b"\n"
    if extra:
        once = bytearray()
        format_row(extra, tx, once)  # the constants' text, as psycopg formats them in every row
        end = b"\t" + bytes(once)
    for start in range(0, len(rows), BLOCK_ROWS):
        block = bytearray()
        deque(map(format_row, rows[start : start + BLOCK_ROWS], repeat(tx), repeat(block)), maxlen=0)
        yield block.replace(b"\n", end) if extra else block
