"""Credit reports: what they state, how they are signed, and that every kind of tampering fails.

- The PDF's text, extracted with pypdf, is the signed JSON's lines; the records, departments and
  reported periods of the JSON are in it.
- A department that never reported is said to have never reported, never to hold no record; the
  stretch of a period before a department's first batch is said to be unknown.
- Verification fails on an altered byte, on swapped pages (re-signed with the platform's own PDF
  key, so that only the text check can catch it), on an edited attached JSON (re-signed likewise),
  on a PDF signed by another key, and on an edited JSON or HTML report.
- A report is stored with its audit event; its code answers at the verification route; the
  subject's file lists who received reports about them.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pypdf
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from builders import make_ric
from report_world import NOW, World
from xinyong.domain.catalog import Catalog
from xinyong.domain.certificates import canonical, key_id, sign
from xinyong.domain.errors import InvalidInput, NotFound
from xinyong.domain.identifiers import IdentifierVault
from xinyong.reports.issue import issue_report, verify_code
from xinyong.reports.pdf import ATTACHMENT
from xinyong.reports.signer import report_signer, sign_pdf
from xinyong.reports.verify import ReportInvalid, verify_report
from xinyong.services.portal import my_file
from xinyong.store.tables import audit_events

KEY = Ed25519PrivateKey.generate()
KEYS = {key_id(KEY.public_key()): KEY.public_key()}


@pytest.fixture
def world(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> World:
    return World(engine, catalog, vault, tmp_path)


def issue(engine: Engine, catalog: Catalog, subject: int, **kw: object) -> object:
    args = {"requester": "consumer:bank", "by_subject": False, "public": True, **kw}
    return issue_report(engine, catalog, KEY, subject_id=subject, **args)  # type: ignore[arg-type]


def squash(text: str) -> str:
    return "".join(text.split())


def pdf_text(data: bytes) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages]


def test_the_pdf_text_is_the_signed_json(engine: Engine, catalog: Catalog, world: World) -> None:
    for lang in ("zh", "en"):
        issued = issue(engine, catalog, world.company, fmt="pdf", lang=lang, purpose="procurement.tender")
        payload = verify_report(issued.content, KEYS).payload
        assert payload == verify_report(issued.signed_json, KEYS).payload  # the attachment is the JSON
        pages = pdf_text(issued.content)
        text = squash("".join(pages))
        for n in range(1, len(pages) + 1):  # each page's footer, which the JSON does not hold
            text = text.replace(squash(payload["footer"].format(code=payload["code"], page=n, pages=len(pages))), "")
        assert squash("".join(payload["lines"])) in text
        court = next(s for s in payload["sources"] if s["id"] == "court")
        [record] = court["records"]
        for value in (
            record["document_no"],
            record["decided_on"],
            court["reported"]["from"],
            payload["code"],
            "procurement.tender",
        ):
            assert squash(value) in text, value
        name = court["name_zh"] if lang == "zh" else court["name"]
        assert squash(name) in text
        assert payload["lists"] and payload["lists"][0]["list"] == "black.court_defaulters"
        assert payload["supervision"]["grade"] in ("A", "B", "C", "D")
        stored = verify_code(engine, issued.code)
        assert stored["json_sha256"] == hashlib.sha256(issued.signed_json).hexdigest()
        assert stored["pdf_sha256"] == hashlib.sha256(issued.content).hexdigest()
        assert stored["subject"].startswith("杭州某某有限公司")


def test_a_source_that_never_reported_is_never_said_to_hold_nothing(
    engine: Engine, catalog: Catalog, world: World
) -> None:
    first = (NOW - timedelta(days=400)).date()
    issued = issue(engine, catalog, world.company, fmt="json", lang="en", first=first)
    payload = verify_report(issued.content, KEYS).payload
    by_id = {s["id"]: s for s in payload["sources"]}
    tax = by_id["tax"]
    assert tax["reported"] is None and tax["covered"] is None and tax["records"] == []
    lines = payload["lines"]
    at = lines.index(next(line for line in lines if line.startswith("[") and "Municipal Taxation Bureau" in line))
    section = lines[
        at + 1 : next(i for i in range(at + 1, len(lines)) if lines[i].startswith("[") or lines[i] == "Lists")
    ]
    assert section == ["This department has never reported to the platform: this report states nothing about it."]
    assert not any("No disclosable record" in line for line in section)
    samr = by_id["samr"]  # reported, nothing about company 61 before its first batch is claimed
    assert samr["reported"]["from"] == (NOW - timedelta(days=99)).date().isoformat()
    assert samr["gaps"][0] == {"from": first.isoformat(), "to": (NOW - timedelta(days=100)).date().isoformat()}
    assert any(f"no data from this department for {first.isoformat()}" in line for line in lines)
    env = by_id["env"]
    assert env["reported"] is None


def test_a_department_that_reported_and_holds_nothing_says_so_for_its_period(
    engine: Engine, catalog: Catalog, world: World
) -> None:
    issued = issue(engine, catalog, world.stale, fmt="json", lang="en")
    payload = verify_report(issued.content, KEYS).payload
    samr = next(s for s in payload["sources"] if s["id"] == "samr")
    assert samr["records"] == []  # its one penalty is past its six-month publication period
    covered = samr["covered"]
    assert f"No disclosable record decided from {covered['from']} to {covered['to']}." in payload["lines"]


def _pages(data: bytes, order: list[int]) -> bytes:
    reader = pypdf.PdfReader(io.BytesIO(data))
    writer = pypdf.PdfWriter()
    for i in order:
        writer.add_page(reader.pages[i])
    for name, contents in reader.attachments.items():
        writer.add_attachment(name, contents[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_every_kind_of_tampering_fails(engine: Engine, catalog: Catalog, world: World) -> None:
    issued = issue(engine, catalog, world.busy, fmt="pdf", lang="zh")
    pdf = issued.content
    assert verify_report(pdf, KEYS).kind == "pdf"
    assert len(pdf_text(pdf)) >= 2, "the busy company's report runs over several pages"
    signer = report_signer(KEY)

    altered = bytearray(pdf)
    at = pdf.index(b"/Producer") + 12
    altered[at] ^= 0x01
    with pytest.raises(ReportInvalid, match=r"a byte of the signed PDF was changed|cannot be"):
        verify_report(bytes(altered), KEYS)

    swapped = _pages(pdf, [1, 0, *range(2, len(pdf_text(pdf)))])
    with pytest.raises(ReportInvalid, match="carries 0 signatures"):
        verify_report(swapped, KEYS)
    resigned = sign_pdf(swapped, signer, reason="swapped")  # signed with the platform's own PDF key
    with pytest.raises(ReportInvalid, match="pages were swapped, removed or added"):
        verify_report(resigned, KEYS)
    dropped = sign_pdf(_pages(pdf, list(range(1, len(pdf_text(pdf))))), signer, reason="dropped")
    with pytest.raises(ReportInvalid, match="pages were swapped, removed or added"):
        verify_report(dropped, KEYS)

    doc = json.loads(issued.signed_json)
    doc["payload"]["sources"] = [s for s in doc["payload"]["sources"] if s["id"] != "samr"]
    edited = canonical(doc) + b"\n"
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.add_attachment(ATTACHMENT, edited)
    buf = io.BytesIO()
    writer.write(buf)
    with pytest.raises(ReportInvalid, match=r"attached report\.json: the signature does not match"):
        verify_report(sign_pdf(buf.getvalue(), signer, reason="edited"), KEYS)

    stranger = report_signer(Ed25519PrivateKey.generate())  # a valid PDF signature by another key
    plain = _pages(pdf, list(range(len(pdf_text(pdf)))))
    with pytest.raises(ReportInvalid, match="signed by a key that its signed report does not name"):
        verify_report(sign_pdf(plain, stranger, reason="forged"), KEYS)
    assert verify_report(sign_pdf(plain, signer, reason="re-saved"), KEYS).kind == "pdf"  # control

    with pytest.raises(ReportInvalid, match="not a key of this platform"):
        verify_report(pdf, {key_id(k.public_key()): k.public_key() for k in [Ed25519PrivateKey.generate()]})


def test_json_and_html_reports_fail_when_edited(engine: Engine, catalog: Catalog, world: World) -> None:
    js = issue(engine, catalog, world.company, fmt="json").content
    assert verify_report(js, KEYS).kind == "json"
    with pytest.raises(ReportInvalid, match="a byte was added, removed or changed"):
        verify_report(js.replace(b'"issued_at":"', b'"issued_at": "', 1), KEYS)
    forged = sign(Ed25519PrivateKey.generate(), json.loads(js)["payload"])
    with pytest.raises(ReportInvalid, match="not a key of this platform"):
        verify_report(forged, KEYS)
    page = issue(engine, catalog, world.company, fmt="html", lang="en").content
    assert verify_report(page, KEYS).kind == "html"
    edited = page.replace(b"(black list): listed", b"(black list): removed", 1)
    assert edited != page
    with pytest.raises(ReportInvalid, match="differs from the signed report"):
        verify_report(edited, KEYS)
    for junk in (b"", b"%PDF-1.7 garbage", b"<!DOCTYPE html><p>nothing</p>", b"\x00" * 64, b'{"a": 1}'):
        with pytest.raises(ReportInvalid):
            verify_report(junk, KEYS)


def test_who_gets_which_report(engine: Engine, catalog: Catalog, world: World) -> None:
    with pytest.raises(NotFound, match="no public report"):
        issue(engine, catalog, world.person, fmt="json")  # a person's report is never public
    own = issue(
        engine, catalog, world.person, fmt="json", public=False, by_subject=True, requester="subject:resident-62"
    )
    payload = verify_report(own.content, KEYS).payload
    assert payload["subject"]["kind"] == "person" and payload["supervision"] is None
    assert all("*" in i["value"] for i in payload["subject"]["identifiers"])  # the identifier masked
    shown = json.dumps(payload, ensure_ascii=False)
    assert make_ric(62) not in shown and make_ric(62)[:14] not in shown  # neither the number nor its stem
    with pytest.raises(NotFound):
        issue(engine, catalog, 10**9, fmt="json")


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"purpose": "healthcare.services"}, "protected sector"),
        ({"purpose": "social.assistance"}, "principle 3"),
        ({"purpose": "loan'; DROP TABLE reports;--"}, "not a purpose of the catalog"),
        ({"first": date(2026, 1, 2), "last": date(2026, 1, 1)}, "after to"),
        ({"last": NOW.date() + timedelta(days=1)}, "in the future"),
        ({"first": date(1990, 1, 1)}, "more than 10 years"),
        ({"lang": "fr"}, "not a report language"),
        ({"fmt": "docx"}, "not a report format"),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_stored(
    engine: Engine, catalog: Catalog, bad: dict, message: str
) -> None:
    from xinyong.store.report_tables import reports

    with engine.begin() as conn:
        from xinyong.store.tables import subjects

        conn.execute(subjects.insert().values(id=5, kind="organisation", display_name="某公司", created_at=NOW))
    with pytest.raises(InvalidInput, match=message):
        issue(engine, catalog, 5, **{"fmt": "json", **bad})
    with engine.connect() as conn:
        assert conn.execute(select(reports)).first() is None
        assert conn.execute(select(audit_events)).first() is None


def test_issuing_is_audited_and_the_subject_sees_who_received_reports(
    engine: Engine, catalog: Catalog, world: World
) -> None:
    by_bank = issue(engine, catalog, world.company, fmt="json", requester="consumer:bank", purpose="finance.subsidy")
    issue(engine, catalog, world.company, fmt="json", requester="subject:company-61", by_subject=True, public=False)
    with engine.connect() as conn:
        events = conn.execute(
            select(audit_events.c.actor, audit_events.c.action, audit_events.c.target, audit_events.c.purpose).where(
                audit_events.c.action == "issue_report"
            )
        ).all()
    assert len(events) == 2
    assert events[0] == (
        "consumer:bank",
        "issue_report",
        f"report:{by_bank.code} subject:{world.company}",
        f"credit report {by_bank.code} for finance.subsidy",
    )
    received = my_file(engine, catalog, world.company)["reports_received_by_others"]
    assert [(r["code"], r["requester"], r["purpose"]) for r in received] == [
        (by_bank.code, "consumer:bank", "finance.subsidy")
    ]
    with pytest.raises(NotFound, match="no report was issued"):
        verify_code(engine, "AAAA-BBBB-CCCC-DDDD")
    with pytest.raises(InvalidInput, match="XXXX-XXXX"):
        verify_code(engine, "../../etc/passwd")


def test_report_messages_all_have_chinese_text() -> None:
    from babel.messages.extract import extract_from_dir

    from xinyong.reports.i18n import messages

    src = Path(__file__).resolve().parent.parent / "src" / "xinyong" / "reports"
    used = {m for _, _, m, _, _ in extract_from_dir(str(src), keywords={"N_": None}, method_map=[("**.py", "python")])}
    zh = messages("zh")
    assert used, "the extractor finds the marked messages"
    assert sorted(used - zh.keys()) == [], "messages without Chinese text"
    assert sorted(zh.keys() - used) == [], "translations of messages no longer used"
    for msgid in used:
        assert set(re.findall(r"\{\w+\}", msgid)) == set(re.findall(r"\{\w+\}", zh[msgid])), msgid


def test_hostile_names_print_as_signed(engine: Engine, catalog: Catalog) -> None:
    """A name with a bidirectional override and characters the font lacks: the PDF shows, and the
    report signs, the same text, so it verifies; the override never reaches the document."""
    with engine.begin() as conn:
        from xinyong.store.tables import subjects

        conn.execute(
            subjects.insert().values(id=7, kind="organisation", display_name="好\u202e公司😀𠀀", created_at=NOW)
        )
    issued = issue(engine, catalog, 7, fmt="pdf", lang="en")
    payload = verify_report(issued.content, KEYS).payload
    line = next(x for x in payload["lines"] if x.startswith("Subject:"))
    assert "\u202e" not in line and "好公司" in line
    assert payload["subject"]["name"] == "好\u202e公司😀𠀀"  # the data keeps what the store holds
    assert datetime.fromisoformat(payload["issued_at"]).tzinfo is UTC or payload["issued_at"].endswith("+00:00")


def test_a_period_reaching_back_past_what_the_platform_can_hold_is_refused() -> None:
    """A typing error such as to=0001-01-02 is a clear 4xx, never a crash counting months back."""
    from datetime import date

    from xinyong.domain.errors import InvalidInput
    from xinyong.reports.content import Period

    for first, last in ((None, date(1, 1, 2)), (date(1, 1, 1), date(2026, 1, 1)), (None, date(1989, 12, 31))):
        with pytest.raises(InvalidInput, match="holds nothing before 1990-01-01"):
            Period.of(first, last, date(2026, 12, 7))
    assert Period.of(None, date(1990, 1, 1), date(2026, 12, 7)).last == date(1990, 1, 1)
