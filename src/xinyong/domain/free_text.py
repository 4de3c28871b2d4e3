"""Free text holds no identifier: purposes, grounds and reasons are stored, audited, signed into
certificates and shown to other parties, where a resident number would escape its keyed hash.

A text is refused when, once NFKC-normalised (full-width digits and letters become ASCII ones)
and with the separators people type inside numbers removed, any run of 18 characters is a
checksum-valid resident identity number or unified social credit code. The refusal names the
field and the kind of number, never the number.
"""

from __future__ import annotations

import re
import unicodedata

from stdnum.cn import ric, uscc

from xinyong.domain.errors import InvalidInput

_SEPARATORS = re.compile(r"[\s\-_.·/\\]+")
_RUN = re.compile(r"[0-9A-Z]{18,}")
WIDTH = 18


def _candidates(text: str) -> list[str]:
    flat = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()
    found = []
    for run in _RUN.findall(flat):
        found += [run[i : i + WIDTH] for i in range(len(run) - WIDTH + 1)]
    return found


def identifier_in(text: str) -> str | None:
    """The kind of identifier `text` holds ("a resident identity number", "a unified social
    credit code"), or None."""
    for chunk in _candidates(text):
        if chunk[:17].isdigit() and ric.is_valid(chunk):
            return "a resident identity number"
        if uscc.is_valid(chunk):
            return "a unified social credit code"
    return None


def no_identifier(text: str, field: str) -> str:
    """`text`, unless it holds an identifier: then refuse, naming `field`."""
    kind = identifier_in(text)
    if kind is not None:
        raise InvalidInput(
            f"{field}: the text holds {kind}; write no identifier in free text (the subject is named by the "
            "request itself, and this text is stored, audited and shown to others)"
        )
    return text


def no_control(text: str, field: str, *, lines: bool = False) -> str:
    """`text`, unless it holds a control character (an escape, a NUL, a bidirectional override;
    a line break or a tab too, unless `lines`): then refuse, naming `field` and where. Such text
    is shown on pages, in notices and in terminals, and signed into certificates, where a control
    character breaks the layout, or reorders or hides what follows it: a right-to-left override
    makes "paid 2026-01-05" read otherwise to a reviewer than it is stored."""
    allowed = _LINES if lines else frozenset()
    for i, ch in enumerate(text):
        if (unicodedata.category(ch) == "Cc" and ch not in allowed) or ch in _BIDI:
            how = "write plain text (line breaks and tabs are fine)" if lines else "write it on one line of plain text"
            where = f"a control character (U+{ord(ch):04X}) at position {i + 1}"
            raise InvalidInput(f"{field}: the text holds {where}; {how}")
    return text


def plain_free_text(text: str, field: str, *, lines: bool = False) -> str:
    """`text`, unless it holds a control character (`no_control`) or an identifier
    (`no_identifier`): what every free text a party writes must pass."""
    return no_identifier(no_control(text, field, lines=lines), field)


_LINES = frozenset("\n\r\t")  # what a text typed into a form's text area holds besides characters


# Bidirectional embeddings, overrides and isolates: invisible, they reorder what a reader sees.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
