"""Calendar periods of stored moments, as SQL: the one place their dialects differ.

Stored moments are UTC (`UTCDateTime`): SQLite keeps them as ISO text, PostgreSQL as
timestamptz, so the month or day of a moment is a prefix of the text on one and a formatted
UTC time on the other. Either way the result is text, `YYYY-MM` or `YYYY-MM-DD`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal_column


def _period(dialect: str, column: Any, chars: int, pattern: str) -> Any:
    if dialect == "sqlite":
        return func.substr(column, 1, chars)
    if dialect == "postgresql":
        return func.to_char(func.timezone(literal_column("'UTC'"), column), pattern)
    raise ValueError(f"no calendar periods for the {dialect} dialect: only sqlite and postgresql")


def month_of(dialect: str, column: Any) -> Any:
    """`YYYY-MM` of a stored UTC moment."""
    return _period(dialect, column, 7, "YYYY-MM")


def day_of(dialect: str, column: Any) -> Any:
    """`YYYY-MM-DD` of a stored UTC moment."""
    return _period(dialect, column, 10, "YYYY-MM-DD")
