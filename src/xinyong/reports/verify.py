"""Verify a report offline with the platform's public key: a PDF, a JSON or an HTML report.

A PDF passes only when all of these hold: its PAdES signature is intact, valid and covers the
whole file; the JSON attached to it carries a valid Ed25519 signature of the platform; that JSON
names the key that signed the PDF; each page's footer carries the report's code and its own
page number; and the text of the pages, in order, is exactly the signed lines. So an altered
byte, a page swapped, removed or added, or an edited attachment each fail, and say which.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from xinyong.domain.certificates import CertificateInvalid, verify
from xinyong.domain.errors import InvalidInput
from xinyong.reports.pdf import ATTACHMENT
from xinyong.reports.signer import pdf_signer_of, spki_sha256

REPORT_TYPE = "xinyong.credit_report"
MAX_BYTES = 64 << 20


class ReportInvalid(CertificateInvalid):
    title = "Report invalid"


@dataclass(frozen=True)
class VerifiedReport:
    kind: str  # pdf | json | html
    payload: dict[str, Any]
    key_id: str


def _signed(data: bytes, keys: dict[str, Ed25519PublicKey], what: str) -> tuple[dict[str, Any], str]:
    try:
        v = verify(data, keys)
    except CertificateInvalid as exc:
        raise ReportInvalid(f"{what}: {exc}") from None
    if v.payload.get("type") != REPORT_TYPE or not isinstance(v.payload.get("lines"), list):
        raise ReportInvalid(f"{what}: a signed document of the platform, but not a credit report")
    return v.payload, v.key_id


def _squash(text: str) -> str:
    return "".join(text.split())


def _same_text(shown: str, signed: str, where: str) -> None:
    if shown == signed:
        return
    at = next((i for i, (a, b) in enumerate(zip(shown, signed, strict=False)) if a != b), min(len(shown), len(signed)))
    raise ReportInvalid(
        f"{where} differs from the signed report at character {at}: it shows "
        f"'{shown[max(0, at - 20) : at + 20]}' where the report says '{signed[max(0, at - 20) : at + 20]}'"
    )


def _pdf(data: bytes, keys: dict[str, Ed25519PublicKey]) -> VerifiedReport:
    import pypdf

    try:
        cert = pdf_signer_of(data)
    except InvalidInput as exc:
        raise ReportInvalid(str(exc)) from None
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        attached = reader.attachments.get(ATTACHMENT, [])
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on a hostile file
        raise ReportInvalid(f"the PDF cannot be read: {exc}") from None
    if len(attached) != 1:
        raise ReportInvalid(f"the PDF carries {len(attached)} attachments named {ATTACHMENT}; a report carries one")
    payload, key_id = _signed(attached[0], keys, f"the attached {ATTACHMENT}")
    if payload.get("pdf_signer", {}).get("spki_sha256") != spki_sha256(cert):
        raise ReportInvalid("the PDF was signed by a key that its signed report does not name")
    template = str(payload["footer"])
    body = []
    for n, text in enumerate(pages, 1):
        foot = _squash(template.format(code=payload["code"], page=n, pages=len(pages)))
        squashed = _squash(text)
        if squashed.count(foot) != 1:
            raise ReportInvalid(
                f"page {n} does not carry the footer of page {n} of {len(pages)} with code {payload['code']}: "
                "pages were swapped, removed or added"
            )
        body.append(squashed.replace(foot, ""))
    _same_text("".join(body), _squash("".join(payload["lines"])), "the text of the PDF")
    return VerifiedReport("pdf", payload, key_id)


def _html(data: bytes, keys: dict[str, Ed25519PublicKey]) -> VerifiedReport:
    from xinyong.reports.html import extract

    try:
        signed, shown = extract(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReportInvalid(f"not a report page: {exc}") from None
    payload, key_id = _signed(signed, keys, "the page's embedded report")
    if len(shown) != len(payload["lines"]):
        raise ReportInvalid(f"the page shows {len(shown)} lines; the signed report has {len(payload['lines'])}")
    for n, (a, b) in enumerate(zip(shown, payload["lines"], strict=True), 1):
        _same_text(a, str(b), f"line {n} of the page")
    return VerifiedReport("html", payload, key_id)


def verify_report(data: bytes, keys: dict[str, Ed25519PublicKey]) -> VerifiedReport:
    """Verify a report file's bytes against the platform's public keys.

    Raises:
        ReportInvalid: saying what does not hold.
    """
    if len(data) > MAX_BYTES:
        raise ReportInvalid(f"{len(data)} bytes: larger than any report ({MAX_BYTES} bytes at most)")
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF-"):
        return _pdf(data, keys)
    if head.startswith(b"{"):
        payload, key_id = _signed(data, keys, "the JSON report")
        return VerifiedReport("json", payload, key_id)
    if head[:15].lower().startswith(b"<!doctype html"):
        return _html(data, keys)
    raise ReportInvalid("not a report: expected a PDF, a JSON report or a report page (HTML)")
