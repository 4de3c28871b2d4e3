"""Faults of the machine, told apart from bugs: a full disk says so in one line, not a traceback.

A write that fails for want of space is rolled back by the store (SQLite's journal, PostgreSQL's
transaction): nothing of it is stored, and what a command stored before it stays. Running the
same command again, once space is freed, does what is left (ingestion is idempotent).
"""

from __future__ import annotations

import errno
import sqlite3

DISK_FULL = (
    "no space left on the store's disk: the write in progress was rolled back and nothing of it is stored "
    "(what the command stored before it stays); free space, then run the same command again"
)


def disk_full(exc: BaseException) -> bool:
    """Whether `exc`, or an error it was raised from, is the disk being full (SQLite's
    SQLITE_FULL, PostgreSQL's disk_full, or the system's ENOSPC)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, sqlite3.OperationalError) and getattr(e, "sqlite_errorname", "") == "SQLITE_FULL":
            return True
        if isinstance(e, OSError) and e.errno == errno.ENOSPC:
            return True
        if getattr(e, "sqlstate", None) == "53100":  # psycopg's DiskFull
            return True
        orig = getattr(e, "orig", None)
        todo += [e.__cause__, e.__context__, orig if isinstance(orig, BaseException) else None]
    return False
