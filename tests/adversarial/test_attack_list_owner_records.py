"""The owner's record and the end of an owner's listing, under attack through the real store.

The court's defaulter record behind a court listing is the court's: the platform can neither
verify nor correct a court's judgment. So an objection to that record, like one to the entry, is
forwarded to the court, a platform reviewer who tries to uphold or dismiss it is refused (409,
naming the court and what ends the entry), and the court's corrected record resolves it. Before
publication the record objection stays the platform's review. And an entry that ends before the
owner decided (by its term, or by the end of its ground's valid time) leaves no forwarded
objection open: it is closed as moot, in the same run, and the subject told.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from test_attack_list_owners import COURT, LI, WANG, denied, listed

from process_story import T0, Story, at, clock_at, hold, org_row, release
from test_api import Served, served  # noqa: F401 - the real server the HTTP attack goes through
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.domain.lists import OwnedByAnother
from xinyong.domain.scoring import add_months
from xinyong.services import lists as lists_service
from xinyong.services.objection_rulings import decide_objection
from xinyong.services.objection_views import objection_detail
from xinyong.services.objections import file_objection
from xinyong.store.tables import notices, objection_decisions

LIST = "List of dishonest judgment defaulters"


@pytest.fixture
def story(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> Story:
    return Story(engine, catalog, vault, tmp_path)


def object_to(story: Story, n: int, target: str, day: float = 40) -> dict[str, Any]:
    sid = story.subject_of(f"O-{n}")
    return file_objection(
        story.engine, story.catalog, subject_id=sid, target=target, grounds="the judgment was paid in full",
        actor=f"subject:{sid}", now=clock_at(day),
    )  # fmt: skip


def record_refusal(oid: int, eid: int, n: int, what: str) -> str:
    return (
        f"objection {oid} is forwarded to {COURT} (court), which made record court/O-{n} and owns the {LIST} it "
        f"grounds: a platform reviewer cannot {what} it. Only {COURT}'s decision changes the record: a corrected or "
        f"revoked record court/O-{n} from court, which ends entry {eid} and closes the objection as resolved by the "
        "owner"
    )


def body_to(story: Story, recipient: str, event: str) -> str:
    with story.engine.connect() as conn:
        body = conn.scalar(select(notices.c.body).where(notices.c.recipient == recipient, notices.c.event_ref == event))
    assert body is not None, (recipient, event)
    return str(body)


# -- an objection to the owner's record ------------------------------------------------------------------


def test_an_objection_to_the_courts_record_behind_a_court_listing_is_forwarded_to_the_court(story: Story) -> None:
    eid = listed(story, 11)
    sid = story.subject_of("O-11")
    o = object_to(story, 11, "record:court/O-11")
    assert o["forwarded_to"] == "court"
    assert objection_detail(story.engine, o["id"])["state"] == "forwarded to court"
    assert story.notice_kinds(sid, "source:court") == ["objection_forwarded"]
    to_court = body_to(story, "source:court", f"objection:{o['id']}:forwarded")
    assert f"the subject objects to your record court/O-11, the ground of entry {eid} on your {LIST}" in to_court
    assert "the platform can neither verify nor correct your decision" in to_court
    to_subject = body_to(story, "subject", f"objection:{o['id']}:filed")
    assert f"it is forwarded to {COURT}, which made the record and owns the list it grounds" in to_subject
    assert ("court", "O-11") in story.disputes(sid).records, "the record is disputed at once, as any other"
    assert story.state(eid, at(40)) == "listed"


@pytest.mark.parametrize("uphold", [True, False], ids=["uphold", "dismiss"])
def test_a_platform_reviewer_cannot_correct_or_dismiss_the_courts_record(story: Story, uphold: bool) -> None:
    eid = listed(story, 12)
    o = object_to(story, 12, "record:court/O-12")
    with pytest.raises(OwnedByAnother) as info:
        decide_objection(
            story.engine, story.catalog, o["id"], uphold=uphold, actor=WANG, reason="the debtor says it is paid",
            now=clock_at(45), revoke=uphold,
        )  # fmt: skip
    assert str(info.value) == record_refusal(o["id"], eid, 12, "uphold" if uphold else "dismiss")
    assert story.state(eid, at(45)) == "listed", "nothing was revoked or ended"
    with story.engine.connect() as conn:
        assert conn.scalar(select(objection_decisions.c.id)) is None


def test_a_forwarded_record_objection_past_its_deadline_still_suspends_the_courts_sanction(story: Story) -> None:
    """Forwarding takes the decision away from the platform, not the subject's protection: what the
    owner does not verify in time is not used (FCRA s.611), as for any other objection."""
    listed(story, 18)
    o = object_to(story, 18, "record:court/O-18", day=33)
    assert o["forwarded_to"] == "court"
    assert denied(story, 18, 40), "within its deadline the record is disputed, and used"
    assert not denied(story, 18, 70), f"past {o['due_on']} undecided by the court: suspended"


def test_the_courts_corrected_record_resolves_the_forwarded_record_objection(story: Story) -> None:
    eid = listed(story, 13)
    sid = story.subject_of("O-13")
    o = object_to(story, 13, "record:court/O-13")
    story.ingest([org_row("O-13", 13, revision=2, performance="performed")], at(44))
    assert story.maintain(at(45))["ended_ground_changed"] == 1
    detail = objection_detail(story.engine, o["id"])
    assert detail["outcome"] == "owner_resolved" and detail["decided_by"] == "source:court"
    assert detail["decision_reason"].startswith("the source reported the obligation met")
    assert story.notice_kinds(sid)[-2:] == ["removed", "objection_upheld"]
    assert story.state(eid, at(45)) == "removed"


def test_an_objection_to_the_record_before_publication_stays_the_platforms_review(story: Story) -> None:
    story.ingest([org_row("O-14", 14)], T0)
    story.maintain(at(0))
    eid = story.entry("O-14")
    assert eid is not None
    lists_service.decide(story.engine, story.catalog, eid, approve_it=True, actor=LI, reason="unpaid", now=clock_at(0))
    o = object_to(story, 14, "record:court/O-14", day=5)
    assert "forwarded_to" not in o
    decide_objection(
        story.engine, story.catalog, o["id"], uphold=True, actor=WANG, reason="the court revoked it", now=clock_at(6),
        revoke=True,
    )  # fmt: skip
    assert story.state(eid, at(6)) == "withdrawn"


def test_the_routes_forward_an_objection_to_the_courts_record_and_refuse_a_reviewers_uphold(
    served: Served,  # noqa: F811 - the fixture imported above
    catalog: Catalog,
    vault: IdentifierVault,
    tmp_path: Path,
) -> None:
    story = Story(served.engine, catalog, vault, tmp_path)
    start = datetime.now(UTC) - timedelta(days=100)
    day = (start - timedelta(days=20)).date().isoformat()
    story.ingest([org_row("O-15", 15, decided_on=day, valid_from=day)], start)
    story.maintain(start)
    eid = story.entry("O-15")
    assert eid is not None
    lists_service.decide(served.engine, catalog, eid, approve_it=True, actor=LI, reason="unpaid", now=hold(start))
    story.maintain(start + timedelta(days=31))
    release()
    subject = served.key("subject", "company-15", subject_id=story.subject_of("O-15"))
    body = {"target": "record:court/O-15", "grounds": "the judgment was paid in full"}
    filed = served.call("POST", "/v1/me/objections", subject, json=body)
    assert filed.status_code == 201, filed.text
    assert filed.json()["forwarded_to"] == "court"
    oid = filed.json()["id"]
    wang = served.key("reviewer", "wang")
    decision = {"decision": "uphold", "reason": "the debtor paid", "revoke": True}
    r = served.call("POST", f"/v1/objections/{oid}/decision", wang, json=decision)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"] == record_refusal(oid, eid, 15, "uphold")
    [row] = served.call("GET", "/v1/objections", wang, params={"state": "open"}).json()["items"]
    assert row["state"] == "forwarded to court" and row["target_kind"] == "record"


# -- an entry that ends before its owner decided --------------------------------------------------------------


def test_an_entry_that_ends_by_its_term_closes_its_forwarded_objections_in_the_same_run(story: Story) -> None:
    eid = listed(story, 16)
    sid = story.subject_of("O-16")
    to_entry = object_to(story, 16, f"entry:{eid}")
    to_record = object_to(story, 16, "record:court/O-16", day=41)
    term_ends = add_months(date(2024, 4, 1), 24)
    counts = story.maintain(at((term_ends - T0.date()).days))
    assert counts["expired"] == 1
    assert story.steps(eid)[-1] == ("expire", "expired", "system:maintain")
    why = f"entry {eid} ended by its term on {term_ends.isoformat()} before the owner decided"
    for o in (to_entry, to_record):
        detail = objection_detail(story.engine, o["id"])
        assert (detail["outcome"], detail["decided_by"], detail["decision_reason"]) == (
            "entry_ended", "system:maintain", why,
        ), o  # fmt: skip
        assert detail["state"] == "closed: the entry ended before its owner (court) decided"
        assert detail["appeal_until"] is None
    assert story.notice_kinds(sid)[-3:] == ["expired", "objection_closed", "objection_closed"]
    assert "You may object to record court/O-16 again" in body_to(
        story, "subject", f"objection:{to_record['id']}:decided:subject"
    )
    again = object_to(story, 16, "record:court/O-16", day=(term_ends - T0.date()).days + 1)
    assert "forwarded_to" not in again, "the record grounds no published listing now: the platform decides"


def test_an_entry_whose_ground_the_court_ended_by_its_valid_until_closes_its_forwarded_objection(
    story: Story,
) -> None:
    eid = listed(story, 17, valid_until="2024-06-01")
    o = object_to(story, 17, f"entry:{eid}")
    assert story.maintain(at(92))["ended_ground_lapsed"] == 1
    detail = objection_detail(story.engine, o["id"])
    assert detail["outcome"] == "entry_ended" and detail["decided_by"] == "system:maintain"
    assert detail["decision_reason"].startswith(f"entry {eid} ended on 2024-06-01 (")
    assert detail["decision_reason"].endswith(") before the owner decided")
