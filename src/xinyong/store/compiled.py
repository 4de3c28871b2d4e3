"""The compile cache: a statement compiled once per dialect, with the type processors SQLAlchemy
would apply to its parameters and results."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Dialect, Select


class HotCompiled:
    """A statement compiled for one dialect, with its bind (and, for a SELECT, result) processors.

    `columns`: for an INSERT, the columns its rows give (the others take their defaults)."""

    def __init__(self, statement: Any, dialect: Dialect, columns: Sequence[str] | None = None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(columns) if columns is not None else None)
        self.sql = compiled.string
        self._defaults = dict(compiled.params)
        self._binds = {
            name: proc
            for name, bind in compiled.binds.items()
            if (proc := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        self._positions = list(compiled.positiontup or ()) if compiled.positional else None
        columns_out = list(statement.selected_columns) if isinstance(statement, Select) else []
        self._results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns_out]
        self._row: Any = namedtuple("Row", [c.key for c in columns_out])  # type: ignore[misc]

    def arguments(self, params: dict[str, Any]) -> Any:
        values = {**self._defaults, **params}
        for name, proc in self._binds.items():
            if values.get(name) is not None:
                values[name] = proc(values[name])
        return values if self._positions is None else [values[name] for name in self._positions]

    def row(self, raw: Sequence[Any]) -> Any:
        return self._row(*(v if p is None or v is None else p(v) for p, v in zip(self._results, raw, strict=True)))


class PerDialect:
    """A statement's `HotCompiled` for each dialect, compiled on first use."""

    def __init__(self, statement: Any, columns: Sequence[str] | None = None) -> None:
        self._statement, self._columns = statement, columns
        self._compiled: dict[str, HotCompiled] = {}

    def of(self, dialect: Dialect) -> HotCompiled:
        hot = self._compiled.get(dialect.name)
        if hot is None:
            hot = self._compiled[dialect.name] = HotCompiled(self._statement, dialect, self._columns)
        return hot
