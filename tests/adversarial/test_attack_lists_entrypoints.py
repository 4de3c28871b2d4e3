"""Principle 5 in time, attacked through the entrypoints: the `xinyong lists` command line and the
reviewers' HTTP routes refuse what the service refuses, with the same words (SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from builders import make_uscc, ok, xy
from process_story import Story, hold, org_row, release
from test_api import Served, served  # noqa: F401 - the real server the HTTP attacks go through
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services import lists as lists_service

COURT_NAME = "Municipal Intermediate People's Court"


def owned(eid: int, what: str) -> str:
    return (
        f"list entry {eid} is on the List of dishonest judgment defaulters, which {COURT_NAME} (court) owns: only "
        f"{COURT_NAME}'s decision (a corrected or revoked record from court) ends it, not a {what} on this platform"
    )


def test_the_command_line_refuses_an_endless_extension_and_a_platform_removal(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, db_env: dict[str, str], tmp_path: Path
) -> None:
    # Told in the past: a command may act at a moment that has passed, never at one to come.
    start = datetime.now(UTC) - timedelta(days=100)

    def day(n: float) -> datetime:
        return start + timedelta(days=n)

    dates = {"decided_on": (start - timedelta(days=20)).date().isoformat()}
    dates["valid_from"] = dates["decided_on"]
    story = Story(engine, catalog, vault, tmp_path)
    story.ingest([org_row("K-1", 31, **dates)], start)
    story.maintain(day(0))
    eid = story.entry("K-1")
    assert eid is not None
    lists_service.decide(engine, catalog, eid, approve_it=True, actor="reviewer:li", reason="unpaid", now=hold(day(0)))
    story.maintain(day(31))
    release()
    moment = ("--now", day(40).isoformat())

    def lists(*args: str) -> tuple[int, str]:
        done = xy(db_env, "lists", *args, *moment, cwd=tmp_path)
        return done.returncode, done.stderr

    code, err = lists("extend", str(eid), "--months", "36", "--reviewer", "li", "--reason", "a new judgment")
    assert (
        code == 1 and f"reviewer:li approved list entry {eid}: its extension is decided by a different reviewer" in err
    )
    code, err = lists("extend", str(eid), "--months", "36", "--reviewer", "wang", "--reason", ".....")
    assert code == 1 and "an extension needs a reason the subject can read: the reason is empty once" in err
    code, err = lists("remove", str(eid), "--reviewer", "wang", "--reason", "the debtor asked nicely")
    assert code == 1 and owned(eid, "removal") in " ".join(err.split())
    assert story.state(eid, day(40)) == "listed"

    # The check's own output names the decision document and the list's legal basis.
    env = {**db_env, "XINYONG_SIGNING_KEY_FILE": str(tmp_path / "signing.key")}
    ok(xy(env, "init", cwd=tmp_path))
    shown = ok(xy(env, "check", make_uscc(31), "--context", "procurement.tender", "--purpose", "bidder_screening", *moment,
                  cwd=tmp_path)).stdout  # fmt: skip
    assert "grounded on record court/K-1 (decision (2024)浙01执31号); list legal basis: Provisions of the Supreme " in (
        " ".join(shown.split())
    )


def test_the_reviewers_routes_refuse_an_endless_extension_and_a_platform_removal(
    served: Served,  # noqa: F811 - the fixture imported above
    catalog: Catalog,
    vault: IdentifierVault,
    tmp_path: Path,
) -> None:
    story = Story(served.engine, catalog, vault, tmp_path)
    start = datetime.now(UTC) - timedelta(days=100)  # the service acts as of now
    day = (start - timedelta(days=20)).date().isoformat()
    story.ingest([org_row("H-1", 61, decided_on=day, valid_from=day)], start)
    story.maintain(start)
    eid = story.entry("H-1")
    assert eid is not None
    lists_service.decide(
        served.engine, catalog, eid, approve_it=True, actor="reviewer:li", reason="unpaid", now=hold(start)
    )
    story.maintain(start + timedelta(days=31))
    release()
    li, wang = served.key("reviewer", "li"), served.key("reviewer", "wang")
    path = f"/v1/lists/entries/{eid}"

    r = served.call("POST", f"{path}/extension", li, json={"months": 36, "reason": "a new default judgment"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert (
        r.json()["detail"] == f"reviewer:li approved list entry {eid}: its extension is decided by a different reviewer"
    )
    r = served.call("POST", f"{path}/extension", wang, json={"months": 36, "reason": "....."})
    assert r.status_code == 422 and r.json()["detail"].startswith("an extension needs a reason the subject can read")
    r = served.call("POST", f"{path}/removal", wang, json={"reason": "the debtor asked nicely"})
    assert r.status_code == 409 and r.json()["detail"] == owned(eid, "removal")
    ok = served.call("POST", f"{path}/extension", wang, json={"months": 36, "reason": "a new default judgment"})
    assert ok.status_code == 200, ok.text
    again = served.call("POST", f"{path}/extension", served.key("reviewer", "zhao"), json={"months": 12, "reason": "and again, once more"})  # fmt: skip
    assert again.status_code == 422 and "longest stay of 60 months" in again.json()["detail"]


def test_the_routes_forward_an_objection_to_a_court_listing_and_refuse_a_reviewers_uphold(
    served: Served,  # noqa: F811 - the fixture imported above
    catalog: Catalog,
    vault: IdentifierVault,
    tmp_path: Path,
) -> None:
    story = Story(served.engine, catalog, vault, tmp_path)
    start = datetime.now(UTC) - timedelta(days=100)
    day = (start - timedelta(days=20)).date().isoformat()
    story.ingest([org_row("H-2", 62, decided_on=day, valid_from=day)], start)
    story.maintain(start)
    eid = story.entry("H-2")
    assert eid is not None
    lists_service.decide(
        served.engine, catalog, eid, approve_it=True, actor="reviewer:li", reason="unpaid", now=hold(start)
    )
    story.maintain(start + timedelta(days=31))
    release()
    subject = served.key("subject", "company-62", subject_id=story.subject_of("H-2"))
    body = {"target": f"entry:{eid}", "grounds": "the judgment was paid in full"}
    filed = served.call("POST", "/v1/me/objections", subject, json=body)
    assert filed.status_code == 201, filed.text
    assert filed.json()["forwarded_to"] == "court"
    oid = filed.json()["id"]
    wang = served.key("reviewer", "wang")
    r = served.call(
        "POST", f"/v1/objections/{oid}/decision", wang, json={"decision": "uphold", "reason": "the debtor paid"}
    )
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"] == (
        f"objection {oid} is forwarded to {COURT_NAME} (court), which owns the List of dishonest judgment "
        f"defaulters: a platform reviewer cannot uphold it. Only {COURT_NAME}'s decision ends entry {eid}: a "
        "corrected or revoked record court/H-2 from court, which closes the objection as resolved by the owner"
    )
    [row] = served.call("GET", "/v1/objections", wang, params={"state": "open"}).json()["items"]
    assert row["state"] == "forwarded to court" and row["forwarded_to"] == "court"
