"""What reading a file did besides its rows, for the batch summary; and report cells a spreadsheet shows as text.

Reading a department's export rewrites some of it: the encoding it was decoded from, the header row
found below a title, the mapping that renamed its columns, the columns it dropped and the values it
normalised. None of that may happen unseen, so the readers and the validator count it in a small
dictionary per chunk, and the batch sums the chunks' dictionaries into its summary:

    {"encoding": "gb18030 (detected)", "header_line": 2, "mapping": "env.case_export",
     "dropped": {"违法事实": 120}, "normalised": {"full_width": 31, "date_forms": 240}}
"""

from __future__ import annotations

from typing import Any

Reading = dict[str, Any]
SUMMED = ("dropped", "normalised")  # per-name counts, added up over the chunks
# A cell that starts with one of these is a formula to a spreadsheet (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def merge_reading(into: Reading, part: Reading) -> None:
    """Add a chunk's share (counts) and facts (encoding, mapping...) to the batch's summary."""
    for key, value in part.items():
        if key in SUMMED:
            counts = into.setdefault(key, {})
            for name, n in value.items():
                counts[name] = counts.get(name, 0) + n
        else:
            into[key] = value


def add_counts(reading: Reading, key: str, counts: dict[str, int]) -> None:
    """Add per-name counts (`key` is "dropped" or "normalised") to one chunk's dictionary."""
    if counts:
        merge_reading(reading, {key: {k: n for k, n in counts.items() if n}})


def spreadsheet_safe(cell: object) -> object:
    """A report cell that a spreadsheet shows as the text it is, never runs as a formula.

    Reject reports quote what departments sent, and a spreadsheet runs a cell starting with =, +,
    -, @, a tab or a carriage return as a formula (a reference like =HYPERLINK(...) leaks data or
    runs a command). Such a cell gets a leading apostrophe, which spreadsheets show as text; numbers
    (line numbers) are left as they are.
    """
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell
