"""The report as one HTML page: its signed lines, the QR code of its verification address, and
the signed JSON (base64) for a verifier to take out; made for the portal's pages and for a browser.

The page is not signed itself (HTML has no signature a browser shows); `xinyong report verify`
checks its embedded JSON and that the lines shown are exactly the signed ones.
"""

from __future__ import annotations

import base64
from html import escape

from xinyong.reports.i18n import N_, tr

EMBED_ID = "xinyong-report"
LINE_CLASS = "xy-line"
_STYLE = (
    "body{font-family:'WenQuanYi Zen Hei','Noto Sans CJK SC',sans-serif;max-width:52rem;margin:2rem auto;"
    "line-height:1.5;padding:0 1rem}.title{font-size:1.4rem;font-weight:bold}.head{font-weight:bold;"
    "margin-top:1rem}.sub{font-weight:bold}.qr{float:right;margin-left:1rem}"
)


def render(styled: list[tuple[str, str]], *, lang: str, code: str, verify_url: str, signed_json: bytes) -> bytes:
    import segno

    qr = segno.make(verify_url, error="m").svg_inline(scale=3, title=tr(lang, N_("Verify this report")))
    body = "\n".join(f'<p class="{LINE_CLASS} {style}">{escape(text, quote=False)}</p>' for style, text in styled)
    page = (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}">\n<head><meta charset="utf-8">'
        f"<title>{escape(tr(lang, N_('Special credit report')))} {escape(code)}</title>"
        f"<style>{_STYLE}</style></head>\n<body>\n"
        f'<div class="qr"><a href="{escape(verify_url)}">{qr}</a></div>\n{body}\n'
        f'<script type="application/octet-stream" id="{EMBED_ID}">'
        f"{base64.b64encode(signed_json).decode()}</script>\n</body>\n</html>\n"
    )
    return page.encode()


def extract(page: bytes) -> tuple[bytes, list[str]]:
    """(the embedded signed JSON, the text of each line shown), from a report page.

    Raises:
        ValueError: the page holds no embedded report.
    """
    from html.parser import HTMLParser

    class Reader(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.lines: list[str] = []
            self.embedded: list[str] = []
            self._in: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "p" and LINE_CLASS in (a.get("class") or "").split():
                self._in = "line"
                self.lines.append("")
            elif tag == "script" and a.get("id") == EMBED_ID:
                self._in = "embed"
                self.embedded.append("")

        def handle_endtag(self, tag: str) -> None:
            if tag in ("p", "script"):
                self._in = None

        def handle_data(self, data: str) -> None:
            if self._in == "line":
                self.lines[-1] += data
            elif self._in == "embed":
                self.embedded[-1] += data

    reader = Reader()
    reader.feed(page.decode("utf-8"))
    if len(reader.embedded) != 1:
        raise ValueError(f"the page embeds {len(reader.embedded)} signed reports; a report page embeds exactly one")
    return base64.b64decode(reader.embedded[0].strip(), validate=True), reader.lines
