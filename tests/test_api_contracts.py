"""Contracts a client relies on, over a real server and the real store (SQLite and PostgreSQL).

- Discovery: `GET /v1/catalog` names every context with its purpose codes, every measure with its
  legal basis, the record types and the lists; for every authenticated role, never the public.
- Paging: a consumer lists its own checks page by page, the cursor carries it to the end, the total
  counts them all, a cursor not received is refused with 400; another consumer sees none of them.
- A tender's batch: each subject checked, stored, audited and signed as a single check; a bad
  item answers by index without sinking the others; over the bound, 422 naming it.
- Bad input: an objection target's id beyond 64 bits, a lone surrogate in a record, `0` for a
  boolean, a bad submission: 4xx that say what to fix, never 500, never a server path.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from builders import make_uscc
from process_story import person_row
from test_api import Served, served  # noqa: F401 - `served` is the fixture that serves the app
from xinyong.domain.catalog import Catalog
from xinyong.domain.certificates import load_public, verify
from xinyong.services.check_batches import BATCH_MAX
from xinyong.store.tables import audit_events, checks, subjects

TENDER = {"context": "procurement.tender", "purpose": "bidder_screening", "reference": "tender 2027-001"}


def _subject(served: Served) -> str:  # noqa: F811
    from process_story import T0

    with served.engine.begin() as conn:
        conn.execute(subjects.insert().values(id=1, kind="person", display_name="张三", created_at=T0))
    return served.key("subject", "resident-1", subject_id=1)


def test_the_catalog_is_discoverable_by_every_authenticated_role(served: Served, catalog: Catalog) -> None:  # noqa: F811
    keys = [served.key(r, "court" if r == "source" else f"{r}-1") for r in ("source", "consumer", "reviewer", "admin")]
    keys.append(_subject(served))
    answers = [served.call("GET", "/v1/catalog", k) for k in keys]
    assert [a.status_code for a in answers] == [200] * 5
    shown = answers[0].json()
    assert all(a.json() == shown for a in answers)
    contexts = {c["id"]: c for c in shown["contexts"]}
    assert set(contexts) == set(catalog.contexts)
    tender = contexts["procurement.tender"]
    assert [p["code"] for p in tender["purposes"]] == [p.code for p in catalog.purposes_of("procurement.tender")]
    assert tender["protected"] is False and contexts["healthcare.services"]["protected"] is True
    assert {m["id"] for m in shown["measures"]} == set(catalog.measures)
    assert all(m["legal_basis"]["instrument"] and m["legal_basis"]["text"] for m in shown["measures"])
    assert {t["id"] for t in shown["record_types"]} == set(catalog.record_types)
    assert {x["id"] for x in shown["lists"]} == set(catalog.lists)
    public = served.call("GET", "/v1/catalog")
    assert public.status_code == 401 and "API key is required" in public.json()["detail"]


def _check(served: Served, key: str, n: int) -> dict[str, Any]:  # noqa: F811
    r = served.call("POST", "/v1/checks", key, json={"subject": make_uscc(n), **TENDER})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_consumer_pages_through_its_own_checks_and_no_one_elses(served: Served) -> None:  # noqa: F811
    mine, theirs = served.key("consumer", "finance-bureau"), served.key("consumer", "tax-bureau")
    made = [_check(served, mine, n)["check_id"] for n in range(5)]
    _check(served, theirs, 9)
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(3):
        r = served.call("GET", "/v1/checks", mine, params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == 5 and body["limit"] == 2 and len(body["items"]) <= 2
        seen += [c["check_id"] for c in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1], "newest first, each once, to the end"
    other = served.call("GET", "/v1/checks", theirs).json()
    assert other["total"] == 1 and not set(made) & {c["check_id"] for c in other["items"]}
    for bad in ("not-a-cursor", "c" + "f" * 40, "%00"):
        refused = served.call("GET", "/v1/checks", mine, params={"cursor": bad})
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["detail"].startswith("cursor: send back the next_cursor")
    for limit in (0, 501, 2**64):
        assert served.call("GET", "/v1/checks", mine, params={"limit": limit}).status_code == 422
    assert served.call("GET", "/v1/checks", served.key("source", "court")).status_code == 403


def test_a_tender_screens_many_subjects_each_stored_audited_and_signed(served: Served) -> None:  # noqa: F811
    key = served.key("consumer", "finance-bureau")
    subjects_ = [make_uscc(1), "not-an-identifier", make_uscc(2)]
    r = served.call("POST", "/v1/checks/batch", key, json={"subjects": subjects_, **TENDER})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["checked"], body["failed"]) == (2, 1)
    assert [i["index"] for i in body["items"]] == [0, 1, 2]
    bad = body["items"][1]
    assert bad["status"] == 422 and bad["check"] is None and bad["error"].startswith("subjects[1]: ")
    [k] = served.call("GET", "/v1/keys").json()
    for item in (body["items"][0], body["items"][2]):
        check = item["check"]
        cert = served.call("GET", check["certificate_url"], key)
        signed = verify(cert.content, {k["key_id"]: load_public(k["public_key"])}).payload
        assert signed == {f: v for f, v in check.items() if f != "certificate_url"}
    with served.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(checks)) == 2
        assert conn.scalar(select(func.count()).where(audit_events.c.action == "check")) == 2
    over = served.call("POST", "/v1/checks/batch", key, json={"subjects": [make_uscc(1)] * (BATCH_MAX + 1), **TENDER})
    assert over.status_code == 422 and f"at most {BATCH_MAX}" in over.json()["detail"]


def test_bad_input_answers_4xx_that_say_what_to_fix(served: Served) -> None:  # noqa: F811
    token = _subject(served)
    for target in ("entry:99999999999999999999999", "score:" + "9" * 100, "entry:١٢", "entry:-1"):
        r = served.call(
            "POST", "/v1/me/objections", token, json={"target": target, "grounds": "this is not mine at all"}
        )
        assert r.status_code == 422, (target, r.text)
        assert "ids are numbers of 1 to 18 digits" in r.json()["detail"]
    court = served.key("source", "court")
    row = {**person_row("S-1", 71), "subject_name": "\ud800"}
    raw = '{"records": [' + __import__("json").dumps(row).replace("\\\\ud800", "\\ud800") + "]}"
    r = served.call("POST", "/v1/records", court, content=raw.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert "record 1, field 'subject_name'" in r.json()["detail"] and "surrogate" in r.json()["detail"]
    reviewer = served.key("reviewer", "wang")
    zero = served.call("POST", "/v1/objections/1/decision", reviewer,
                       json={"decision": "uphold", "reason": "confirmed by the court", "revoke": 0})  # fmt: skip
    assert zero.status_code == 422 and "body.revoke" in zero.json()["detail"]
    text = served.call(
        "POST", "/v1/lists/entries/1/extension", reviewer, json={"months": "6", "reason": "still unpaid"}
    )
    assert text.status_code == 422 and "body.months" in text.json()["detail"]
    for path in ("/v1/lists/entries/9223372036854775808", "/v1/batches/18446744073709551616/rejects"):
        assert served.call("GET", path, reviewer if "lists" in path else court).status_code == 422


def test_every_integer_parameter_is_bounded_to_64_bits(served: Served) -> None:  # noqa: F811
    schema = served.call("GET", "/openapi.json").json()
    seen = 0
    for path, item in schema["paths"].items():
        for method, op in item.items():
            for p in op.get("parameters", []):
                s = p["schema"]
                for option in s.get("anyOf", [s]):
                    if option.get("type") == "integer":
                        seen += 1
                        assert option.get("maximum", 2**64) <= 2**63 - 1, (method, path, p["name"])
                        assert option.get("minimum", -(2**64)) >= -(2**63), (method, path, p["name"])
    assert seen >= 8


def test_a_bad_submission_never_answers_a_server_path(served: Served) -> None:  # noqa: F811
    court = served.key("source", "court")
    good = person_row("S-1", 71)
    bodies: list[Any] = [
        {"records": [{**good, "decided_on": "yesterday"}]},
        {"records": [{**good, "record_type": None}]},
        {"records": [{"source_ref": "x"}]},
        {"records": [{**good, "revision": "one"}, {**good, "unknown_field": 1}]},
        {"records": [{**good, "source_ref": "x" * 500}]},
        {"records": "none"},
        [],
    ]
    for body in bodies:
        r = served.call("POST", "/v1/records", court, json=body)
        assert r.status_code < 500, r.text
        assert not re.search(r"(/tmp|/var|/home|/root|/work|xinyong-batch|\.jsonl|[A-Z]:\\\\)", r.text), r.text
    # A batch not sent before (the same batch again is stored once: it would name the first one).
    fresh = {**person_row("S-2", 72), "decided_on": "yesterday"}
    answer = served.call("POST", "/v1/records", court, json={"records": [fresh]}).json()
    assert answer["rejected"] == 1 and answer["rejects_url"] == f"/v1/batches/{answer['batch_id']}/rejects"
    listed = served.call("GET", "/v1/batches", court).json()
    assert listed["total"] >= 1 and all("report_path" not in b and "file_name" not in b for b in listed["items"])
