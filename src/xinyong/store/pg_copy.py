"""PostgreSQL's COPY for the rows of a bulk insert.

An `executemany` of INSERTs sends each row as a statement of its own (psycopg pipelines them,
but the server still parses, plans and executes every one); COPY streams the rows in one
statement, the way the server loads data fastest short of building its indexes afresh. The rows
come in the form `bulk.insert_rows` takes them (dates and JSON as text, timestamps as aware
datetimes), and go in COPY's text format, which the server parses by each column's own type,
exactly as it parses the parameters of an INSERT: what is stored does not change.

Columns whose value is the same in every row come as SQL literals (see `bulk.insert_rows`):
the server evaluates them once, and each row carries the resulting values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError


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
            extra: tuple[Any, ...] = ()
            if constants:
                # Sent without parameters, so the `%` the caller doubled for the driver is one again.
                cur.execute(f"SELECT {', '.join(constants.values()).replace('%%', '%')}")
                extra = tuple(cur.fetchone())
            with cur.copy(statement) as copy:
                for row in map(tuple.__add__, rows, repeat(extra)) if extra else rows:
                    copy.write_row(row)
    except dialect.loaded_dbapi.Error as exc:
        # Raised as SQLAlchemy raises a statement's error (a lost server answers 503, a broken
        # key is an IntegrityError), and a connection the error shows to be lost is not reused.
        if dialect.is_disconnect(exc, driver, None):
            conn.invalidate(exc)
        raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc
