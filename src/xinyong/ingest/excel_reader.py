"""Reading Excel workbooks (.xlsx, .xls) with python-calamine: a named or the first sheet, row by row.

Many departments deliver workbooks rather than CSV. The sheet is the one named (`--sheet`, or
`sheet:` in the source's mapping), else the first worksheet; the header is found below any merged
title rows, which are skipped. Lines are the sheet's row numbers, as Excel shows them.

Cells become text, so that rows take the validator's fast path like a CSV's: a date cell as its ISO
date, a number in a date column as the Excel serial it is (1900 date system), a whole number
without its ".0". A number in an identifier column is refused for its row: Excel keeps 15 digits,
so an 18-digit number typed as a number has already lost its last digits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from xinyong.domain.errors import FileRefused
from xinyong.domain.normalise import BadValue, Counts, excel_serial
from xinyong.domain.records import Problem
from xinyong.ingest.columns import Columns, RawChunk, mapped
from xinyong.ingest.mapping import DATE_FIELDS, ColumnPlan
from xinyong.ingest.summary import Reading, add_counts

NUMBER_IN_ID = (
    "is a number in the workbook, which keeps only 15 digits: format the column as text and type the identifier again"
)


def _open(path: Path, columns: Columns) -> tuple[Any, str]:
    """The sheet to read and its name; FileRefused for a file or sheet that cannot be read."""
    import python_calamine as calamine  # loaded only for workbooks

    try:
        book = calamine.CalamineWorkbook.from_path(str(path))
    except (calamine.CalamineError, calamine.ZipError, calamine.XmlError, OSError, ValueError) as exc:
        raise FileRefused(f"{path.name}: not a readable workbook ({type(exc).__name__}: {exc})") from None
    except calamine.PasswordError:
        raise FileRefused(f"{path.name}: the workbook is protected by a password; save it without one") from None
    names = list(book.sheet_names)
    wanted = columns.sheet
    if wanted is not None:
        if wanted not in names:
            raise FileRefused(f"{path.name}: no sheet '{wanted}'; the workbook's sheets are: {', '.join(names)}")
        return book.get_sheet_by_name(wanted), wanted
    sheets = [m.name for m in book.sheets_metadata if str(m.typ).endswith("WorkSheet")]
    if not sheets:
        raise FileRefused(f"{path.name}: the workbook holds no worksheet")
    return book.get_sheet_by_name(sheets[0]), sheets[0]


def read_excel(path: Path, columns: Columns, chunk_rows: int) -> Generator[RawChunk, None, None]:
    if path.stat().st_size == 0:
        raise FileRefused(f"{path.name}: the file is empty")
    sheet, name = _open(path, columns)
    first = int(sheet.start[0]) + 1 if sheet.start is not None else 1
    rows: Iterator[tuple[int, list[Any]]] = enumerate(sheet.iter_rows(), start=first)
    header_line, header, _ = columns.find_header(rows)
    while header and (header[-1] is None or header[-1] == ""):  # a title merged wider than the header
        header = header[:-1]
    plan = columns.plan(header, header_line)
    reading: Reading = {"sheet": name, "header_line": header_line, **plan.describe()}
    return _chunks(path, rows, plan, len(header), chunk_rows, reading, _date_columns(plan, columns))


def _date_columns(plan: ColumnPlan, columns: Columns) -> set[int]:
    catalog = columns.catalog
    dated = set(DATE_FIELDS)
    for type_id in catalog.sources[columns.source_id].submits:
        dated.update(n for n, s in catalog.record_types[type_id].attributes.items() if s.type == "date")
    return {i for i, targets in enumerate(plan.targets) if dated & set(targets)}


def _chunks(
    path: Path,
    rows: Iterator[tuple[int, list[Any]]],
    plan: ColumnPlan,
    width: int,
    chunk_rows: int,
    reading: Reading,
    dates: set[int],
) -> Generator[RawChunk, None, None]:
    ids = {i for i, targets in enumerate(plan.targets) if "id_number" in targets}
    seen = False
    chunk = RawChunk(plan.header, text_only=True, reading=reading)
    counts: Counts = Counter()
    for line, cells in rows:
        if not any(v != "" and v is not None for v in cells):
            continue
        seen = True
        if len(cells) > width and any(v != "" for v in cells[width:]):
            chunk.problems.append(Problem(line, None, "malformed", f"has values beyond the header's {width} columns"))
        else:
            values, why = _texts(cells[:width] + [""] * (width - len(cells)), dates, ids, plan, counts)
            if why is None:
                chunk.lines.append(line)
                chunk.rows.append(values)
            else:
                chunk.problems.append(why(line))
        if chunk.rows_read >= chunk_rows:
            add_counts(chunk.reading, "normalised", dict(counts))
            counts.clear()
            yield mapped(plan, chunk)
            chunk = RawChunk(plan.header, text_only=True)
    if not seen:
        raise FileRefused(f"{path.name}: the sheet has a header but no records")
    if chunk.rows_read:
        add_counts(chunk.reading, "normalised", dict(counts))
        yield mapped(plan, chunk)


class _Refusal:
    """A row's problem, made once its line is known."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field[:64], message  # the store keeps 64 characters of a field

    def __call__(self, line: int) -> Problem:
        return Problem(line, self.field, "invalid", self.message)


def _texts(
    cells: list[Any], dates: set[int], ids: set[int], plan: ColumnPlan, counts: Counts
) -> tuple[list[str], _Refusal | None]:
    """A row's cells as text (see the module's docstring), or the refusal of the row."""
    out: list[str] = []
    for i, v in enumerate(cells):
        if type(v) is str:
            out.append(v)
        elif isinstance(v, float):
            if i in ids:
                return out, _Refusal(plan.header[i], NUMBER_IN_ID)
            if i in dates:
                try:
                    out.append(excel_serial(v, counts).isoformat())
                except BadValue as exc:
                    return out, _Refusal(plan.header[i], str(exc))
            else:
                out.append(str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v))
        elif isinstance(v, int) and not isinstance(v, bool):
            if i in ids:
                return out, _Refusal(plan.header[i], NUMBER_IN_ID)
            out.append(excel_serial(v, counts).isoformat() if i in dates and 0 < v <= 2_958_465 else str(v))
        else:
            out.append(_other(v))
    return out, None


def _other(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == time(0) else v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, timedelta):
        return str(v)
    return str(v)
