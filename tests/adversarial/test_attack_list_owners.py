"""Each national list keeps its owner, and its term, under attack through the real store.

An objection to a published entry of a list a source owns (the court's defaulter list) is the
owner's to decide: the platform accepts it, forwards it, and a platform reviewer who tries to
uphold or dismiss it is refused, with the owner and what ends the entry named. The owner's
corrected record ends the entry, and closes the objection as resolved by the owner. A court
listing runs its term: the platform's publication period of the ground record cannot end it
earlier than the court's law says.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from builders import make_uscc
from process_story import T0, Story, at, clock_at, org_row
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.domain.lists import OwnedByAnother
from xinyong.domain.scoring import add_months
from xinyong.services import lists as lists_service
from xinyong.services.checks import run_check
from xinyong.services.objection_rulings import decide_objection
from xinyong.services.objection_views import objection_detail
from xinyong.services.objections import file_objection
from xinyong.store.tables import notices, objection_decisions

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
LI, WANG = "reviewer:li", "reviewer:wang"
COURT = "Municipal Intermediate People's Court"


@pytest.fixture
def story(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> Story:
    return Story(engine, catalog, vault, tmp_path)


def listed(story: Story, n: int, **row: Any) -> int:
    """Company n on the court's list from day 31 (2024-04-01), approved by reviewer li."""
    story.ingest([org_row(f"O-{n}", n, **row)], T0)
    story.maintain(at(0))
    eid = story.entry(f"O-{n}")
    assert eid is not None
    lists_service.decide(story.engine, story.catalog, eid, approve_it=True, actor=LI, reason="unpaid", now=clock_at(0))
    story.maintain(at(31))
    assert story.state(eid, at(31)) == "listed"
    return eid


def objected(story: Story, n: int, eid: int, day: float = 40) -> dict[str, Any]:
    sid = story.subject_of(f"O-{n}")
    return file_objection(
        story.engine, story.catalog, subject_id=sid, target=f"entry:{eid}", grounds="the judgment was paid in full",
        actor=f"subject:{sid}", now=clock_at(day),
    )  # fmt: skip


def denied(story: Story, n: int, day: float) -> bool:
    result = run_check(
        story.engine, story.catalog, story.vault, KEY, identifier=make_uscc(n), context="procurement.tender",
        purpose="bidder_screening", consumer="consumer:finance", now=clock_at(day),
    )  # fmt: skip
    return str(result["decision"]["outcome"]) == "deny"


def refusal(oid: int, eid: int, n: int, what: str) -> str:
    return (
        f"objection {oid} is forwarded to {COURT} (court), which owns the List of dishonest judgment defaulters: a "
        f"platform reviewer cannot {what} it. Only {COURT}'s decision ends entry {eid}: a corrected or revoked record "
        f"court/O-{n} from court, which closes the objection as resolved by the owner"
    )


def test_an_objection_to_a_court_listing_is_forwarded_to_the_court(story: Story) -> None:
    eid = listed(story, 1)
    sid = story.subject_of("O-1")
    o = objected(story, 1, eid)
    assert o["forwarded_to"] == "court"
    detail = objection_detail(story.engine, o["id"])
    assert detail["state"] == "forwarded to court" and detail["outcome"] is None
    assert story.notice_kinds(sid, "source:court") == ["objection_forwarded"]
    with story.engine.connect() as conn:
        to_court, to_subject = (
            conn.scalar(
                select(notices.c.body).where(notices.c.recipient == who, notices.c.event_ref.like("objection:%"))
            )
            for who in ("source:court", "subject")
        )
    assert "the subject objects to entry" in to_court and "the judgment was paid in full" in to_court
    assert f"it is forwarded to {COURT}, which owns the list" in to_subject
    assert story.state(eid, at(40)) == "listed", "an objection flags a published entry; it does not end it"


@pytest.mark.parametrize("uphold", [True, False], ids=["uphold", "dismiss"])
def test_a_platform_reviewer_cannot_decide_an_objection_forwarded_to_the_court(story: Story, uphold: bool) -> None:
    eid = listed(story, 2)
    o = objected(story, 2, eid)
    with pytest.raises(OwnedByAnother) as info:
        decide_objection(
            story.engine, story.catalog, o["id"], uphold=uphold, actor=WANG, reason="the debtor says it is paid",
            now=clock_at(45),
        )  # fmt: skip
    assert str(info.value) == refusal(o["id"], eid, 2, "uphold" if uphold else "dismiss")
    assert story.state(eid, at(45)) == "listed"
    assert objection_detail(story.engine, o["id"])["state"] == "forwarded to court"


def test_the_courts_correction_ends_the_entry_and_resolves_the_forwarded_objection(story: Story) -> None:
    eid = listed(story, 3)
    sid = story.subject_of("O-3")
    o = objected(story, 3, eid)
    story.ingest([org_row("O-3", 3, revision=2, performance="performed")], at(44))  # the court's own record
    assert not denied(story, 3, 44), "a check ends the entry at once"
    counts = story.maintain(at(45))
    assert counts["ended_ground_changed"] == 1
    assert story.steps(eid)[-1] == ("remove", "removed", "system:maintain")
    detail = objection_detail(story.engine, o["id"])
    assert detail["outcome"] == "owner_resolved" and detail["decided_by"] == "source:court"
    assert detail["state"] == "resolved by its owner (court)"
    assert detail["decision_reason"].startswith("the source reported the obligation met")
    assert story.notice_kinds(sid)[-2:] == ["removed", "objection_upheld"]
    with story.engine.connect() as conn:
        assert conn.scalar(select(objection_decisions.c.appeal_until)) is None


def test_an_objection_before_publication_stays_the_platforms_review(story: Story) -> None:
    """Before publication the platform reviews its own proposal: the objection is not forwarded."""
    story.ingest([org_row("O-4", 4)], T0)
    story.maintain(at(0))
    eid = story.entry("O-4")
    assert eid is not None
    lists_service.decide(story.engine, story.catalog, eid, approve_it=True, actor=LI, reason="unpaid", now=clock_at(0))
    o = objected(story, 4, eid, day=5)
    assert "forwarded_to" not in o
    decide_objection(
        story.engine, story.catalog, o["id"], uphold=True, actor=WANG, reason="paid before publication", now=clock_at(6)
    )
    assert story.state(eid, at(6)) == "withdrawn"


# -- the court's listing runs its term ------------------------------------------------------------------


def test_the_ground_records_publication_period_does_not_end_a_court_listing_before_its_term(story: Story) -> None:
    """The court record counts 24 months from valid_from (2024-02-25) on the platform; the listing,
    published on 2024-04-01 after the notice, runs 24 months from then, as the court's law says."""
    eid = listed(story, 5)
    publication_ends = add_months(date(2024, 2, 25), 24)
    term_ends = add_months(date(2024, 4, 1), 24)
    assert publication_ends < term_ends
    between = (publication_ends - T0.date()).days + 3
    assert denied(story, 5, between), "in force after the record's publication period, within its term"
    assert story.maintain(at(between))["ended_ground_lapsed"] == 0
    assert story.state(eid, at(between)) == "listed"
    assert not denied(story, 5, (term_ends - T0.date()).days), "the term ends it"


def test_a_valid_until_the_court_gives_still_ends_the_listing(story: Story) -> None:
    eid = listed(story, 6, valid_until="2024-06-01")
    assert denied(story, 6, 91)  # 2024-05-31
    assert not denied(story, 6, 92), "the court's own end of the record ends the entry"
    assert story.maintain(at(92))["ended_ground_lapsed"] == 1
    assert story.steps(eid)[-1] == ("expire", "expired", "system:maintain")
