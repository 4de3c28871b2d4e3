"""What every reader shares: how to read a file (`ReadOptions`), a chunk of rows as read
(`RawChunk`), the columns of one source's files and their header (`Columns`), and a chunk under a
department's own headers mapped into xinyong's (`mapped`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from xinyong.domain.catalog.models import CORE_FIELDS
from xinyong.domain.errors import FileRefused
from xinyong.domain.records import REQUIRED_COLUMNS, Problem, RowValidator
from xinyong.ingest.mapping import TITLE_ROWS, ColumnPlan, header_score, known_names, plan_columns, source_mappings
from xinyong.ingest.summary import Reading, merge_reading

TITLE_CELLS = 3  # a row above the header fills at most this many cells (a title; who filled it in, and when)
HeaderCheck = Callable[[list[str]], list[str]]


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file, when the catalog's declaration for its source does not say or is overridden."""

    encoding: str | None = None  # of a text file (see encodings.ACCEPTED)
    sheet: str | None = None  # of a workbook: its name (default: the first sheet)


@dataclass
class RawChunk:
    """Consecutive rows of a file as read: values in the order of `columns`, and unreadable lines."""

    columns: list[str]
    lines: list[int] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    text_only: bool = False  # every value is a str (CSV, Excel)
    reading: Reading = field(default_factory=dict)  # what reading did besides the rows (summary.py)
    by_column: dict[str, Sequence[Any]] | None = None  # the values by column instead of `rows`, once mapped

    @property
    def rows_read(self) -> int:
        return len(self.lines) + len(self.problems)

    def row(self, i: int) -> dict[str, Any]:
        """Row `i` as a mapping of column to value."""
        if self.by_column is not None:
            return {c: self.by_column[c][i] for c in self.columns}
        return dict(zip(self.columns, self.rows[i], strict=True))

    def column_values(self) -> dict[str, Sequence[Any]]:
        """The values by column (what validation reads)."""
        if self.by_column is not None:
            return self.by_column
        return dict(zip(self.columns, zip(*self.rows, strict=True), strict=True))


class Columns:
    """What a reader needs to know about the columns of one source's files, and how to read them."""

    def __init__(self, validator: RowValidator, options: ReadOptions, file_name: str) -> None:
        self.catalog = validator.catalog
        self.source_id = validator.source.id
        self.check: HeaderCheck = validator.header_problems
        self.file = file_name
        self.known = known_names(self.catalog, self.source_id)
        declared = source_mappings(self.catalog, self.source_id)
        self.encoding = options.encoding  # binds
        self.usual_encoding = next((m.encoding for m in declared if m.encoding), None)  # yields to UTF-8 text
        self.sheet = options.sheet or next((m.sheet for m in declared if m.sheet), None)

    def plan(self, header: list[str], line: int) -> ColumnPlan:
        """The plan for this header, checked; FileRefused naming the line when it cannot be read."""
        header = [str(h).strip().lstrip("\ufeff") if h is not None else "" for h in header]
        where = f"{self.file}: line {line}"
        plan = plan_columns(header, self.catalog, self.source_id, where)
        problems = self.check(plan.columns)
        if problems:
            raise self._refusal(plan, where, problems)
        return plan

    def _refusal(self, plan: ColumnPlan, where: str, problems: list[str]) -> FileRefused:
        if plan.mapping is None and not set(plan.columns) & (set(CORE_FIELDS) | set(REQUIRED_COLUMNS)):
            mappings = source_mappings(self.catalog, self.source_id)
            also = (
                f", or the headers of a mapping of source '{self.source_id}' ({', '.join(m.id for m in mappings)})"
                if mappings
                else ""
            )
            return FileRefused(
                f"{where}: no header line; the first line must name the columns, at least "
                f"{', '.join(REQUIRED_COLUMNS)}{also}"
            )
        return FileRefused(f"{where}: " + "; ".join(problems))

    def find_header(self, rows: Iterator[tuple[int, list[Any]]]) -> tuple[int, list[Any], int]:
        """(line, cells, title rows skipped) of the header: the first row naming two known columns.

        Rows above it that name fewer and fill at most three cells (a workbook's merged title, a
        line of who filled it in and when) are skipped, up to TITLE_ROWS of them; any other row is
        taken as the header, to be checked (a file without one is refused there).
        """
        skipped = 0
        for line, cells in rows:
            filled = sum(1 for v in cells if v is not None and str(v).strip())
            if filled == 0:
                continue
            if header_score(cells, self.known) >= 2 or filled > TITLE_CELLS or skipped >= TITLE_ROWS:
                return line, cells, skipped
            skipped += 1
        raise FileRefused(f"{self.file}: the file is empty; it must hold a header line and records")


def mapped(plan: ColumnPlan, chunk: RawChunk) -> RawChunk:
    """A chunk in the file's columns as one in xinyong's (unchanged when the file is in xinyong's names)."""
    if plan.mapping is None:
        return chunk
    lines, columns, problems, reading = plan.apply(chunk.lines, chunk.rows)
    merge_reading(chunk.reading, reading)
    if problems:
        problems = sorted([*chunk.problems, *problems], key=lambda p: p.line)
    return RawChunk(plan.columns, lines, [], problems or chunk.problems, chunk.text_only, chunk.reading, columns)
