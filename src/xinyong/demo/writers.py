"""Streaming writers for the demo's department files: CSV and JSONL line by line, Parquet by row group,
Excel workbooks row by row.

Memory stays bounded by one Parquet row group whatever the size of the city. Output depends only
on the rows written, so the same rows always give the same bytes (a workbook's creation time is
fixed for that reason). CSV may be written in GB18030, as Excel saves it on a Chinese-language
system; a workbook may carry a merged title row above its header, as departments' exports do.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
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

    def file_of(self, row: Mapping[str, Any]) -> Path:
        """The file `row` is written to."""
        return self.path

    def _write(self, row: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class CsvWriter(RowWriter):
    def __init__(self, path: Path, columns: list[Column], encoding: str = "utf-8") -> None:
        super().__init__(path, columns)
        self._f: IO[str] = path.open("w", encoding=encoding, newline="")
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


class XlsxWriter(RowWriter):
    """A workbook of one sheet, written row by row (xlsxwriter's constant-memory mode)."""

    CREATED = datetime(2026, 1, 1, tzinfo=UTC)  # a fixed creation time: the same rows give the same bytes

    def __init__(self, path: Path, columns: list[Column], title: str | None = None, sheet: str = "Sheet1") -> None:
        import xlsxwriter  # loaded only when a workbook is written

        super().__init__(path, columns)
        self._book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
        self._book.set_properties({"created": self.CREATED.replace(tzinfo=None)})
        self._sheet = self._book.add_worksheet(sheet)
        self._date = self._book.add_format({"num_format": "yyyy-mm-dd"})
        self._kinds = [kind for _, kind in columns]
        self._row = 0
        if title:
            self._sheet.merge_range(0, 0, 0, max(len(columns) - 1, 1), title)
            self._row = 1
        for i, name in enumerate(self.names):
            self._sheet.write_string(self._row, i, name)
        self._row += 1

    def _write(self, row: Mapping[str, Any]) -> None:
        for i, (name, kind) in enumerate(zip(self.names, self._kinds, strict=True)):
            v = row.get(name)
            if v is None or v == "":
                continue
            if isinstance(v, date):
                self._sheet.write_datetime(self._row, i, datetime(v.year, v.month, v.day), self._date)  # noqa: DTZ001 - a calendar date
            elif kind in ("int", "float") and isinstance(v, (int, float)) and not isinstance(v, bool):
                self._sheet.write_number(self._row, i, v)
            else:
                self._sheet.write_string(self._row, i, CsvWriter._cell(v))
        self._row += 1

    def close(self) -> None:
        self._book.close()


def open_writer(path: Path, columns: list[Column], *, encoding: str = "utf-8", title: str | None = None) -> RowWriter:
    """A writer for `path`, chosen by its suffix (.csv, .jsonl, .parquet or .xlsx)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return CsvWriter(path, columns, encoding)
    if suffix == ".jsonl":
        return JsonlWriter(path, columns)
    if suffix == ".parquet":
        return ParquetWriter(path, columns)
    if suffix == ".xlsx":
        return XlsxWriter(path, columns, title)
    raise ValueError(f"{path.name}: no writer for '{suffix}'; use .csv, .jsonl, .parquet or .xlsx")


class MonthlyWriter(RowWriter):
    """One department's rows split by the month they take effect in.

    Rows before `since` go to `path`, later ones to `<name>.<YYYY-MM>.<ext>` beside it
    (`court.2025-06.csv`, `court.update-1.2025-06.csv`): the files a department sends each month,
    which the demo's history ingests month by month; ingesting the directory at once takes every
    main file before the updates. Each file is opened at its first row, so none is written empty;
    with `since` None every row goes to `path`."""

    def __init__(
        self, path: Path, columns: list[Column], since: date | None, opener: Callable[[Path], RowWriter]
    ) -> None:
        super().__init__(path, columns)
        self.since = since
        self._open = opener
        self._parts: dict[Path, RowWriter] = {}

    def file_of(self, row: Mapping[str, Any]) -> Path:
        """The file `row` goes to: its month's, by the later of its decision and its effect."""
        if self.since is None:
            return self.path
        day = max(d for d in (row.get("decided_on"), row.get("valid_from")) if isinstance(d, date))
        if day < self.since:
            return self.path
        return self.path.with_name(f"{self.path.stem}.{day:%Y-%m}{self.path.suffix}")

    def _write(self, row: Mapping[str, Any]) -> None:
        path = self.file_of(row)
        part = self._parts.get(path)
        if part is None:
            part = self._parts[path] = self._open(path)
        part.write(row)

    def parts(self) -> list[tuple[Path, int]]:
        """Every file written, with its rows, in the order of their names."""
        return sorted((p, w.rows) for p, w in self._parts.items())

    def close(self) -> None:
        for part in self._parts.values():
            part.close()
