"""Free text under attack: no resident number or credit code rides in a purpose, grounds or reason.

Purposes, grounds and reasons are stored, audited, signed into certificates and shown to other
parties; a resident number written there would escape its keyed hash. Each is refused with the
field and the kind of number named (never the number), from the API and the command line, and
nothing is stored.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from operators import TENDER, Api, api_fixture, ingest_rows, person_row, subject_of  # noqa: F401 - the api fixture
from sqlalchemy import Engine, func, select

from builders import make_ric, make_uscc, xy
from servers import env_for
from xinyong.domain.free_text import identifier_in
from xinyong.store.tables import audit_events, checks, objections

RIC = make_ric(41)
FULL_WIDTH = RIC.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
REFUSED = (
    "the text holds {kind}; write no identifier in free text (the subject is named by the request itself, and "
    "this text is stored, audited and shown to others)"
)
PERSON = REFUSED.format(kind="a resident identity number")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"screening {RIC}", "a resident identity number"),
        (f"screening {FULL_WIDTH}", "a resident identity number"),
        (f"screening {RIC[:6]} {RIC[6:14]}-{RIC[14:]}", "a resident identity number"),
        (f"bidder {make_uscc(9)} screening", "a unified social credit code"),
        (f"bidder {make_uscc(9).lower()}", "a unified social credit code"),
        ("tender 2027-001, lot 3", None),
        ("(2025)浙01执123号 paid on 2026-01-05", None),
        (RIC[:17] + ("0" if RIC[17] != "0" else "1"), None),  # a wrong check digit: not an identifier
    ],
)
def test_identifiers_are_found_in_any_form(text: str, kind: str | None) -> None:
    assert identifier_in(text) == kind


def test_a_check_whose_purpose_holds_a_resident_number_is_refused(api: Api) -> None:
    consumer = api.key("consumer", "finance-bureau", scopes=TENDER)
    for purpose in (f"tender {RIC}", f"tender {FULL_WIDTH}"):
        r = api.call("POST", "/v1/checks", consumer, json={
            "subject": make_uscc(1), "context": "procurement.tender", "purpose": purpose})  # fmt: skip
        assert r.status_code == 422 and r.json()["detail"] == f"purpose: {PERSON}", r.text
        assert RIC not in r.text and FULL_WIDTH not in r.text
    r = api.call("POST", "/v1/checks", consumer, json={"subject": make_uscc(1), "context": "procurement.tender",
                 "purpose": "bidder_screening", "reference": f"tender 7, bidder {FULL_WIDTH}"})  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"] == f"reference: {PERSON}"
    with api.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(checks)) == 0


def test_grounds_that_hold_a_resident_number_are_refused(api: Api, tmp_path: Path) -> None:
    ingest_rows(api.engine, api.catalog, tmp_path, [person_row("G-1", 41)])
    me = api.key("subject", "resident-41", subject_id=subject_of(api.engine, "G-1"))
    r = api.call("POST", "/v1/me/objections", me, json={"target": "record:court/G-1", "grounds": f"not me, I am {RIC}"})
    assert r.status_code == 422 and r.json()["detail"] == f"grounds: {PERSON}"
    with api.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(objections)) == 0


def test_the_command_line_refuses_the_same(db_env: dict[str, str], engine: Engine, tmp_path: Path) -> None:
    env = env_for(db_env)
    ask = xy(
        env, "check", make_uscc(1), "--context", "procurement.tender", "--purpose", f"x {FULL_WIDTH}", cwd=tmp_path
    )
    assert ask.returncode == 1 and ask.stderr.strip().splitlines()[-1] == f"error: purpose: {PERSON}"
    decide = xy(env, "lists", "decide", "1", "approve", "--reviewer", "li", "--reason", f"debtor {RIC}", cwd=tmp_path)
    assert decide.returncode == 1
    assert decide.stderr.strip().splitlines()[-1] == f"error: a decision on a proposal: the reason: {PERSON}"
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(audit_events)) == 0
