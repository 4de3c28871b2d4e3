"""The owner's answer over HTTP, under attack through a real server and the real store.

Only a source key reaches the routes (the authorisation matrix refuses every other role, before
anything is read), and a source key reaches only what is forwarded to its own department: another
department's objection is answered exactly as an objection that does not exist. Bad ids, bad
answers and bad reasons are refused with what to fix, and nothing is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from test_attack_list_owners import LI

from builders import make_ric
from process_story import Story, hold, org_row, release
from test_api import Served, served  # noqa: F401 - the real server the attack goes through
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services import lists as lists_service
from xinyong.store.tables import audit_events, objection_decisions, objections

REASONS = "the judgment is unperformed: no payment reached the court's account"
PATH = "/v1/forwarded-objections/{}/answer"
RIC = make_ric(41)


def listed_and_objected(server: Served, catalog: Catalog, vault: IdentifierVault, tmp: Path, n: int) -> int:
    """Company n listed on the court's list in the recent past, and its objection to the entry filed
    through the API (forwarded to the court); the clock runs again."""
    story = Story(server.engine, catalog, vault, tmp)
    start = datetime.now(UTC) - timedelta(days=100)
    day = (start - timedelta(days=20)).date().isoformat()
    story.ingest([org_row(f"O-{n}", n, decided_on=day, valid_from=day)], start)
    story.maintain(start)
    eid = story.entry(f"O-{n}")
    assert eid is not None
    lists_service.decide(server.engine, catalog, eid, approve_it=True, actor=LI, reason="unpaid", now=hold(start))
    story.maintain(start + timedelta(days=31))
    release()
    subject = server.key("subject", f"company-{n}", subject_id=story.subject_of(f"O-{n}"))
    body = {"target": f"entry:{eid}", "grounds": "the judgment was paid in full"}
    filed = server.call("POST", "/v1/me/objections", subject, json=body)
    assert filed.status_code == 201 and filed.json()["forwarded_to"] == "court", filed.text
    return int(filed.json()["id"])


def stored(server: Served) -> tuple[int, int]:
    """(decisions, answer audit events)."""
    with server.engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(objection_decisions))
        events = conn.scalar(
            select(func.count()).select_from(audit_events).where(audit_events.c.action == "objection_record_stands")
        )
    return int(n or 0), int(events or 0)


def problem(r: Any, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return str(r.json()["detail"])


def test_the_court_lists_and_answers_what_is_forwarded_to_it(
    served: Served,  # noqa: F811 - the fixture imported above
    catalog: Catalog,
    vault: IdentifierVault,
    tmp_path: Path,
) -> None:
    oid = listed_and_objected(served, catalog, vault, tmp_path, 21)
    court = served.key("source", "court")
    listing = served.call("GET", "/v1/forwarded-objections", court, params={"state": "open"})
    assert listing.status_code == 200, listing.text
    [row] = listing.json()["items"]
    assert (row["id"], row["target_kind"], row["record"], row["outcome"]) == (oid, "entry", "court/O-21", None)
    assert row["grounds"] == "the judgment was paid in full" and row["state"] == "forwarded to court"
    tax = served.key("source", "tax")
    assert served.call("GET", "/v1/forwarded-objections", tax).json()["total"] == 0, "the tax office sees none"
    body = {"answer": "record_stands", "reasons": REASONS, "reference": "(2026)浙01执异3号"}
    r = served.call("POST", PATH.format(oid), court, json=body)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("id", "outcome", "decided_by", "reasons", "reference")} == {
        "id": oid, "outcome": "owner_maintained", "decided_by": "source:court", "reasons": REASONS,
        "reference": "(2026)浙01执异3号",
    }  # fmt: skip
    assert stored(served) == (1, 1)
    reviewer = served.key("reviewer", "wang")
    [seen] = served.call("GET", "/v1/objections", reviewer, params={"state": "decided"}).json()["items"]
    assert (seen["outcome"], seen["state"], seen["reference"]) == (
        "owner_maintained", "answered by its owner (court): the record stands", "(2026)浙01执异3号",
    )  # fmt: skip
    again = served.call("POST", PATH.format(oid), court, json=body)
    assert problem(again, 409).startswith(f"objection {oid} is already closed: owner_maintained by source:court on ")
    with served.engine.connect() as conn:
        read = conn.scalar(select(func.count()).select_from(audit_events).where(
            audit_events.c.action == "read_forwarded_objections", audit_events.c.actor == "source:court"))  # fmt: skip
    assert read == 1, "the owner's read of the subjects' grounds is audited"


def test_every_other_caller_is_refused_and_nothing_is_stored(
    served: Served,  # noqa: F811 - the fixture imported above
    catalog: Catalog,
    vault: IdentifierVault,
    tmp_path: Path,
) -> None:
    oid = listed_and_objected(served, catalog, vault, tmp_path, 22)
    body = {"answer": "record_stands", "reasons": REASONS}
    tax = served.key("source", "tax")
    other = served.call("POST", PATH.format(oid), tax, json=body)
    unknown = served.call("POST", PATH.format(9_000_000), tax, json=body)
    assert problem(other, 404) == f"no objection {oid} forwarded to you"
    assert problem(unknown, 404) == "no objection 9000000 forwarded to you", "the same answer: no oracle"
    with served.engine.connect() as conn:
        subject_id = int(conn.scalar(select(objections.c.subject_id).where(objections.c.id == oid)) or 0)
    keys = {
        "reviewer": served.key("reviewer", "wang"),
        "admin": served.key("admin", "ops"),
        "consumer": served.key("consumer", "finance-bureau"),
        "subject": served.key("subject", "company-22b", subject_id=subject_id),
    }
    for role, key in keys.items():
        for method, path, payload in (("POST", PATH.format(oid), body), ("GET", "/v1/forwarded-objections", None)):
            route = "answer_objection" if method == "POST" else "forwarded_objections"
            r = served.call(method, path, key, json=payload)
            assert problem(r, 403) == f"{route}: a {role} key may not do this"
    public = served.call("POST", PATH.format(oid), None, json=body)
    assert problem(public, 401) == "answer_objection: an API key is required"
    assert stored(served) == (0, 0)


@pytest.mark.parametrize(
    ("path_id", "message"),
    [
        ("0", "fix these fields: path.objection_id: Input should be greater than or equal to 1"),
        ("-3", "fix these fields: path.objection_id: Input should be greater than or equal to 1"),
        (str(2**63), "fix these fields: path.objection_id: Input should be less than or equal to 9007199254740991"),
        ("abc", "fix these fields: path.objection_id: Input should be a valid integer, unable to parse string as an "
                "integer"),
    ],
)  # fmt: skip
def test_ids_no_store_can_hold_are_refused_before_any_read(
    served: Served,  # noqa: F811 - the fixture imported above
    path_id: str,
    message: str,
) -> None:
    court = served.key("source", "court")
    r = served.call("POST", PATH.format(path_id), court, json={"answer": "record_stands", "reasons": REASONS})
    assert problem(r, 422) == message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"answer": "record_stands", "reasons": ""},
         "fix these fields: body.reasons: String should have at least 5 characters"),
        ({"answer": "record_stands", "reasons": "x" * 10_000},
         "fix these fields: body.reasons: String should have at most 1000 characters"),
        ({"answer": "record_stands"}, "fix these fields: body.reasons: Field required"),
        ({"answer": "record_stands", "reasons": "      "},
         "reasons: say in 5 to 1000 characters why your record stands; the subject reads them (got 0)"),
        ({"answer": "record_stands", "reasons": "unpaid\u0000still"},
         "reasons: the text holds a control character (U+0000) at position 7; write plain text (line breaks and tabs "
         "are fine)"),
        ({"answer": "revoke", "reasons": REASONS},
         "answer 'revoke': the only answer is record_stands (your record is right, with your reasons). To correct or "
         "revoke the record, submit it corrected or revoked with a higher revision (POST /v1/records): that ends the "
         "entry and closes the objection as resolved by you"),
        ({"answer": "record_stands", "reasons": f"the debtor {RIC} has not paid"},
         "reasons: the text holds a resident identity number; write no identifier in free text (the subject is named "
         "by the request itself, and this text is stored, audited and shown to others)"),
        ({"answer": "record_stands", "reasons": REASONS, "reference": f"decision on {RIC}"},
         "reference: the text holds a resident identity number; write no identifier in free text (the subject is "
         "named by the request itself, and this text is stored, audited and shown to others)"),
    ],
    ids=["empty", "10000", "missing", "whitespace", "nul", "other-answer", "identifier", "identifier-reference"],
)  # fmt: skip
def test_bad_answers_are_refused_with_what_to_fix(
    served: Served,  # noqa: F811 - the fixture imported above
    catalog: Catalog,
    vault: IdentifierVault,
    tmp_path: Path,
    body: dict[str, Any],
    message: str,
) -> None:
    oid = listed_and_objected(served, catalog, vault, tmp_path, 23)
    court = served.key("source", "court")
    r = served.call("POST", PATH.format(oid), court, json=body)
    assert problem(r, 422) == message
    assert RIC not in r.text, "a refusal never echoes the number"
    assert stored(served) == (0, 0)


def test_an_objection_not_forwarded_is_refused_as_the_platforms(
    served: Served,  # noqa: F811 - the fixture imported above
    catalog: Catalog,
    vault: IdentifierVault,
    tmp_path: Path,
) -> None:
    story = Story(served.engine, catalog, vault, tmp_path)
    start = datetime.now(UTC) - timedelta(days=10)
    day = (start - timedelta(days=5)).date().isoformat()
    story.ingest([org_row("O-24", 24, decided_on=day, valid_from=day)], start)
    release()
    subject = served.key("subject", "company-24", subject_id=story.subject_of("O-24"))
    body = {"target": "record:court/O-24", "grounds": "the judgment was paid in full"}
    filed = served.call("POST", "/v1/me/objections", subject, json=body)
    assert filed.status_code == 201 and filed.json().get("forwarded_to") is None, filed.text
    oid = filed.json()["id"]
    court = served.key("source", "court")
    r = served.call("POST", PATH.format(oid), court, json={"answer": "record_stands", "reasons": REASONS})
    assert problem(r, 409) == (
        f"objection {oid} was not forwarded to a list's owner: it is the platform's to decide, by a reviewer. A "
        "department answers only the objections forwarded to it (GET /v1/forwarded-objections); to correct or "
        "revoke your record, submit it with a higher revision"
    )
    tax = served.key("source", "tax")
    r = served.call("POST", PATH.format(oid), tax, json={"answer": "record_stands", "reasons": REASONS})
    assert problem(r, 404) == f"no objection {oid} forwarded to you"
    assert stored(served) == (0, 0)
