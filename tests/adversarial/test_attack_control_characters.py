"""Free text under attack: no control character rides in grounds, reasons, evidence or a reference.

Free text is shown to other parties (reviewers' pages, notices, the subject's file, terminals) and a
check's reference is signed into its certificate. A right-to-left override makes a reviewer read
"paid 2026-01-05" otherwise than it is stored; an escape sequence rewrites a terminal; a NUL cuts
a string short in other programs. Each is refused with the field and the character's place, and
nothing is stored. Text typed into a form's text area keeps its line breaks and tabs where the
field is prose (grounds, reasons); a reference or an evidence number is one line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from operators import TENDER, Api, api_fixture, ingest_rows, person_row, subject_of  # noqa: F401 - the api fixture
from sqlalchemy import func, select

from builders import make_uscc
from xinyong.domain.errors import InvalidInput
from xinyong.domain.free_text import no_control
from xinyong.store.tables import checks, objection_decisions, objections, repairs

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
ONE_LINE = "write it on one line of plain text"
PROSE = "write plain text (line breaks and tabs are fine)"


@pytest.mark.parametrize(
    ("text", "lines", "refused"),
    [
        ("paid in full", False, None),
        ("paid in full.\nReceipt 12.\tBank copy.", True, None),
        ("paid\r\nin full", True, None),
        ("paid\nin full", False, "U+000A at 5"),
        ("paid\x00 in full", True, "U+0000 at 5"),
        ("paid\x1b[2J", True, "U+001B at 5"),
        ("paid \x85", True, "U+0085 at 6"),
        (f"paid {RLO}50-10-6202", True, "U+202E at 6"),
        ("paid \u2067x\u2069", True, "U+2067 at 6"),
        ("已全额履行", True, None),
        ("paid \u200d in full", True, None),  # a joiner is no control: some scripts need it
    ],
)
def test_control_characters_are_found_and_placed(text: str, lines: bool, refused: str | None) -> None:
    if refused is None:
        assert no_control(text, "grounds", lines=lines) == text
        return
    code, at = refused.split(" at ")
    with pytest.raises(InvalidInput) as err:
        no_control(text, "grounds", lines=lines)
    how = PROSE if lines else ONE_LINE
    assert str(err.value) == f"grounds: the text holds a control character ({code}) at position {at}; {how}"


def _count(api: Api, table) -> int:  # type: ignore[no-untyped-def]
    with api.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def test_grounds_keep_their_lines_and_refuse_an_override(api: Api, tmp_path: Path) -> None:
    ingest_rows(api.engine, api.catalog, tmp_path, [person_row("C-1", 41)])
    me = api.key("subject", "resident-41", subject_id=subject_of(api.engine, "C-1"))
    bad = f"paid in full on {RLO}50-10-6202"
    r = api.call("POST", "/v1/me/objections", me, json={"target": "record:court/C-1", "grounds": bad})
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == f"grounds: the text holds a control character (U+202E) at position 17; {PROSE}"
    assert _count(api, objections) == 0
    good = "I paid in full on 2026-01-05.\nThe court's receipt is attached."
    r = api.call("POST", "/v1/me/objections", me, json={"target": "record:court/C-1", "grounds": good})
    assert r.status_code == 201, r.text
    with api.engine.connect() as conn:
        assert conn.scalar(select(objections.c.grounds)) == good

    reviewer = api.key("reviewer", "li")
    oid = r.json()["id"]
    for reason, code, at in ((f"not shown {RLO}dellac", "202E", 11), ("ok\x07 bell", "0007", 3)):
        r = api.call("POST", f"/v1/objections/{oid}/decision", reviewer, json={"decision": "dismiss", "reason": reason})
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == (
            f"a decision on an objection: the reason: the text holds a control character (U+{code}) at position "
            f"{at}; {PROSE}"
        )
    assert _count(api, objection_decisions) == 0


def test_a_checks_reference_is_one_line_of_plain_text(api: Api) -> None:
    consumer = api.key("consumer", "finance-bureau", scopes=TENDER)
    for reference, code, at in (("tender 7\nbidder 2", "000A", 9), (f"tender {RLO}7", "202E", 8), ("t\x00", "0000", 2)):
        r = api.call("POST", "/v1/checks", consumer, json={
            "subject": make_uscc(1), "context": "procurement.tender", "purpose": "bidder_screening",
            "reference": reference})  # fmt: skip
        assert r.status_code == 422, r.text
        assert (
            r.json()["detail"]
            == f"reference: the text holds a control character (U+{code}) at position {at}; {ONE_LINE}"
        )
    assert _count(api, checks) == 0


def test_a_repairs_evidence_is_one_line_of_plain_text(api: Api, tmp_path: Path) -> None:
    ingest_rows(api.engine, api.catalog, tmp_path, [person_row("C-2", 42)])
    me = api.key("subject", "resident-42", subject_id=subject_of(api.engine, "C-2"))
    r = api.call(
        "POST",
        "/v1/me/repairs",
        me,
        json={"record": "court/C-2", "evidence_ref": "receipt\x1b[2J 42", "commitment": True},
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == f"evidence: the text holds a control character (U+001B) at position 8; {ONE_LINE}"
    assert _count(api, repairs) == 0
