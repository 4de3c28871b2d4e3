"""Principle 5 in time, under attack through the real store (SQLite and PostgreSQL).

Each test is what a hostile reviewer, or a store left without its daily run, would try: extend a
listing forever, keep denying after the ground fell away, rewrite the past with a removal, let an
objection rot past its deadline, end a court's listing from the platform, and answer a check
without the chain back to the decision. Each asserts the refusal or the answer word for word.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, update

from builders import make_uscc
from process_story import T0, Story, at, clock_at, org_row
from xinyong.domain.catalog import Catalog
from xinyong.domain.certificates import key_id, verify
from xinyong.domain.errors import InvalidInput
from xinyong.domain.identifiers import IdentifierVault
from xinyong.domain.lists import InvalidTransition, OwnedByAnother
from xinyong.services import lists as lists_service
from xinyong.services.checks import certificate_of, replay, run_check
from xinyong.services.objection_rulings import decide_objection
from xinyong.services.objections import file_objection
from xinyong.services.repairs import decide_repair, file_repair
from xinyong.store.tables import checks

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
LI, WANG = "reviewer:li", "reviewer:wang"
TENDER = "procurement.tender"
EXCLUDE = "Exclusion of judgment defaulters from government procurement"
COURT_NAME = "Municipal Intermediate People's Court"
LIST_BASIS = (
    "Provisions of the Supreme People's Court on the Publication of the List of Dishonest Judgment Defaulters, "
    "Fa Shi [2017] No. 7, Art. 2"
)


@pytest.fixture
def story(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> Story:
    return Story(engine, catalog, vault, tmp_path)


def listed(story: Story, n: int) -> int:
    """Company n on the court's list from 2024-04-01 (day 31), approved by reviewer li."""
    story.ingest([org_row(f"B-{n}", n)], T0)
    story.maintain(at(0))
    eid = story.entry(f"B-{n}")
    assert eid is not None
    lists_service.decide(story.engine, story.catalog, eid, approve_it=True, actor=LI, reason="unpaid", now=clock_at(0))
    story.maintain(at(31))
    assert story.state(eid, at(31)) == "listed"
    return eid


def check(story: Story, n: int, when: float, as_of: float | None = None) -> dict[str, Any]:
    return run_check(
        story.engine,
        story.catalog,
        story.vault,
        KEY,
        identifier=make_uscc(n),
        context=TENDER,
        purpose="bidder_screening",
        reference="tender 2024-001",
        consumer="consumer:finance",
        as_of=None if as_of is None else at(as_of).date(),
        now=clock_at(when),
    )


def measure(decision: dict[str, Any], measure_id: str = "procurement.exclude_court_defaulters") -> dict[str, Any]:
    [m] = [m for m in decision["applied"] + decision["not_applied"] if m["measure"] == measure_id]
    return m


def extend(story: Story, eid: int, *, actor: str, reason: str, when: float, months: int = 36) -> Any:
    return lists_service.extend(
        story.engine, story.catalog, eid, months=months, actor=actor, reason=reason, now=clock_at(when)
    )


# -- extensions are bounded --------------------------------------------------------------------


def test_the_approver_cannot_extend_the_listing_it_approved(story: Story) -> None:
    eid = listed(story, 1)
    with pytest.raises(InvalidInput) as info:
        extend(story, eid, actor=LI, reason="a new default judgment on the same obligation", when=600)
    assert str(info.value) == f"{LI} approved list entry {eid}: its extension is decided by a different reviewer"


def test_an_extension_with_dots_for_a_reason_is_refused(story: Story) -> None:
    eid = listed(story, 2)
    with pytest.raises(InvalidInput) as info:
        extend(story, eid, actor=WANG, reason=".....", when=600)
    assert str(info.value) == (
        "an extension needs a reason the subject can read: the reason is empty once whitespace, zero-width "
        "characters and punctuation are removed"
    )


def test_an_extension_after_the_ground_stopped_counting_is_refused(story: Story) -> None:
    eid = listed(story, 3)
    story.ingest([org_row("B-3", 3, revision=2, performance="performed")], at(60))  # no maintain run
    with pytest.raises(InvalidTransition) as info:
        extend(story, eid, actor=WANG, reason="a new default judgment on the same obligation", when=61)
    assert str(info.value) == (
        f"list entry {eid} cannot be extended: its ground no longer counts since 2024-04-30 "
        "(the source reported the obligation met (learned on 2024-04-30))"
    )


def test_repeated_extensions_stop_at_the_longest_stay_not_in_2040(story: Story) -> None:
    eid = listed(story, 4)
    view = extend(story, eid, actor=WANG, reason="a new default judgment on the same obligation", when=60)
    assert view.ends_on.isoformat() == "2029-04-01"  # 24 + 36 months after 2024-04-01
    with pytest.raises(InvalidInput) as info:
        extend(story, eid, actor="reviewer:zhao", reason="and again, another judgment", when=61, months=12)
    assert str(info.value) == (
        f"list entry {eid} is listed from 2024-04-01 to 2029-04-01: 12 more months would exceed the List of "
        "dishonest judgment defaulters's longest stay of 60 months (24 months' term and at most 36 months' extension)"
    )


# -- entries end with their ground ---------------------------------------------------------------


def test_a_correction_reporting_the_obligation_met_ends_the_denial_with_no_job_run(story: Story) -> None:
    listed(story, 5)
    assert check(story, 5, 40)["decision"]["outcome"] == "deny"
    story.ingest([org_row("B-5", 5, revision=2, performance="performed")], at(60))  # no maintain run
    d = check(story, 5, 60.5)["decision"]
    assert d["outcome"] == "allow"
    assert measure(d)["reason"] == (
        "does not apply: the subject has no entry in force on the List of dishonest judgment defaulters; entry 1 "
        "ended on 2024-04-30: the source reported the obligation met (learned on 2024-04-30)"
    )


def test_an_entry_stops_denying_when_its_grounds_publication_ends(story: Story) -> None:
    listed(story, 6)
    story.ingest([org_row("B-6", 6, revision=2, valid_until="2024-06-01")], at(40))  # a correction that still qualifies
    assert check(story, 6, 91)["decision"]["outcome"] == "deny"  # 2024-05-31
    d = check(story, 6, 92)["decision"]  # 2024-06-01, with no maintain run
    assert d["outcome"] == "allow"
    assert measure(d)["reason"].endswith(
        "entry 1 ended on 2024-06-01: the publication period of the ground record ended"
    )
    # The daily run writes what checks already knew, and the past stays as it was.
    assert story.maintain(at(92))["ended_ground_lapsed"] == 1
    assert story.steps(1)[-1] == ("expire", "expired", "system:maintain")
    assert check(story, 6, 93, as_of=80)["decision"]["outcome"] == "deny"
    assert story.maintain(at(93))["ended_ground_lapsed"] == 0


# -- removal does not rewrite the past -------------------------------------------------------------


def test_a_check_as_of_a_listed_day_still_denies_after_the_later_removal(story: Story) -> None:
    listed(story, 7)
    story.ingest([org_row("B-7", 7, revision=2, performance="performed")], at(60))
    assert story.maintain(at(61))["ended_ground_changed"] == 1
    past = check(story, 7, 70, as_of=40)["decision"]
    assert past["outcome"] == "deny"
    assert "; entry 1 later removed on 2024-05-01: the source reported the obligation met (" in measure(past)["reason"]
    now = check(story, 7, 70)["decision"]
    assert now["outcome"] == "allow"


def test_only_an_upheld_objection_voids_a_listing_from_the_start(story: Story) -> None:
    """The link of a record to its subject is the platform's own decision (the court's record and
    listing are the court's: objections to them are forwarded), so an upheld objection to the
    link voids the court listing it grounded."""
    listed(story, 8)
    sid = story.subject_of("B-8")
    o = file_objection(
        story.engine, story.catalog, subject_id=sid, target="link:court/B-8",
        grounds="the judgment names another company with our name", actor=f"subject:{sid}", now=clock_at(40),
    )  # fmt: skip
    assert "forwarded_to" not in o
    decide_objection(
        story.engine,
        story.catalog,
        o["id"],
        uphold=True,
        actor=WANG,
        reason="the court's code is another company's",
        now=clock_at(45),
    )
    past = check(story, 8, 50, as_of=35)["decision"]
    assert past["outcome"] == "allow"
    assert measure(past)["reason"].startswith(
        "does not apply: the subject has no entry in force on the List of dishonest judgment defaulters; entry 1 "
        f"void from the start: objection upheld (objection:{o['id']}): the record is no longer linked to this subject"
    )


# -- an overdue objection suspends ---------------------------------------------------------------


def test_an_objection_past_its_deadline_suspends_the_sanction_until_decided(story: Story) -> None:
    listed(story, 9)
    sid = story.subject_of("B-9")
    o = file_objection(  # the link, the platform's own: it may dismiss it (see test_attack_list_owner_records)
        story.engine, story.catalog, subject_id=sid, target="link:court/B-9",
        grounds="the judgment names another company with our name", actor=f"subject:{sid}", now=clock_at(33),
    )  # fmt: skip
    due = o["due_on"].isoformat()
    within = check(story, 9, 40)["decision"]
    assert within["outcome"] == "deny" and measure(within)["disputed"] is True
    late = check(story, 9, 70)
    d = late["decision"]
    assert d["outcome"] == "allow"
    m = measure(d)
    assert m["applies"] is False and m["suspended"] is True
    assert m["reason"] == (
        f"does not apply: suspended: objection {o['id']} to record:court/B-9 is undecided past its decision deadline "
        f"of {due}; what cannot be verified in time is not used (FCRA s.611)"
    )
    assert d["summary"].endswith(
        "A sanction is suspended: an objection to its ground is past its decision deadline, and what cannot be "
        "verified in time is not used (FCRA s.611)."
    )
    decide_objection(
        story.engine, story.catalog, o["id"], uphold=False, actor=WANG, reason="no payment", now=clock_at(71)
    )
    assert check(story, 9, 72)["decision"]["outcome"] == "deny"
    assert replay(story.engine, story.catalog, late["check_id"])["same"] is True  # as the objection stood then


# -- each national list keeps its owner --------------------------------------------------------------


def test_a_platform_reviewer_cannot_remove_a_court_listing(story: Story) -> None:
    eid = listed(story, 10)
    with pytest.raises(OwnedByAnother) as info:
        lists_service.remove(
            story.engine, story.catalog, eid, actor=WANG, reason="the debtor asked nicely", now=clock_at(40)
        )
    assert str(info.value) == (
        f"list entry {eid} is on the List of dishonest judgment defaulters, which {COURT_NAME} (court) owns: only "
        f"{COURT_NAME}'s decision (a corrected or revoked record from court) ends it, not a removal on this platform"
    )
    assert story.state(eid, at(40)) == "listed"


def test_credit_repair_cannot_end_a_court_listing(story: Story) -> None:
    eid = listed(story, 11)
    sid = story.subject_of("B-11")
    r = file_repair(
        story.engine, story.catalog, subject_id=sid, record="court/B-11", evidence_ref="receipt 2024-77",
        commitment=True, actor=f"subject:{sid}", now=clock_at(400),
    )  # fmt: skip
    with pytest.raises(InvalidInput) as info:
        decide_repair(
            story.engine, story.catalog, r["id"], approve=True, actor=WANG, reason="paid in full", now=clock_at(401)
        )
    assert str(info.value) == (
        f"repair request {r['id']} cannot be approved: list entry {eid} is on the List of dishonest judgment "
        f"defaulters, which {COURT_NAME} (court) owns: only {COURT_NAME}'s decision (a corrected or revoked record "
        "from court) ends it, not a credit repair on this platform"
    )
    assert story.state(eid, at(401)) == "listed"


# -- check answers carry the whole chain -------------------------------------------------------------


def test_a_check_names_the_lists_legal_basis_and_the_decision_document_and_signs_them(story: Story) -> None:
    listed(story, 12)
    result = check(story, 12, 40)
    m = measure(result["decision"])
    [basis] = m["basis"]
    assert basis["document_no"] == "(2024)浙01执12号" and basis["list_legal_basis"] == LIST_BASIS
    assert "grounded on record court/B-12 (decision (2024)浙01执12号); list legal basis: " + LIST_BASIS in m["reason"]
    cert = certificate_of(story.engine, result["check_id"])
    signed = verify(cert, {key_id(KEY.public_key()): KEY.public_key()}).payload
    assert measure(signed["decision"])["basis"][0]["document_no"] == "(2024)浙01执12号"


def test_a_check_stored_before_the_chain_was_added_still_replays_the_same(story: Story) -> None:
    listed(story, 13)
    result = check(story, 13, 40)
    old = result["decision"]
    for m in old["applied"]:
        for b in m["basis"]:
            del b["document_no"], b["list_legal_basis"], b["suspended"]
    with story.engine.begin() as conn:
        conn.execute(update(checks).where(checks.c.id == result["check_id"]).values(decision=old))
    assert replay(story.engine, story.catalog, result["check_id"])["same"] is True
