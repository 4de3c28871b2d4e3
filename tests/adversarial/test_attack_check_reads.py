"""Reads of checks under attack: a check id is not a ticket to a person's file.

A certificate and a replay carry a subject's masked identifier, the measures applied and the
records behind them. The public, a source, another consumer and another subject who learn a
check id are answered exactly as for a check that does not exist; the consumer that made the
check, its subject and staff read it, and every read is audited in the reader's name. Anyone
holding a certificate may still ask whether it is genuine, and learns nothing else.
"""

from __future__ import annotations

from pathlib import Path

from operators import TENDER, Api, api_fixture, ingest_rows, person_row, subject_of  # noqa: F401 - the api fixture

from builders import make_ric, ok, xy

MISSING = "0" * 32


def _made_check(api: Api, tmp: Path) -> tuple[str, str, int]:
    ingest_rows(api.engine, api.catalog, tmp, [person_row("R-1", 11)])
    consumer = api.key("consumer", "finance-bureau", scopes=TENDER)
    asked = api.call("POST", "/v1/checks", consumer, json={
        "subject": make_ric(11), "context": "procurement.tender", "purpose": "bidder_screening"})  # fmt: skip
    assert asked.status_code == 200, asked.text
    return asked.json()["check_id"], consumer, subject_of(api.engine, "R-1")


def test_strangers_with_a_check_id_get_what_a_missing_check_gets(api: Api, tmp_path: Path) -> None:
    check_id, _, sid = _made_check(api, tmp_path)
    other = api.key("consumer", "tax-bureau", scopes=TENDER)
    source = api.key("source", "court")
    ingest_rows(api.engine, api.catalog, tmp_path, [person_row("R-2", 12)])
    stranger = api.key("subject", "resident-12", subject_id=subject_of(api.engine, "R-2"))
    for what in ("certificate", "replay"):
        missing = api.call("GET", f"/v1/checks/{MISSING}/{what}", other)
        assert missing.status_code == 404 and missing.json()["detail"] == f"no check {MISSING}"
        for key in (other, stranger):
            r = api.call("GET", f"/v1/checks/{check_id}/{what}", key)
            assert (r.status_code, r.json()["detail"]) == (404, f"no check {check_id}"), (what, r.text)
            assert r.json()["detail"].replace(check_id, MISSING) == missing.json()["detail"]
        anonymous = api.call("GET", f"/v1/checks/{check_id}/{what}")
        assert anonymous.status_code == 401 and "an API key is required" in anonymous.json()["detail"]
        by_source = api.call("GET", f"/v1/checks/{check_id}/{what}", source)
        assert by_source.status_code == 403 and "a source key may not do this" in by_source.json()["detail"]
    assert api.events("certificate_read") == [] and api.events("check_replay") == []
    assert sid


def test_the_parties_read_and_every_read_is_audited_in_their_name(api: Api, tmp_path: Path) -> None:
    check_id, consumer, sid = _made_check(api, tmp_path)
    subject = api.key("subject", "resident-11", subject_id=sid)
    reviewer = api.key("reviewer", "li")
    for key in (consumer, subject, reviewer):
        assert api.call("GET", f"/v1/checks/{check_id}/certificate", key).status_code == 200
        assert api.call("GET", f"/v1/checks/{check_id}/replay", key).json()["same"] is True
    target = f"check:{check_id}"
    readers = [("consumer:finance-bureau", target), ("subject:resident-11", target), ("reviewer:li", target)]
    assert api.events("certificate_read") == readers
    assert api.events("check_replay") == readers


def test_anyone_holding_a_certificate_learns_only_whether_it_is_genuine(api: Api, tmp_path: Path) -> None:
    check_id, consumer, _ = _made_check(api, tmp_path)
    held = api.call("GET", f"/v1/checks/{check_id}/certificate", consumer).content
    before = len(api.events("certificate_read"))
    genuine = api.call("POST", "/v1/certificates/verify", content=held)
    assert genuine.status_code == 200
    assert set(genuine.json()) == {"valid", "reason", "key_id"} and genuine.json()["valid"] is True
    forged = held.replace(b"finance-bureau", b"finance-bureaX")
    answer = api.call("POST", "/v1/certificates/verify", content=forged).json()
    assert answer == {
        "valid": False,
        "reason": "the signature does not match the payload: the certificate was altered",
        "key_id": None,
    }
    junk = api.call("POST", "/v1/certificates/verify", content=b"\xff" * 10)
    assert junk.status_code == 422 and "the body must be a certificate" in junk.json()["detail"]
    unsigned = api.call("POST", "/v1/certificates/verify", json={"payload": "x"}).json()
    assert unsigned["valid"] is False and unsigned["reason"].startswith("not a certificate")
    assert len(api.events("certificate_read")) == before  # no store read, nothing audited


def test_the_command_line_audits_its_reads_in_the_operators_name(
    api: Api, tmp_path: Path, db_env: dict[str, str]
) -> None:
    check_id, _, _ = _made_check(api, tmp_path)
    ok(xy(db_env, "certificate", "get", check_id, "-o", str(tmp_path / "c.json"), cwd=tmp_path))
    ok(xy(db_env, "checks", "replay", check_id, cwd=tmp_path))
    [(actor, target)] = api.events("certificate_read")
    assert actor.startswith("cli:") and target == f"check:{check_id}"
    assert [a for a, _ in api.events("check_replay")] == [actor]
