"""Fast bulk inserts for the ingestion hot path.

SQLAlchemy's Core insert processes every parameter of every row through its type system. For
millions of rows that costs more than the database itself, so here rows are tuples already in
the form both drivers accept (dates as ISO text, JSON as text, timestamps from `timestamp`), and
the driver's own `executemany` does the rest. The stored values are exactly those SQLAlchemy
would write, so the rest of the code reads them back through the ordinary Core types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, func, select

from xinyong.store.pg_copy import copy_rows


def timestamp(conn: Connection, value: datetime) -> Any:
    """A timezone-aware timestamp as the dialect's driver stores it for a UTCDateTime column."""
    if conn.dialect.name == "sqlite":
        # SQLAlchemy's SQLite DATETIME storage format, in UTC (see store.types.UTCDateTime).
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value.astimezone(UTC)


def insert_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    constants: Mapping[str, str] | None = None,
) -> None:
    """Insert `rows` (tuples in the order of `columns`): on PostgreSQL with COPY (see pg_copy),
    on SQLite with the driver's executemany.

    `constants` gives further columns the same value in every row, as SQL literals written into
    the statement (the caller makes them safe), so that no row carries them as parameters.
    """
    if not rows:
        return
    constants = constants or {}
    unknown = [c for c in (*columns, *constants) if c not in table.c]
    if unknown:
        raise ValueError(f"table {table.name} has no column(s) {', '.join(unknown)}")
    if conn.dialect.name == "postgresql":
        copy_rows(conn, table.name, columns, rows, constants)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join((*columns, *constants))
    values = ", ".join([mark] * len(columns) + list(constants.values()))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({values})", list(rows))


def allocate_ids(conn: Connection, table: Table, n: int) -> list[int]:
    """Reserve `n` new primary keys of `table` for rows the caller inserts with explicit ids.

    PostgreSQL draws them from the column's sequence, so concurrent writers never collide.
    SQLite has a single writer: the caller holds the write lock (see db.write_lock), so the
    next ids after the current maximum are free until it commits.
    """
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        # One array, not a row per id: the driver reads it in C, with no row of SQLAlchemy's per id.
        q = (
            f"SELECT array_agg(i ORDER BY i) FROM (SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) AS i "
            "FROM generate_series(1, %(n)s)) ids"
        )
        return list(conn.exec_driver_sql(q, {"n": n}).scalar_one())
    start = int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1
    return list(range(start, start + n))
