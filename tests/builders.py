"""Helpers for tests: department files, identifiers, and running the command line."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine, Row, select
from stdnum.cn import ric, uscc

from xinyong.domain.catalog.models import CORE_FIELDS
from xinyong.store.unit_of_work import UnitOfWork


def make_ric(n: int, birth: str = "19900101", region: str = "330106") -> str:
    """A valid resident identity number, distinct for each n (0 <= n < 1000)."""
    body = f"{region}{birth}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def make_uscc(n: int) -> str:
    body = f"91330106{n:09d}"[:17]
    return body + uscc.calc_check_digit(body)


def mistype(number: str) -> str:
    """Change one digit so that the check character no longer matches."""
    d = str((int(number[5]) + 1) % 10)
    return number[:5] + d + number[6:]


def court_row(ref: str, number: str | None, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source_ref": ref,
        "revision": 1,
        "record_type": "court.defaulter",
        "subject_name": "张伟",
        "id_scheme": "cn.ric",
        "id_number": number or "",
        "decided_on": "2024-03-01",
        "valid_from": "2024-03-05",
        "valid_until": "2026-03-05",
        "document_no": "(2024)浙01执123号",
        "case_no": "(2024)浙01执123号",
        "amount_cny": "12000.50",
        "circumstance": "has_ability_refuses",
        "performance": "none",
    }
    row.update(over)
    return row


def columns_for(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    cols: list[str] = list(CORE_FIELDS)
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


def write_csv(
    path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None, encoding: str = "utf-8"
) -> Path:
    cols = columns or columns_for(rows)
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None else v) for k, v in r.items() if k in cols})
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]], schema: pa.Schema | None = None) -> Path:
    def conv(k: str, v: Any) -> Any:
        if k in ("decided_on", "valid_from", "valid_until") and isinstance(v, str) and v:
            return date.fromisoformat(v)
        if k == "revision":
            return int(v)
        if k == "amount_cny" and isinstance(v, str):
            return float(v)
        return v if v != "" else None

    data = [{k: conv(k, v) for k, v in r.items()} for r in rows]
    table = pa.Table.from_pylist(data, schema=schema)
    pq.write_table(table, path)
    return path


def xy(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the real `xinyong` command line in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "xinyong", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """The result, after asserting the command succeeded (showing its output if not)."""
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def cli_events(conn: Connection) -> list[Row[Any]]:
    """(actor, action, target, purpose) of every audit event the command line appended, in order."""
    from xinyong.store.tables import audit_events

    return list(
        conn.execute(
            select(audit_events.c.actor, audit_events.c.action, audit_events.c.target, audit_events.c.purpose)
            .where(audit_events.c.actor.like("cli:%"))
            .order_by(audit_events.c.id)
        ).all()
    )


def write_xlsx(
    path: Path,
    rows: list[dict[str, Any]],
    columns: list[str] | None = None,
    *,
    title: str | None = None,
    sheet: str = "Sheet1",
    typed: bool = True,
) -> Path:
    """A workbook as a department saves one (xlsxwriter): an optional merged title row above the header;
    dates as date cells and plain numbers as number cells when `typed`, everything else as text."""
    import xlsxwriter

    cols = columns or columns_for(rows)
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet(sheet)
    dated = book.add_format({"num_format": "yyyy-mm-dd"})
    at = 0
    if title:
        ws.merge_range(0, 0, 0, len(cols) + 1, title)  # wider than the header, as titles often are
        at = 1
    ws.write_row(at, 0, cols)
    for r, row in enumerate(rows, start=at + 1):
        for c, name in enumerate(cols):
            v = row.get(name)
            if v is None or v == "":
                continue
            if typed and isinstance(v, str) and len(v) == 10 and v[4] == "-" and v[7] == "-" and v[:4].isdigit():
                ws.write_datetime(r, c, datetime.strptime(v, "%Y-%m-%d"), dated)  # noqa: DTZ007 - a calendar date
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, str(v))
    book.close()
    return path


def export_rows(
    mapping_id: str, rows: list[dict[str, Any]], dropped: list[str] | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    """(headers, rows) of `rows` as the department's export that the catalog's mapping reads."""
    from xinyong.demo.exports import ExportLayout
    from xinyong.domain.catalog import load_catalog

    layout = ExportLayout(load_catalog().mappings[mapping_id], columns_for(rows), dropped)
    return layout.headers, [layout.row(r) for r in rows]


def department_rows(path: Path, today: date = date(2026, 11, 1)) -> Iterable[tuple[int, dict[str, Any]]]:
    """Each row of a department file as ingestion reads it: in the file's encoding, below its
    title rows, through its source's header mapping (`(line, row)`, unreadable lines left out)."""
    import hashlib

    from xinyong.domain.catalog import load_catalog
    from xinyong.domain.identifiers import IdentifierVault
    from xinyong.domain.records import RowValidator
    from xinyong.ingest.readers import file_format, read_chunks

    validator = RowValidator(load_catalog(), path.name.split(".", 1)[0], IdentifierVault(b"k" * 32), today)
    for chunk in read_chunks(path, file_format(path), validator, 10_000, hashlib.sha256()):
        for i, line in enumerate(chunk.lines):
            yield line, chunk.row(i)


TENDER = {"contexts": ["procurement.tender"]}  # a consumer key's scope: it checks in procurement tenders


@contextmanager
def write_conn(engine: Engine, *, dated: bool = True) -> Iterator[Connection]:
    """A unit of work's connection, for a test that writes rows by hand."""
    with UnitOfWork.writing(engine, dated=dated) as uow:
        yield uow.conn


def stored(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """The result of `xinyong ingest`, after asserting it stored its files: exit 0, or 3 when it
    rejected some rows (the files are stored; the reject reports name the rows)."""
    assert result.returncode in (0, 3), f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result
