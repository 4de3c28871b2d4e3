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
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from xinyong.domain.catalog.models import CORE_FIELDS
from xinyong.domain.errors import FileRefused
from xinyong.domain.records import REQUIRED_COLUMNS, Problem

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
MAX_CSV_FIELD = 1 << 20
Row = dict[str, Any] | Problem
HeaderCheck = Callable[[list[str]], list[str]]


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


def _text_stream(raw: IO[bytes]) -> io.TextIOWrapper:
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")


def _header_refusal(path: Path, columns: list[str], problems: list[str]) -> FileRefused:
    if not set(columns) & (set(CORE_FIELDS) | set(REQUIRED_COLUMNS)):
        return FileRefused(
            f"{path.name}: line 1: no header line; the first line must name the columns, "
            f"at least {', '.join(REQUIRED_COLUMNS)}"
        )
    return FileRefused(f"{path.name}: line 1: " + "; ".join(problems))


def read_csv(path: Path, check_header: HeaderCheck) -> Generator[tuple[int, Row], None, None]:
    csv.field_size_limit(MAX_CSV_FIELD)
    if path.stat().st_size == 0:
        raise FileRefused(f"{path.name}: the file is empty; it must hold a header line and records")
    with _text_stream(path.open("rb")) as text:
        reader = csv.reader(text)
        line = 1
        try:
            header = next(reader, None)
            if header is None:
                raise FileRefused(f"{path.name}: the file is empty")
            columns = [c.strip() for c in header]
            problems = check_header(columns)
            if problems:
                raise _header_refusal(path, columns, problems)
            width = len(columns)
            seen_rows = False
            while True:
                line = reader.line_num + 1
                try:
                    values = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    yield line, Problem(line, None, "malformed", f"malformed CSV: {exc}")
                    continue
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue
                seen_rows = True
                if len(values) != width:
                    yield line, Problem(line, None, "malformed", f"has {len(values)} fields; the header has {width}")
                    continue
                yield line, dict(zip(columns, values, strict=True))
        except UnicodeDecodeError as exc:
            raise _refuse_encoding(path, line, exc) from None
        if not seen_rows:
            raise FileRefused(f"{path.name}: the file has a header but no records")


def read_jsonl(path: Path, check_header: HeaderCheck) -> Generator[tuple[int, Row], None, None]:
    if path.stat().st_size == 0:
        raise FileRefused(f"{path.name}: the file is empty; it must hold one JSON object per line")
    with _text_stream(path.open("rb")) as stream:
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
        except UnicodeDecodeError as exc:
            raise _refuse_encoding(path, line + 1, exc) from None
        if not seen_rows:
            raise FileRefused(f"{path.name}: the file holds no records")


_TEXT_TYPES = (pa.types.is_string, pa.types.is_large_string, pa.types.is_null)
_DATE_TYPES = (pa.types.is_date32, pa.types.is_date64, pa.types.is_string, pa.types.is_large_string, pa.types.is_null)
_NUMBER_TYPES = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal, pa.types.is_null, pa.types.is_string)


def _schema_problems(schema: pa.Schema) -> list[str]:
    problems = []
    for fld in schema:
        name, t = fld.name, fld.type
        if name in ("decided_on", "valid_from", "valid_until"):
            ok = any(f(t) for f in _DATE_TYPES) or (pa.types.is_timestamp(t))
            expected = "date32 or string"
        elif name == "revision":
            ok = pa.types.is_integer(t) or pa.types.is_null(t)
            expected = "integer"
        elif name in CORE_FIELDS:
            ok = any(f(t) for f in _TEXT_TYPES)
            expected = "string"
        else:
            ok = any(f(t) for f in _NUMBER_TYPES) or pa.types.is_boolean(t) or pa.types.is_date32(t)
            expected = "string, number, boolean or date"
        if not ok:
            problems.append(f"column '{name}' has type {t}; expected {expected}")
    return problems


def read_parquet(
    path: Path, check_header: HeaderCheck, batch_rows: int = 5000
) -> Generator[tuple[int, Row], None, None]:
    if path.stat().st_size == 0:
        raise FileRefused(f"{path.name}: the file is empty")
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileRefused(f"{path.name}: not a readable Parquet file ({exc})") from None
    schema = pf.schema_arrow
    columns = list(schema.names)
    problems = check_header(columns)
    if problems:
        raise FileRefused(f"{path.name}: schema: " + "; ".join(problems))
    type_problems = _schema_problems(schema)
    if type_problems:
        raise FileRefused(f"{path.name}: wrong schema: " + "; ".join(type_problems))
    if pf.metadata.num_rows == 0:
        raise FileRefused(f"{path.name}: the file holds no records")
    row = 0
    for batch in pf.iter_batches(batch_size=batch_rows):
        for rec in batch.to_pylist():
            row += 1
            yield row, rec


def read_rows(
    path: Path, fmt: str, check_header: HeaderCheck, batch_rows: int = 5000
) -> Generator[tuple[int, Row], None, None]:
    if fmt == "csv":
        return read_csv(path, check_header)
    if fmt == "jsonl":
        return read_jsonl(path, check_header)
    return read_parquet(path, check_header, batch_rows)


def sha256_of(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


__all__ = ["FORMATS", "file_format", "read_rows", "sha256_of"]
