"""Least data: after ingesting the demo city, no raw resident ID number is anywhere in the store.

Scans the bytes of the SQLite database and its write-ahead log, and a full `pg_dump` of the
PostgreSQL schema, for every resident number that appears in the department files (valid or
mistyped). As a control, organisation codes, which are public and stored in plain, must be found:
the scan can see identifiers when they are there. The open data published from that store, and
credit reports issued from it (JSON, HTML, and the text and attachment of a PDF), are scanned too,
as are the store's rows of those reports and publications.
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


def reports_and_open_data(engine, catalog, tmp_path: Path) -> bytes:
    """Publish the open data and issue reports (an organisation's public one in every format, a
    resident's own one): the bytes a reader of them gets, PDF text and attachment included."""
    import io

    import pypdf
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlalchemy import select

    from xinyong.reports.issue import issue_report
    from xinyong.reports.publish import publish
    from xinyong.store.tables import subjects

    key = Ed25519PrivateKey.generate()
    out = tmp_path / "open"
    publish(engine, catalog, key, out, actor="cli:test")
    blob = b"".join(p.read_bytes() for p in sorted(out.iterdir()))
    with engine.connect() as conn:
        org = conn.scalar(select(subjects.c.id).where(subjects.c.kind == "organisation").order_by(subjects.c.id))
        person = conn.scalar(select(subjects.c.id).where(subjects.c.kind == "person").order_by(subjects.c.id))
    for subject, public in ((org, True), (person, False)):
        for fmt in ("json", "html", "pdf"):
            issued = issue_report(
                engine,
                catalog,
                key,
                subject_id=subject,
                requester="cli:test",
                by_subject=not public,
                public=public,
                fmt=fmt,
            )
            blob += issued.content + issued.signed_json
            if fmt == "pdf":
                reader = pypdf.PdfReader(io.BytesIO(issued.content))
                blob += "".join(page.extract_text() for page in reader.pages).encode()
    return blob


def test_no_raw_resident_number_in_the_store(engine, db_url, catalog, vault, city, tmp_path):
    for path, source in plan_directory(city, catalog):
        ingest_file(engine, catalog, vault, path, source=source, report_dir=tmp_path / "rejects", helper_min_bytes=None)
    numbers = submitted_numbers(city)
    residents, companies = numbers["cn.ric"], numbers["cn.uscc"]
    assert len(residents) > 500 and len(companies) > 200

    handed_out = reports_and_open_data(engine, catalog, tmp_path)
    assert any(c.encode() in handed_out for c in companies), "control: the reports and open data name companies"
    assert [n for n in residents if n.encode() in handed_out or n.upper().encode() in handed_out] == []
    blob = store_bytes(engine, db_url, tmp_path)
    assert any(c.encode() in blob for c in companies), "control: public organisation codes are stored in plain"
    leaked = [n for n in residents if n.encode() in blob or n.upper().encode() in blob]
    assert leaked == []
    # The masks are there instead: region code and last four characters only.
    some = next(iter(sorted(residents)))
    assert f"{some[:6]}********{some[-4:]}".encode() in blob


def test_no_raw_resident_number_on_any_page_of_the_portal(engine, db_url, catalog, vault, city, tmp_path):
    """The pages a person would open (search, public pages, their own file, the reviewers' and the
    administrators' pages) show no resident number the departments sent, only masks."""
    from datetime import UTC, datetime, timedelta
    from urllib.parse import quote

    import httpx
    from sqlalchemy import select

    from portal_server import serving
    from xinyong.services import lists as lists_service
    from xinyong.services.keys import create_key
    from xinyong.services.list_views import entries
    from xinyong.services.maintain import maintain
    from xinyong.store.tables import subjects

    for path, source in plan_directory(city, catalog):
        ingest_file(engine, catalog, vault, path, source=source, report_dir=tmp_path / "rejects", helper_min_bytes=None)
    start = datetime.combine(ANCHOR, datetime.min.time(), UTC)
    maintain(engine, catalog, start)
    proposed = entries(engine, state="proposed", day=ANCHOR, limit=10_000)
    persons = [e for e in proposed if e["subject_kind"] == "person"][:20]
    assert persons, "the city proposes residents for a list"
    for e in persons:
        lists_service.decide(engine, catalog, e["id"], approve_it=True, actor="reviewer:li", reason="unpaid", now=start)
    maintain(engine, catalog, start + timedelta(days=31))
    residents = submitted_numbers(city)["cn.ric"]
    with engine.connect() as conn:
        names = dict(
            conn.execute(
                select(subjects.c.id, subjects.c.display_name).where(
                    subjects.c.id.in_([e["subject_id"] for e in persons])
                )
            ).all()
        )
    keys = {role: create_key(engine, catalog, role=role, name=f"{role}-1")["key"] for role in ("reviewer", "admin")}
    pages: list[str] = []
    with serving(db_url, tmp_path / "portal") as (url, _), httpx.Client(base_url=url, timeout=60) as public:
        for e in persons:
            pages.append(public.get(f"/search?q={quote(names[e['subject_id']] or '')}").text)
            pages.append(public.get(f"/entities/{e['subject_id']}").text)
        assert any(f'/entities/{persons[0]["subject_id"]}"' in p for p in pages), "control: listed residents are shown"
        for role, paths in (
            ("subject", ["/me"]),
            ("reviewer", ["/review"] + [f"/review/entries/{e['id']}" for e in proposed[:10]]),
            ("admin", ["/admin", "/admin/plots/grades.svg"]),
        ):
            for e in persons[:5] if role == "subject" else [None]:
                key = (
                    create_key(
                        engine, catalog, role="subject", name=f"s-{e['subject_id']}", subject_id=e["subject_id"]
                    )["key"]
                    if e
                    else keys[role]
                )
                with httpx.Client(base_url=url, timeout=60) as c:
                    form = c.get("/signin").text
                    token = form.split('name="csrf" value="')[1].split('"')[0]
                    assert c.post("/signin", data={"token": key, "csrf": token}).status_code == 303
                    pages += [c.get(p).text for p in paths]
    blob = "\n".join(pages)
    assert "********" in blob, "control: masks are shown"
    leaked = [n for n in residents if n in blob or n.upper() in blob]
    assert leaked == []
