"""Streaming readers for CSV, JSONL and Parquet department files.

Each reader yields `(line, row)` pairs with bounded memory whatever the file size, where `row` is
a mapping of column to value, or a `Problem` when the line itself cannot be read. Problems with
the file as a whole (encoding, header, schema, emptiness) raise `FileRefused` before or while
reading; the caller's transaction then keeps nothing of the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

from xinyong.domain.catalog.models import CORE_FIELDS
from xinyong.domain.errors import FileRefused
from xinyong.domain.records import REQUIRED_COLUMNS, Problem

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
MAX_CSV_FIELD = 1 << 20
Row = dict[str, Any] | Problem
HeaderCheck = Callable[[list[str]], list[str]]
Hash = Any  # a hashlib object: update(bytes) and hexdigest()


@dataclass
class RawChunk:
    """Consecutive rows of a file as read: values in the order of `columns`, and unreadable lines."""

    columns: list[str]
    lines: list[int] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    text_only: bool = False  # every value is a str (CSV)

    @property
    def rows_read(self) -> int:
        return len(self.lines) + len(self.problems)

    def row(self, i: int) -> dict[str, Any]:
        """Row `i` as a mapping of column to value."""
        return dict(zip(self.columns, self.rows[i], strict=True))


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise FileRefused(f"{path.name}: unsupported file type '{path.suffix}'; use .csv, .jsonl or .parquet")
    return fmt


def _encoding_hint(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(1 << 16)
    for enc in ("gb18030", "utf-16"):
        try:
            head.decode(enc)
        except UnicodeDecodeError:
            continue
        else:
            return f" It looks like {enc.upper()}; save the file as UTF-8."
    return " Save the file as UTF-8."


def _refuse_encoding(path: Path, line: int, exc: UnicodeDecodeError) -> FileRefused:
    byte = exc.object[exc.start : exc.start + 1].hex()
    return FileRefused(
        f"{path.name}: line {line}: not valid UTF-8 (byte 0x{byte} cannot be decoded).{_encoding_hint(path)}"
    )


class _Hashing(io.RawIOBase):
    """The file's bytes as they are read, added to a digest on the way: one pass does both."""

    def __init__(self, raw: IO[bytes], digest: Hash) -> None:
        self._raw = raw
        self._digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self._digest.update(memoryview(buffer)[:n])
        return int(n or 0)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _text_stream(path: Path, digest: Hash) -> io.TextIOWrapper:
    raw = io.BufferedReader(_Hashing(path.open("rb", buffering=0), digest), buffer_size=1 << 20)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")


def _drain(text: io.TextIOWrapper) -> None:
    """Read to the end, so that the digest covers every byte of the file."""
    while text.buffer.read(1 << 20):
        pass


def _header_refusal(path: Path, columns: list[str], problems: list[str]) -> FileRefused:
    if not set(columns) & (set(CORE_FIELDS) | set(REQUIRED_COLUMNS)):
        return FileRefused(
            f"{path.name}: line 1: no header line; the first line must name the columns, "
            f"at least {', '.join(REQUIRED_COLUMNS)}"
        )
    return FileRefused(f"{path.name}: line 1: " + "; ".join(problems))


def read_csv(path: Path, check_header: HeaderCheck, chunk_rows: int, digest: Hash) -> Generator[RawChunk, None, None]:
    csv.field_size_limit(MAX_CSV_FIELD)
    if path.stat().st_size == 0:
        raise FileRefused(f"{path.name}: the file is empty; it must hold a header line and records")
    with _text_stream(path, digest) as text:
        reader = csv.reader(text)
        line = 1
        try:
            header = next(reader, None)
            if header is None:
                raise FileRefused(f"{path.name}: the file is empty")
            columns = [c.strip() for c in header]
            refusal = check_header(columns)
            if refusal:
                raise _header_refusal(path, columns, refusal)
            width = len(columns)
            seen_rows = False
            chunk = RawChunk(columns, text_only=True)
            lines, rows, problems = chunk.lines, chunk.rows, chunk.problems
            while True:
                if len(lines) + len(problems) >= chunk_rows:
                    yield chunk
                    chunk = RawChunk(columns, text_only=True)
                    lines, rows, problems = chunk.lines, chunk.rows, chunk.problems
                line = reader.line_num + 1
                try:
                    values = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
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
            raise _refuse_encoding(path, line, exc) from None
        if not seen_rows:
            raise FileRefused(f"{path.name}: the file has a header but no records")
        if lines or problems:
            yield chunk


def read_jsonl(path: Path, check_header: HeaderCheck, digest: Hash) -> Generator[tuple[int, Row], None, None]:
    if path.stat().st_size == 0:
        raise FileRefused(f"{path.name}: the file is empty; it must hold one JSON object per line")
    with _text_stream(path, digest) as stream:
        line = 0
        seen_rows = False
        try:
            for line, text in enumerate(stream, start=1):
                if not text.strip():
                    continue
                seen_rows = True
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield line, Problem(line, None, "malformed", f"not valid JSON: {exc.msg} at column {exc.colno}")
                    continue
                if not isinstance(obj, dict):
                    yield line, Problem(line, None, "malformed", "each line must be one JSON object")
                    continue
                problems = check_header(
                    [str(k) for k in obj if str(k) not in REQUIRED_COLUMNS] + list(REQUIRED_COLUMNS)
                )
                if problems:
                    yield line, Problem(line, None, "unknown_field", "; ".join(problems), None)
                    continue
                for v in obj.values():
                    if isinstance(v, (dict, list)):
                        yield (
                            line,
                            Problem(line, None, "malformed", "values must be plain (text, number, boolean or null)"),
                        )
                        break
                else:
                    yield line, obj
            _drain(stream)
        except UnicodeDecodeError as exc:
            raise _refuse_encoding(path, line + 1, exc) from None
        if not seen_rows:
            raise FileRefused(f"{path.name}: the file holds no records")


def _chunked(rows: Generator[tuple[int, Row], None, None], chunk_rows: int) -> Generator[RawChunk, None, None]:
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


def read_chunks(
    path: Path, fmt: str, check_header: HeaderCheck, chunk_rows: int, digest: Hash
) -> Generator[RawChunk, None, None]:
    """The file's rows in chunks of up to `chunk_rows`, with `digest` fed every byte of the file."""
    if fmt == "csv":
        return read_csv(path, check_header, chunk_rows, digest)
    if fmt == "jsonl":
        return _chunked(read_jsonl(path, check_header, digest), chunk_rows)
    from xinyong.ingest.parquet_reader import read_parquet  # pyarrow only when a file needs it

    _hash_file(path, digest)  # pyarrow reads Parquet itself: the digest takes its own pass
    return _chunked(read_parquet(path, check_header, chunk_rows), chunk_rows)


def _hash_file(path: Path, digest: Hash) -> None:
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)


__all__ = ["FORMATS", "RawChunk", "file_format", "read_chunks"]
