"""Issue a credit report: gather, write its lines, sign the JSON, make the PDF or page, store, audit.

Who may have which report is decided by the caller's entrypoint and passed in as `public` and
`by_subject`: the public report of an organisation goes to anyone; a person's report only ever
to that person (`public=False, by_subject=True`), or to the credit office's desk at the command
line. Every report is stored (code, subject, requester, purpose, period, hashes, data version)
with its audit event before it is handed out.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from xinyong.domain.catalog import Catalog
from xinyong.domain.certificates import sign
from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import InvalidInput, NotFound
from xinyong.reports import text
from xinyong.reports.audit import store_report
from xinyong.reports.content import Period, gather, mask_name, purpose_of
from xinyong.reports.i18n import N_, check_lang, tr
from xinyong.reports.pdf import FOOTER, printable
from xinyong.reports.signer import report_signer
from xinyong.store import report_repo as repo

Format = Literal["json", "pdf", "html"]
FORMATS: tuple[Format, ...] = ("json", "pdf", "html")
MEDIA_TYPES = {"json": "application/json", "pdf": "application/pdf", "html": "text/html; charset=utf-8"}
CODE = re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$")
REPORT_TYPE = "xinyong.credit_report"


@dataclass(frozen=True)
class Issued:
    code: str
    format: Format
    content: bytes  # what is handed out
    signed_json: bytes

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


def new_code() -> str:
    """80 random bits in four groups of four base32 characters: typed from paper, never guessed."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode()
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def check_code(code: str) -> str:
    code = code.strip().upper()
    if not CODE.match(code):
        raise InvalidInput("code: a verification code reads XXXX-XXXX-XXXX-XXXX (letters A-Z and digits 2-7)")
    return code


def _masked_subject(payload: dict[str, Any]) -> str:
    s = payload["subject"]
    name = s["name"] if s["kind"] == "organisation" else mask_name(s["name"])
    ids = ", ".join(f"{i['scheme']} {i['value']}" for i in s["identifiers"])
    return f"{name} ({ids})" if ids else name


def _document(
    fmt: str,
    payload: dict[str, Any],
    signed_json: bytes,
    platform_key: Ed25519PrivateKey,
    verify_url: str,
    now: datetime,
) -> tuple[bytes, str | None]:
    """The file handed out, and the SHA-256 of the PDF when it is one."""
    lang, code = payload["lang"], payload["code"]
    if fmt == "pdf":
        from xinyong.reports.pdf import render
        from xinyong.reports.signer import sign_pdf

        styled = text.styled(lang, payload["lines"])
        unsigned = render(styled, lang=lang, code=code, verify_url=verify_url, attachment=signed_json, issued_at=now)
        pdf = sign_pdf(unsigned, report_signer(platform_key), reason=tr(lang, N_("Special credit report")))
        return pdf, hashlib.sha256(pdf).hexdigest()
    if fmt == "html":
        from xinyong.reports.html import render as render_html

        styled = text.styled(lang, payload["lines"])
        return render_html(styled, lang=lang, code=code, verify_url=verify_url, signed_json=signed_json), None
    return signed_json, None


def issue_report(
    engine: Engine,
    catalog: Catalog,
    platform_key: Ed25519PrivateKey,
    *,
    subject_id: int,
    requester: str,
    by_subject: bool,
    public: bool,
    first: date | None = None,
    last: date | None = None,
    purpose: str | None = None,
    lang: str = "zh",
    fmt: str = "pdf",
    base_url: str = "http://127.0.0.1:8000",
    now: datetime | None = None,
) -> Issued:
    """Issue, store and audit one report; the file to hand out.

    Raises:
        InvalidInput: a bad period, purpose, language or format, naming the field.
        NotFound: no such subject, or no public report of it (a person).
        AuditFailed, Busy: the report could not be stored with its event; nothing is handed out.
    """
    if fmt not in FORMATS:
        raise InvalidInput(f"format: '{fmt[:20]}' is not a report format; use one of {', '.join(FORMATS)}")
    now = CLOCK.as_of(now, "now").astimezone(UTC)  # the day the report is made as of
    issued = CLOCK.now()  # when it is issued: the clock's, never a caller's moment
    language = check_lang(lang)
    period = Period.of(first, last, now.date())
    stated = purpose_of(catalog, purpose)
    data = gather(engine, catalog, subject_id, period, public=public, today=now.date())
    code = new_code()
    signer = report_signer(platform_key)
    payload: dict[str, Any] = {
        "type": REPORT_TYPE,
        "format_version": 1,
        "code": code,
        "issued_at": issued.isoformat(),
        "lang": language,
        "requested_by": {"by_subject": by_subject, "requester": "" if by_subject else requester},
        "purpose": stated,
        **data,
        "verify_path": f"/v1/reports/{code}/verify",
        "pdf_signer": {"spki_sha256": signer.spki_sha256},
        "footer": tr(language, FOOTER),
    }
    payload["lines"] = [printable(line) for line in text.lines(payload)]
    signed_json = sign(platform_key, payload)
    verify_url = base_url.rstrip("/") + payload["verify_path"]
    content, pdf_hash = _document(fmt, payload, signed_json, platform_key, verify_url, issued)
    row = {
        "code": code,
        "subject_id": subject_id,
        "subject_kind": data["subject"]["kind"],
        "subject_masked": _masked_subject(payload)[:300],
        "requester": requester[:100],
        "by_subject": int(by_subject),
        "purpose": stated["code"] if stated else None,
        "period_from": period.first,
        "period_to": period.last,
        "lang": language,
        "format": fmt,
        "issued_at": issued,
        "json_sha256": hashlib.sha256(signed_json).hexdigest(),
        "pdf_sha256": pdf_hash,
        "catalog_version": catalog.version,
        "known_at": datetime.fromisoformat(data["data_version"]["known_at"]),
    }
    store_report(engine, row, actor=requester, purpose=f"credit report {code}" + (f" for {purpose}" if purpose else ""))
    return Issued(code, fmt, content, signed_json)


def verify_code(engine: Engine, code: str) -> dict[str, Any]:
    """Whether a code was issued: for which subject (masked), when, for what period, with which
    hashes and data version. Nothing else about the subject or the requester."""
    code = check_code(code)
    with engine.connect() as conn:
        row = repo.report_row(conn, code)
    if row is None:
        raise NotFound(f"no report was issued with code {code}: the document is not a report of this platform")
    return {
        "code": row.code,
        "issued": True,
        "issued_at": row.issued_at,
        "subject": row.subject_masked,
        "subject_kind": row.subject_kind,
        "period": {"from": row.period_from, "to": row.period_to},
        "purpose": row.purpose,
        "lang": row.lang,
        "format": row.format,
        "json_sha256": row.json_sha256,
        "pdf_sha256": row.pdf_sha256,
        "data_version": {"catalog_version": row.catalog_version, "known_at": row.known_at},
    }


def reports_about(engine: Engine, subject_id: int) -> list[dict[str, Any]]:
    """Who received reports about a subject at their own request (not the subject's own)."""
    return repo.reports_about(engine, subject_id)
