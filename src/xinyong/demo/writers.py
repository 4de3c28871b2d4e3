"""Streaming writers for the demo's department files: CSV and JSONL line by line, Parquet by row group.

Memory stays bounded by one Parquet row group whatever the size of the city. Output depends only
on the rows written, so the same rows always give the same bytes.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

ColumnKind = Literal["text", "int", "float", "bool", "date"]
Column = tuple[str, ColumnKind]
ROW_GROUP = 50_000

_ARROW: dict[ColumnKind, pa.DataType] = {
    "text": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
}


def _plain(v: Any) -> Any:
    if isinstance(v, date):
        return v.isoformat()
    return v


class RowWriter:
    """Writes rows (mappings of column to value) to one file; `rows` counts them."""

    def __init__(self, path: Path, columns: list[Column]) -> None:
        self.path = path
        self.columns = columns
        self.names = [name for name, _ in columns]
        self.rows = 0

    def write(self, row: Mapping[str, Any]) -> None:
        self._write(row)
        self.rows += 1

    def _write(self, row: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class CsvWriter(RowWriter):
    def __init__(self, path: Path, columns: list[Column]) -> None:
        super().__init__(path, columns)
        self._f: IO[str] = path.open("w", encoding="utf-8", newline="")
        self._w = csv.writer(self._f, lineterminator="\n")
        self._w.writerow(self.names)

    @staticmethod
    def _cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return f"{v:.2f}"
        return str(_plain(v))

    def _write(self, row: Mapping[str, Any]) -> None:
        self._w.writerow([self._cell(row.get(n)) for n in self.names])

    def close(self) -> None:
        self._f.close()


class JsonlWriter(RowWriter):
    def __init__(self, path: Path, columns: list[Column]) -> None:
        super().__init__(path, columns)
        self._f: IO[str] = path.open("w", encoding="utf-8", newline="\n")

    def _write(self, row: Mapping[str, Any]) -> None:
        obj = {n: _plain(row.get(n)) for n in self.names}
        self._f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._f.close()


class ParquetWriter(RowWriter):
    def __init__(self, path: Path, columns: list[Column], row_group: int = ROW_GROUP) -> None:
        super().__init__(path, columns)
        self.schema = pa.schema([pa.field(n, _ARROW[k], nullable=True) for n, k in columns])
        self._writer = pq.ParquetWriter(path, self.schema)
        self._row_group = row_group
        self._buffer: dict[str, list[Any]] = {n: [] for n in self.names}
        self._buffered = 0

    def _write(self, row: Mapping[str, Any]) -> None:
        for n in self.names:
            self._buffer[n].append(row.get(n))
        self._buffered += 1
        if self._buffered >= self._row_group:
            self._flush()

    def _flush(self) -> None:
        if not self._buffered:
            return
        table = pa.Table.from_pydict(self._buffer, schema=self.schema)
        self._writer.write_table(table, row_group_size=self._row_group)
        self._buffer = {n: [] for n in self.names}
        self._buffered = 0

    def close(self) -> None:
        self._flush()
        self._writer.close()


def open_writer(path: Path, columns: list[Column]) -> RowWriter:
    """A writer for `path`, chosen by its suffix (.csv, .jsonl or .parquet)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return CsvWriter(path, columns)
    if suffix == ".jsonl":
        return JsonlWriter(path, columns)
    if suffix == ".parquet":
        return ParquetWriter(path, columns)
    raise ValueError(f"{path.name}: no writer for '{suffix}'; use .csv, .jsonl or .parquet")
