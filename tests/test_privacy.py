"""Least data: after ingesting the demo city, no raw resident ID number is anywhere in the store.

Scans the bytes of the SQLite database and its write-ahead log, and a full `pg_dump` of the
PostgreSQL schema, for every resident number that appears in the department files (valid or
mistyped). As a control, organisation codes, which are public and stored in plain, must be found:
the scan can see identifiers when they are there.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from xinyong.demo.city import generate_city
from xinyong.domain.catalog import load_catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.domain.records import RowValidator
from xinyong.ingest.pipeline import ingest_file, plan_directory
from xinyong.ingest.readers import file_format, read_chunks

ANCHOR = date(2026, 11, 1)


def submitted_numbers(departments: Path) -> dict[str, set[str]]:
    """Every id_number in the department files, by scheme: read as ingestion reads them (GB18030
    under Chinese headers, workbooks), each as typed and with full-width digits folded."""
    found: dict[str, set[str]] = {}
    catalog, vault = load_catalog(), IdentifierVault(b"k" * 32)
    for path in departments.iterdir():
        validator = RowValidator(catalog, path.name.split(".", 1)[0], vault, ANCHOR)
        for chunk in read_chunks(path, file_format(path), validator, 10_000, hashlib.sha256()):
            for i in range(len(chunk.lines)):
                row = chunk.row(i)
                number = row.get("id_number")
                if number:
                    numbers = found.setdefault(row.get("id_scheme") or "", set())
                    numbers.update({str(number), unicodedata.normalize("NFKC", str(number))})
    return found


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("city")
    generate_city(out, 1500, 300, 11, ANCHOR)
    return out / "departments"


def store_bytes(engine, db_url: str, tmp_path: Path) -> bytes:
    if engine.dialect.name == "sqlite":
        path = Path(make_url(db_url).database or "")
        wal = path.with_name(path.name + "-wal")
        assert wal.exists(), "the scan must cover the write-ahead log too"
        return path.read_bytes() + wal.read_bytes()
    url = make_url(db_url)
    schema = url.query["options"].split("search_path=")[1]
    dump = tmp_path / "dump.sql"
    subprocess.run(
        [
            shutil.which("pg_dump") or "pg_dump",
            "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres",
            "-n", schema, "-f", str(dump), url.database or "test",
        ],
        check=True,
    )  # fmt: skip
    return dump.read_bytes()


def test_no_raw_resident_number_in_the_store(engine, db_url, catalog, vault, city, tmp_path):
    for path, source in plan_directory(city, catalog):
        ingest_file(engine, catalog, vault, path, source=source, report_dir=tmp_path / "rejects", helper_min_bytes=None)
    numbers = submitted_numbers(city)
    residents, companies = numbers["cn.ric"], numbers["cn.uscc"]
    assert len(residents) > 500 and len(companies) > 200

    blob = store_bytes(engine, db_url, tmp_path)
    assert any(c.encode() in blob for c in companies), "control: public organisation codes are stored in plain"
    leaked = [n for n in residents if n.encode() in blob or n.upper().encode() in blob]
    assert leaked == []
    # The masks are there instead: region code and last four characters only.
    some = next(iter(sorted(residents)))
    assert f"{some[:6]}********{some[-4:]}".encode() in blob
