"""Streaming readers for department files: CSV and JSONL text, Excel workbooks and Parquet.

Each reader yields `RawChunk`s (columns and rows of values, and the lines that cannot be read) with
bounded memory whatever the file size, in xinyong's column names: a file under a department's own
headers goes through its source's mapping first (mapping.py). Text files are read in the encoding
declared or detected (encodings.py); a header row may sit below title rows, which are skipped.
Problems with the file as a whole (encoding, header, schema, emptiness) raise `FileRefused` before
or while reading; the caller's transaction then keeps nothing of the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Generator, Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import Any

from xinyong.domain.errors import FileRefused
from xinyong.domain.records import REQUIRED_COLUMNS, Problem, RowValidator
from xinyong.ingest import encodings
from xinyong.ingest.columns import Columns, RawChunk, ReadOptions, mapped
from xinyong.ingest.summary import Reading

FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xls",
}
MAX_CSV_FIELD = 1 << 20
MAX_JSON_LINE = 4 << 20  # characters; a longer line is rejected without being held in memory whole
MAX_JSON_DEPTH = "values must be plain (text, number, boolean or null)"
Row = dict[str, Any] | Problem
Hash = encodings.Hash


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise FileRefused(
            f"{path.name}: unsupported file type '{path.suffix}'; use {', '.join(FORMATS)} (a text file may be "
            "UTF-8, GB18030 or UTF-16)"
        )
    return fmt


def _csv_rows(reader: Any, name: str) -> Iterator[tuple[int, list[str]]]:
    """The rows of a CSV file that may be its header (or titles above it), with their lines."""
    while True:
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileRefused(f"{name}: line {line}: the header cannot be read: {exc}") from None
        yield reader.line_num, values


def read_csv(path: Path, columns: Columns, chunk_rows: int, digest: Hash) -> Generator[RawChunk, None, None]:
    csv.field_size_limit(MAX_CSV_FIELD)
    if path.stat().st_size == 0:
        raise FileRefused(f"{path.name}: the file is empty; it must hold a header line and records")
    decoding = encodings.choose(path, columns.encoding, columns.usual_encoding)
    with encodings.text_stream(path, digest, decoding) as text:
        reader = csv.reader(text)
        line = 1
        try:
            header_line, header, skipped = columns.find_header(_csv_rows(reader, path.name))
            plan = columns.plan(header, header_line)
            reading: Reading = {"encoding": decoding.label, **plan.describe()}
            if skipped:
                reading["header_line"] = header_line
            width = len(header)
            seen_rows = False
            chunk = RawChunk(header, text_only=True, reading=reading)
            lines, rows, problems = chunk.lines, chunk.rows, chunk.problems
            while True:
                if len(lines) + len(problems) >= chunk_rows:
                    yield mapped(plan, chunk)
                    chunk = RawChunk(header, text_only=True)
                    lines, rows, problems = chunk.lines, chunk.rows, chunk.problems
                line = reader.line_num + 1
                try:
                    values = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    seen_rows = True  # a record too large to read is still a record: rejected, with its line
                    problems.append(Problem(line, None, "malformed", f"malformed CSV: {exc}"))
                    continue
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue
                seen_rows = True
                if len(values) == width:
                    lines.append(line)
                    rows.append(values)
                else:
                    problems.append(
                        Problem(line, None, "malformed", f"has {len(values)} fields; the header has {width}")
                    )
            _drain(text)
        except UnicodeDecodeError as exc:
            raise encodings.late_refusal(path, line, exc, decoding) from None
        if not seen_rows:
            raise FileRefused(f"{path.name}: the file has a header but no records")
        if lines or problems:
            yield mapped(plan, chunk)


def _drain(text: io.TextIOWrapper) -> None:
    """Read to the end, so that the digest covers every byte of the file."""
    while text.buffer.read(1 << 20):
        pass


def _json_lines(stream: io.TextIOWrapper) -> Iterator[tuple[int, str | None]]:
    """(line, text) of each line; text None for a line over MAX_JSON_LINE, which is skipped unread."""
    line = 0
    while True:
        text = stream.readline(MAX_JSON_LINE + 1)
        if not text:
            return
        line += 1
        if len(text) > MAX_JSON_LINE and not text.endswith("\n"):
            while (rest := stream.readline(MAX_JSON_LINE)) and not rest.endswith("\n"):
                pass
            yield line, None
            continue
        yield line, text


def _json_row(line: int, text: str, columns: Columns) -> Row:
    """One JSON line as a row, or the Problem that rejects it; FileRefused for an unknown key."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return Problem(line, None, "malformed", f"not valid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return Problem(line, None, "malformed", f"nested too deeply to read; {MAX_JSON_DEPTH}")
    return object_row(line, obj, columns)


def object_row(line: int, obj: Any, columns: Columns) -> Row:
    """One parsed JSON object as a row, or the Problem that rejects it; FileRefused for an unknown key."""
    if not isinstance(obj, dict):
        return Problem(line, None, "malformed", "each line must be one JSON object")
    problems = columns.check([str(k) for k in obj if str(k) not in REQUIRED_COLUMNS] + list(REQUIRED_COLUMNS))
    if problems:  # as an unknown column of a CSV header: the file is refused, naming the line
        raise FileRefused(f"{columns.file}: line {line}: " + "; ".join(problems))
    if any(isinstance(v, (dict, list)) for v in obj.values()):
        return Problem(line, None, "malformed", MAX_JSON_DEPTH)
    return obj


def read_jsonl(path: Path, columns: Columns, digest: Hash) -> Generator[tuple[int, Row], None, None]:
    if path.stat().st_size == 0:
        raise FileRefused(f"{path.name}: the file is empty; it must hold one JSON object per line")
    decoding = encodings.choose(path, columns.encoding, columns.usual_encoding)
    with encodings.text_stream(path, digest, decoding) as stream:
        line = 0
        seen_rows = False
        try:
            for line, text in _json_lines(stream):
                if text is None:
                    seen_rows = True
                    message = f"the line is longer than {MAX_JSON_LINE:,} characters"
                    yield line, Problem(line, None, "malformed", message)
                    continue
                if not text.strip():
                    continue
                seen_rows = True
                yield line, _json_row(line, text, columns)
            _drain(stream)
        except UnicodeDecodeError as exc:
            raise encodings.late_refusal(path, line + 1, exc, decoding) from None
        if not seen_rows:
            raise FileRefused(f"{path.name}: the file holds no records")


def chunked(rows: Generator[tuple[int, Row], None, None], chunk_rows: int) -> Generator[RawChunk, None, None]:
    """Rows read one by one (JSON lines, Parquet), gathered into chunks of columns."""
    try:
        while batch := list(islice(rows, chunk_rows)):
            good = [(line, row) for line, row in batch if not isinstance(row, Problem)]
            names = list(dict.fromkeys(k for _, row in good for k in row))
            chunk = RawChunk(names, [line for line, _ in good], [[row.get(k) for k in names] for _, row in good])
            chunk.problems.extend(row for _, row in batch if isinstance(row, Problem))
            yield chunk
    finally:
        rows.close()


def read_rows(
    rows: Iterable[Mapping[str, Any]], validator: RowValidator, chunk_rows: int, digest: Hash, label: str
) -> Generator[RawChunk, None, None]:
    """Rows already parsed (a JSON batch) in chunks, read as the lines of a JSONL file would be:
    row n is line n, under the same rules; `digest` is fed each row as its JSONL line."""
    columns = Columns(validator, ReadOptions(), label)

    def numbered() -> Generator[tuple[int, Row], None, None]:
        line = 0
        for line, obj in enumerate(rows, start=1):
            text = json.dumps(obj, ensure_ascii=False, default=str) + "\n"
            digest.update(text.encode("utf-8", "surrogatepass"))
            yield line, object_row(line, obj, columns)
        if line == 0:
            raise FileRefused(f"{label}: the batch holds no records")

    return chunked(numbered(), chunk_rows)


def read_chunks(
    path: Path,
    fmt: str,
    validator: RowValidator,
    chunk_rows: int,
    digest: Hash,
    options: ReadOptions | None = None,
) -> Generator[RawChunk, None, None]:
    """The file's rows in chunks of up to `chunk_rows`, with `digest` fed every byte of the file."""
    columns = Columns(validator, options or ReadOptions(), path.name)
    if fmt == "csv":
        return read_csv(path, columns, chunk_rows, digest)
    if fmt == "jsonl":
        return chunked(read_jsonl(path, columns, digest), chunk_rows)
    _hash_file(path, digest)  # these libraries read the file themselves: the digest takes its own pass
    if fmt in ("xlsx", "xls"):
        from xinyong.ingest.excel_reader import read_excel  # the workbook reader only when a file needs it

        return read_excel(path, columns, chunk_rows)
    from xinyong.ingest.parquet_reader import read_parquet  # pyarrow only when a file needs it

    return read_parquet(path, columns, chunk_rows)


def _hash_file(path: Path, digest: Hash) -> None:
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)


__all__ = [
    "FORMATS",
    "Columns",
    "RawChunk",
    "ReadOptions",
    "chunked",
    "file_format",
    "mapped",
    "object_row",
    "read_chunks",
    "read_rows",
]
