"""The report as a PDF: its signed lines in a CJK font, the signed JSON attached, and on every
page the verification code and a QR code of the verification address (fpdf2, segno).

The font is a Debian package's CJK font (`fonts.py`), reduced to the common characters when the
report's text allows. The PDF's text
is exactly the payload's lines, each followed by a line break, then each page's footer; a verifier
extracts the text and compares (`verify.py`).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from datetime import datetime

from xinyong.domain.errors import ConfigurationError
from xinyong.reports.fonts import cmap, face_for
from xinyong.reports.i18n import N_, tr

ATTACHMENT = "report.json"
FOOTER = N_("Verification code {code}; page {page} of {pages}")
SIZES = {"title": 15.0, "head": 11.5, "sub": 10.0, "body": 9.0}
QR_MM = 22.0


def printable(text: str) -> str:
    """`text` as the PDF can show it: format and control characters (bidirectional overrides
    among them, which could make a line read otherwise than it is) dropped, and characters the
    font has no glyph for replaced by '?', so the text extracted from the PDF is the text signed."""
    kept = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Co", "Cs"))
    try:
        glyphs = cmap()
    except ConfigurationError:
        return kept  # no PDF can be made here either; the JSON keeps the characters
    return "".join(c if ord(c) in glyphs or c == " " else "?" for c in kept)


def footer(lang: str, code: str, page: int, pages: int | str) -> str:
    return tr(lang, FOOTER, code=code, page=page, pages=pages)


def render(
    styled: Sequence[tuple[str, str]], *, lang: str, code: str, verify_url: str, attachment: bytes, issued_at: datetime
) -> bytes:
    """The unsigned PDF of the report's lines (style, text)."""
    import segno
    from fpdf import FPDF

    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    logging.getLogger("fpdf").setLevel(logging.ERROR)
    qr = segno.make(verify_url, error="m")
    matrix = [list(row) for row in qr.matrix]

    class Report(FPDF):
        def footer(self) -> None:
            self.set_y(-QR_MM - 8)
            self.set_font("cjk", size=8)
            self.multi_cell(
                self.epw - QR_MM - 4, 4, footer(lang, code, self.page_no(), self.pages_count_alias()), new_x="LMARGIN"
            )
            cell = QR_MM / len(matrix)
            x0, y0 = self.w - self.r_margin - QR_MM, self.h - QR_MM - 8
            for r, row in enumerate(matrix):
                for c, dark in enumerate(row):
                    if dark:
                        self.rect(x0 + c * cell, y0 + r * cell, cell, cell, style="F")

        def pages_count_alias(self) -> str:
            return str(self.str_alias_nb_pages)

    pdf = Report(format="A4")
    pdf.set_creation_date(issued_at)
    pdf.set_title(tr(lang, N_("Special credit report")) + f" {code}")
    pdf.set_lang("zh-CN" if lang == "zh" else "en")
    pdf.set_margins(16, 16, 16)
    pdf.set_auto_page_break(True, margin=QR_MM + 12)
    path, face = face_for("".join(text for _, text in styled) + footer(lang, code, 0, 0) + code)
    pdf.add_font("cjk", fname=path, collection_font_number=face)
    pdf.add_page()
    for style, text in styled:
        size = SIZES[style]
        pdf.set_font("cjk", size=size)
        if style in ("title", "head"):
            pdf.ln(2)
        pdf.multi_cell(0, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.embed_file(
        bytes=attachment, basename=ATTACHMENT, desc="signed report (JSON, Ed25519)", modification_date=issued_at
    )
    return bytes(pdf.output())
