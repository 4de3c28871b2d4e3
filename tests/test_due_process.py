"""Stories of due process, end to end through the real store (SQLite and PostgreSQL).

Each test is one story a registry must get right: a listing with notice, objection and appeal;
a wrong record corrected; repair refused then approved; a namesake never proposed; publication
held by an objection; a term ending with no job; and the ways a decision is refused.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from builders import make_ric, make_uscc, mistype
from process_story import BLACK, RED, SAMR, T0, WATCH, Story, at, clock_at, org_row, person_row, samr_row
from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import Conflict, InvalidInput, NotFound
from xinyong.domain.identifiers import IdentifierVault
from xinyong.domain.lists import InvalidTransition
from xinyong.domain.workdays import add_working_days
from xinyong.services import list_views
from xinyong.services import lists as lists_service
from xinyong.services.objection_rulings import decide_objection
from xinyong.services.objections import appeal, file_objection
from xinyong.services.repairs import decide_repair, file_repair
from xinyong.services.status import store_status
from xinyong.store.tables import list_transitions, objections, records, unresolved

LI, WANG = "reviewer:li", "reviewer:wang"


@pytest.fixture
def story(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> Story:
    return Story(engine, catalog, vault, tmp_path)


def listed(
    story: Story,
    ref: str,
    *,
    approve_at: float = 0,
    publish_at: float = 31,
    list_id: str = BLACK,
    source: str = "court",
) -> int:
    """Propose, approve and publish the black-list entry of a record."""
    story.maintain(at(approve_at))
    eid = story.entry(ref, list_id, source)
    assert eid is not None
    lists_service.decide(
        story.engine, story.catalog, eid, approve_it=True, actor=LI, reason="serious default", now=clock_at(approve_at)
    )
    story.maintain(at(publish_at))
    assert story.state(eid, at(publish_at)) == "listed"
    return eid


def test_default_objection_appeal_listing_then_paid_and_removed_within_three_working_days(story: Story) -> None:
    story.ingest([person_row("C-1", 1)], T0)
    assert story.maintain(at(0))["proposed"] == 1
    eid = story.entry("C-1")
    # The proposal was written after the ingestion at the same moment: the clock stamps it a tick later.
    assert eid is not None and story.state(eid, at(0.01)) == "proposed"
    sid = story.subject_of("C-1")

    lists_service.decide(
        story.engine, story.catalog, eid, approve_it=True, actor=LI, reason="unpaid judgment", now=clock_at(1)
    )
    assert story.state(eid, at(1)) == "notified"
    o = file_objection(
        story.engine,
        story.catalog,
        subject_id=sid,
        target=f"entry:{eid}",
        grounds="I paid part of it already",
        actor=f"subject:{sid}",
        now=clock_at(5),
    )
    assert story.state(eid, at(5)) == "objected"
    assert eid in story.disputes(sid).entries
    first = decide_objection(
        story.engine,
        story.catalog,
        o["id"],
        uphold=False,
        actor=LI,
        reason="partial payment does not meet the obligation",
        now=clock_at(10),
    )
    assert first["appeal_until"] == date(2024, 3, 21)
    assert story.state(eid, at(10)) == "notified"

    ap = appeal(
        story.engine, story.catalog, o["id"], grounds="the court accepted my payment plan", actor=None, now=clock_at(12)
    )
    assert story.state(eid, at(12)) == "objected"
    with pytest.raises(InvalidInput, match="different reviewer"):
        decide_objection(
            story.engine, story.catalog, ap["id"], uphold=False, actor=LI, reason="same as before", now=clock_at(20)
        )
    final = decide_objection(
        story.engine,
        story.catalog,
        ap["id"],
        uphold=False,
        actor=WANG,
        reason="no payment plan was registered with the court",
        now=clock_at(20),
    )
    assert final["appeal_until"] is None
    with pytest.raises(InvalidInput, match="only once"):
        appeal(story.engine, story.catalog, ap["id"], grounds="again", actor=None, now=clock_at(21))

    assert story.maintain(at(25))["published"] == 0  # the notice period (30 days from 2 March) runs on
    assert story.maintain(at(31))["published"] == 1
    assert story.state(eid, at(31)) == "listed"

    paid = story.ingest([person_row("C-1", 1, revision=2, performance="performed")], at(60))
    assert paid.new_versions == 1
    assert story.maintain(at(61))["ended_ground_changed"] == 1
    assert story.state(eid, at(61)) == "removed"
    last = story.steps(eid)[-1]
    assert last == ("remove", "removed", "system:maintain")
    assert at(61).date() <= add_working_days(at(60).date(), 3)
    assert story.notice_kinds(sid) == [
        "listing_proposed",
        "objection_received",
        "objection_dismissed",
        "objection_received",
        "objection_dismissed",
        "listed",
        "removed",
    ]


def test_wrong_record_objection_upheld_revokes_it_and_restores_the_score(story: Story) -> None:
    story.ingest([org_row("C-2", 2)], T0)
    sid = story.subject_of("C-2")
    story.maintain(at(0))
    eid = story.entry("C-2")
    assert eid is not None
    from xinyong.services.refresh import rescore_subjects

    rescore_subjects(story.engine, story.catalog, [sid], at(1))
    assert story.points(sid, at(1)) == 60.0
    o = file_objection(
        story.engine,
        story.catalog,
        subject_id=sid,
        target="record:court/C-2",
        grounds="this judgment is about another company",
        actor=f"subject:{sid}",
        now=clock_at(2),
    )
    assert ("court", "C-2") in story.disputes(sid).records
    decide_objection(
        story.engine,
        story.catalog,
        o["id"],
        uphold=True,
        actor=LI,
        reason="the court confirmed a clerical error",
        now=clock_at(5),
        revoke=True,
    )
    with story.engine.connect() as conn:
        versions = conn.execute(
            select(records.c.revision, records.c.version, records.c.status, records.c.superseded_at)
            .where(records.c.source_ref == "C-2")
            .order_by(records.c.revision, records.c.version)
        ).all()
    assert [(v.revision, v.version, v.status, v.superseded_at is not None) for v in versions] == [
        (1, 0, "active", True),
        (1, 1, "revoked", False),  # the platform's version of the court's revision 1
    ]
    assert story.points(sid, at(5)) == 100.0
    assert story.state(eid, at(5)) == "withdrawn"
    assert story.notice_kinds(sid, "source:court") == ["record_corrected"]
    assert "objection_upheld" in story.notice_kinds(sid)
    assert not story.disputes(sid).records
    with pytest.raises(Conflict, match="already decided"):
        decide_objection(
            story.engine, story.catalog, o["id"], uphold=False, actor=WANG, reason="late second view", now=clock_at(6)
        )


def test_corrected_attribute_that_meets_the_obligation_withdraws_the_proposal(story: Story) -> None:
    story.ingest([person_row("C-3", 3)], T0)
    sid = story.subject_of("C-3")
    story.maintain(at(0))
    eid = story.entry("C-3")
    assert eid is not None
    o = file_objection(
        story.engine,
        story.catalog,
        subject_id=sid,
        target="record:court/C-3",
        grounds="the judgment was performed in full last year",
        actor=f"subject:{sid}",
        now=clock_at(1),
    )
    with pytest.raises(InvalidInput, match="either revokes it"):
        decide_objection(
            story.engine, story.catalog, o["id"], uphold=True, actor=LI, reason="performed", now=clock_at(2)
        )
    with pytest.raises(InvalidInput, match="no attribute 'colour'"):
        decide_objection(
            story.engine,
            story.catalog,
            o["id"],
            uphold=True,
            actor=LI,
            reason="performed",
            now=clock_at(2),
            set_attributes={"colour": "red"},
        )
    with pytest.raises(InvalidInput, match="performance"):
        decide_objection(
            story.engine,
            story.catalog,
            o["id"],
            uphold=True,
            actor=LI,
            reason="performed",
            now=clock_at(2),
            set_attributes={"performance": "done"},
        )
    decide_objection(
        story.engine,
        story.catalog,
        o["id"],
        uphold=True,
        actor=LI,
        reason="the receipt was verified",
        now=clock_at(2),
        set_attributes={"performance": "performed"},
    )
    assert story.state(eid, at(2)) == "withdrawn"
    with story.engine.connect() as conn:
        attrs = conn.scalar(select(records.c.attributes).where(records.c.source_ref == "C-3", records.c.version == 1))
    assert attrs["performance"] == "performed"


def test_serious_record_repair_refused_at_six_months_approved_at_twelve(story: Story) -> None:
    story.ingest([samr_row("M-4", 4)], T0, source="samr")
    sid = story.subject_of("M-4", "samr")
    eid = listed(story, "M-4", list_id=SAMR, source="samr")
    r1 = file_repair(
        story.engine,
        story.catalog,
        subject_id=sid,
        record="samr/M-4",
        evidence_ref="receipt 2024-881",
        commitment=True,
        actor=f"subject:{sid}",
        now=clock_at(182),
    )
    assert r1["unmet"] == ["period_not_served"]
    with pytest.raises(InvalidInput, match="minimum period"):
        decide_repair(
            story.engine, story.catalog, r1["id"], approve=True, actor=LI, reason="evidence is fine", now=clock_at(184)
        )
    refused = decide_repair(
        story.engine,
        story.catalog,
        r1["id"],
        approve=False,
        actor=LI,
        reason="a serious record is repairable after twelve months",
        now=clock_at(184),
    )
    assert refused["unmet"] == ["period_not_served"]
    assert refused["reapply_on"] == date(2025, 2, 25)
    with pytest.raises(InvalidInput, match="apply again from 2025-02-25"):
        file_repair(
            story.engine,
            story.catalog,
            subject_id=sid,
            record="samr/M-4",
            evidence_ref="receipt 2024-881",
            commitment=True,
            actor=f"subject:{sid}",
            now=clock_at(240),
        )
    assert story.points(sid, at(362)) == 80.0
    r2 = file_repair(
        story.engine,
        story.catalog,
        subject_id=sid,
        record="samr/M-4",
        evidence_ref="receipt 2024-881",
        commitment=True,
        actor=f"subject:{sid}",
        now=clock_at(362),
    )
    assert r2["unmet"] == []
    assert r2["due_on"] == add_working_days(at(362).date(), 10)
    decide_repair(
        story.engine,
        story.catalog,
        r2["id"],
        approve=True,
        actor=WANG,
        reason="obligation met, commitment filed",
        now=clock_at(365),
    )
    assert story.state(eid, at(365)) == "repaired"
    assert story.points(sid, at(365)) == 100.0
    kinds = story.notice_kinds(sid)
    assert kinds[-3:] == ["repair_received", "repaired", "repair_approved"]
    assert "repair_refused" in kinds


def test_credit_repair_cannot_end_the_court_s_listing(story: Story) -> None:
    """The court's list is the court's: only its own decision (the obligation performed, the
    judgment revoked) ends an entry, so a repair of its ground is refused as not repairable."""
    story.ingest([org_row("C-9", 9)], T0)
    sid = story.subject_of("C-9")
    listed(story, "C-9")
    r = file_repair(
        story.engine,
        story.catalog,
        subject_id=sid,
        record="court/C-9",
        evidence_ref="receipt 2025-090",
        commitment=True,
        actor=f"subject:{sid}",
        now=clock_at(400),
    )
    assert r["unmet"] == ["not_repairable"]
    with pytest.raises(InvalidInput, match="cannot be approved"):
        decide_repair(
            story.engine, story.catalog, r["id"], approve=True, actor=WANG, reason="the debt is paid", now=clock_at(401)
        )


def test_repair_refusal_must_name_what_is_unmet_and_evidence_is_required(story: Story) -> None:
    story.ingest([org_row("C-5", 5)], T0)
    sid = story.subject_of("C-5")
    r = file_repair(
        story.engine,
        story.catalog,
        subject_id=sid,
        record="court/C-5",
        evidence_ref=None,
        commitment=False,
        actor=f"subject:{sid}",
        now=clock_at(400),
    )
    assert r["unmet"] == ["obligation_not_met", "no_commitment"]
    with pytest.raises(Conflict, match="still open"):
        file_repair(
            story.engine,
            story.catalog,
            subject_id=sid,
            record="court/C-5",
            evidence_ref="x",
            commitment=True,
            actor=f"subject:{sid}",
            now=clock_at(401),
        )
    with pytest.raises(InvalidInput, match="unmet"):
        decide_repair(
            story.engine,
            story.catalog,
            r["id"],
            approve=False,
            actor=LI,
            reason="not yet",
            now=clock_at(402),
            unmet=["nonsense"],
        )
    d = decide_repair(
        story.engine, story.catalog, r["id"], approve=False, actor=LI, reason="no proof of payment", now=clock_at(402)
    )
    assert d["unmet"] == ["obligation_not_met", "no_commitment"] and d["reapply_on"] == at(402).date()


def test_namesake_with_an_invalid_identifier_is_never_proposed(story: Story) -> None:
    story.ingest([person_row("C-6", 6, id_number=mistype(make_ric(6)))], T0)
    with story.engine.connect() as conn:
        assert conn.scalar(select(records.c.subject_id).where(records.c.source_ref == "C-6")) is None
        assert conn.scalar(select(unresolved.c.id)) is not None
    assert story.maintain(at(0))["proposed"] == 0
    assert story.entry("C-6") is None


def test_a_probable_link_never_leads_to_a_proposal(story: Story) -> None:
    story.ingest([person_row("C-7", 7)], T0)
    with story.engine.begin() as conn:
        conn.execute(update(records).where(records.c.source_ref == "C-7").values(link_method="probable"))
    assert story.maintain(at(0))["proposed"] == 0
    with story.engine.begin() as conn:
        conn.execute(update(records).where(records.c.source_ref == "C-7").values(link_method="confirmed"))
    assert story.maintain(at(0))["proposed"] == 1


def test_pending_objection_holds_publication_until_decided_and_the_appeal_period_passes(story: Story) -> None:
    story.ingest([person_row("C-8", 8)], T0)
    sid = story.subject_of("C-8")
    story.maintain(at(0))
    eid = story.entry("C-8")
    assert eid is not None
    lists_service.decide(
        story.engine, story.catalog, eid, approve_it=True, actor=LI, reason="unpaid judgment", now=clock_at(0)
    )
    o = file_objection(
        story.engine,
        story.catalog,
        subject_id=sid,
        target="record:court/C-8",
        grounds="the amount is wrong by ten times",
        actor=f"subject:{sid}",
        now=clock_at(10),
    )
    done = story.maintain(at(31))
    assert (done["published"], done["held_by_objection"]) == (0, 1)
    assert story.state(eid, at(31)) == "notified"
    decide_objection(
        story.engine,
        story.catalog,
        o["id"],
        uphold=False,
        actor=LI,
        reason="the amount matches the judgment",
        now=clock_at(35),
    )
    assert story.maintain(at(36))["held_by_objection"] == 1  # the subject may still appeal
    assert story.maintain(at(46))["published"] == 1
    assert story.state(eid, at(46)) == "listed"


def test_term_end_expires_without_a_job_then_maintain_records_it(story: Story) -> None:
    story.ingest([person_row("C-9", 9)], T0)
    sid = story.subject_of("C-9")
    eid = listed(story, "C-9")
    ends = list_views.entry_detail(story.engine, story.catalog, eid, known_at=at(31))["ends_on"]
    assert ends == date(2026, 4, 1)
    day_before = at((ends - T0.date()).days - 1)
    on_the_day = at((ends - T0.date()).days)
    assert story.state(eid, day_before) == "listed"
    assert story.state(eid, on_the_day) == "expired"  # no maintain run in between
    public = list_views.entries(story.engine, list_id=BLACK, state="listed", day=on_the_day.date())
    assert eid not in [e["id"] for e in public]
    assert story.maintain(on_the_day)["expired"] == 1
    assert story.steps(eid)[-1] == ("expire", "expired", "system:maintain")
    assert story.notice_kinds(sid)[-1] == "expired"


def test_extension_needs_a_listing_in_force_and_stays_within_bounds(story: Story) -> None:
    e = -731  # two years before the other stories (1 March 2022): the extended term ends before today
    story.ingest([person_row("C-10", 10, decided_on="2022-02-20", valid_from="2022-02-25")], at(e))
    eid = listed(story, "C-10", approve_at=e, publish_at=e + 31)
    with pytest.raises(InvalidInput, match="12 to 36 months"):
        lists_service.extend(
            story.engine, story.catalog, eid, months=48, actor=LI, reason="repeated default", now=clock_at(e + 700)
        )
    with pytest.raises(InvalidInput, match="needs a reason"):
        lists_service.extend(story.engine, story.catalog, eid, months=12, actor=LI, reason=" ", now=clock_at(e + 700))
    view = lists_service.extend(
        story.engine,
        story.catalog,
        eid,
        months=12,
        actor=WANG,  # not the reviewer who approved the listing
        reason="a new default judgment on the same obligation",
        now=clock_at(e + 700),
    )
    assert view.ends_on == date(2025, 4, 1)
    assert story.state(eid, at(e + 800)) == "listed"
    with pytest.raises(InvalidTransition, match="not in force"):
        lists_service.extend(
            story.engine, story.catalog, eid, months=12, actor=WANG, reason="too late now", now=clock_at(e + 1200)
        )


def test_link_objection_upheld_unlinks_the_record_and_withdraws_the_entry(story: Story) -> None:
    story.ingest([person_row("C-11", 11)], T0)
    sid = story.subject_of("C-11")
    story.maintain(at(0))
    eid = story.entry("C-11")
    assert eid is not None
    o = file_objection(
        story.engine,
        story.catalog,
        subject_id=sid,
        target="link:court/C-11",
        grounds="the court mixed me up with a namesake",
        actor=f"subject:{sid}",
        now=clock_at(1),
    )
    decide_objection(
        story.engine,
        story.catalog,
        o["id"],
        uphold=True,
        actor=LI,
        reason="the court confirmed a mix-up",
        now=clock_at(3),
    )
    with story.engine.connect() as conn:
        cur = conn.execute(
            select(records).where(records.c.source_ref == "C-11", records.c.superseded_at.is_(None))
        ).one()
        queued = conn.scalar(select(unresolved.c.reason_code).where(unresolved.c.record_id == cur.id))
    assert cur.subject_id is None and queued == "link_disputed"
    assert story.state(eid, at(3)) == "withdrawn"
    assert story.maintain(at(4))["proposed"] == 0


def test_overdue_objections_and_repairs_are_flagged_and_counted(story: Story) -> None:
    story.ingest([org_row("C-12", 12)], T0)
    sid = story.subject_of("C-12")
    o = file_objection(
        story.engine,
        story.catalog,
        subject_id=sid,
        target="record:court/C-12",
        grounds="we never were party to this case",
        actor=f"subject:{sid}",
        now=clock_at(0),
    )
    assert o["due_on"] == add_working_days(T0.date(), 15)
    file_repair(
        story.engine,
        story.catalog,
        subject_id=sid,
        record="court/C-12",
        evidence_ref="bank slip 77",
        commitment=True,
        actor=f"subject:{sid}",
        now=clock_at(0),
    )
    assert story.maintain(at(10))["overdue_objections"] == 0
    late = story.maintain(at(30))
    assert (late["overdue_objections"], late["overdue_repairs"]) == (1, 1)
    status = store_status(story.engine, now=clock_at(30))
    assert status["due_process"]["overdue_objections"] == 1
    assert status["due_process"]["overdue_repairs"] == 1


def test_watch_list_needs_no_reviewer_and_red_list_proposals_can_be_rejected(story: Story) -> None:
    tax = {
        "revision": 1,
        "subject_name": "杭州某某有限公司",
        "id_scheme": "cn.uscc",
        "id_number": make_uscc(13),
        "decided_on": "2024-02-20",
        "valid_from": "2024-02-25",
        "valid_until": "",
        "document_no": "杭税欠 1",
    }
    rows = [
        {**tax, "source_ref": "T-1", "record_type": "tax.arrears", "amount_cny": "250000", "tax_kind": "vat"},
        {**tax, "source_ref": "T-2", "record_type": "tax.a_grade", "rating_year": "2026"},
    ]
    result = story.ingest(rows, T0, source="tax")
    assert result.rejected == 0, result
    story.maintain(at(0))
    watch, red = story.entry("T-1", WATCH, "tax"), story.entry("T-2", RED, "tax")
    assert watch is not None and red is not None
    assert story.state(watch, at(0.01)) == "notified"  # maintained a tick after the ingestion at at(0)
    assert [s[2] for s in story.steps(watch)] == ["system:maintain", "system:maintain"]
    lists_service.decide(
        story.engine,
        story.catalog,
        red,
        approve_it=False,
        actor=WANG,
        reason="the A grade is under tax review",
        now=clock_at(1),
    )
    assert story.state(red, at(1)) == "withdrawn"
    assert story.maintain(at(31))["published"] == 1
    assert story.state(watch, at(31)) == "listed"


def test_decisions_refuse_bad_input_and_change_nothing(story: Story, engine: Engine) -> None:
    story.ingest([person_row("C-14", 14), person_row("C-15", 15)], T0)
    sid, other = story.subject_of("C-14"), story.subject_of("C-15")
    story.maintain(at(0))
    eid = story.entry("C-14")
    assert eid is not None
    with pytest.raises(InvalidInput, match="expected 'reviewer:NAME'"):
        lists_service.decide(
            engine, story.catalog, eid, approve_it=True, actor="li", reason="unpaid judgment", now=clock_at(1)
        )
    with pytest.raises(InvalidInput, match="needs a reason"):
        lists_service.decide(engine, story.catalog, eid, approve_it=True, actor=LI, reason="ok", now=clock_at(1))
    with pytest.raises(NotFound, match="no list entry 999"):
        lists_service.decide(
            engine, story.catalog, 999, approve_it=True, actor=LI, reason="unpaid judgment", now=clock_at(1)
        )
    with pytest.raises(InvalidInput, match="10 to 2000"):
        file_objection(
            engine,
            story.catalog,
            subject_id=sid,
            target="record:court/C-14",
            grounds="no",
            actor="subject:1",
            now=clock_at(1),
        )
    with pytest.raises(NotFound, match="no record court/C-14 in your file"):
        file_objection(
            engine,
            story.catalog,
            subject_id=other,
            target="record:court/C-14",
            grounds="not mine at all, clearly",
            actor=f"subject:{other}",
            now=clock_at(1),
        )
    with pytest.raises(InvalidInput, match="start with record:"):
        file_objection(
            engine,
            story.catalog,
            subject_id=sid,
            target="case:1",
            grounds="not mine at all, clearly",
            actor=f"subject:{sid}",
            now=clock_at(1),
        )
    with pytest.raises(InvalidTransition, match="cannot publish"), engine.connect() as conn:
        lists_service.apply(
            conn,
            story.catalog.lists[BLACK],
            eid,
            lists_service.Action.PUBLISH,
            actor="system:maintain",
            reason="too early",
        )
    with engine.connect() as conn:
        assert conn.scalar(select(objections.c.id)) is None
        assert [r.action for r in conn.execute(select(list_transitions.c.action))] == ["propose", "propose"]
    lists_service.decide(
        engine, story.catalog, eid, approve_it=True, actor=LI, reason="unpaid judgment", now=clock_at(1)
    )
    with pytest.raises(InvalidTransition, match="is notified: it cannot approve"):
        lists_service.decide(
            engine, story.catalog, eid, approve_it=True, actor=WANG, reason="unpaid judgment", now=clock_at(2)
        )
    o = file_objection(
        engine,
        story.catalog,
        subject_id=sid,
        target=f"entry:{eid}",
        grounds="the debt is settled now",
        actor=f"subject:{sid}",
        now=clock_at(3),
    )
    with pytest.raises(Conflict, match="still open"):
        file_objection(
            engine,
            story.catalog,
            subject_id=sid,
            target=f"entry:{eid}",
            grounds="the debt is settled now",
            actor=f"subject:{sid}",
            now=clock_at(3),
        )
    with pytest.raises(InvalidInput, match="was not dismissed"):
        appeal(engine, story.catalog, o["id"], grounds="appeal before any decision", actor=None, now=clock_at(4))
    decide_objection(
        engine, story.catalog, o["id"], uphold=False, actor=LI, reason="no proof of settlement", now=clock_at(5)
    )
    with pytest.raises(InvalidInput, match="appeal period"):
        appeal(engine, story.catalog, o["id"], grounds="too late for an appeal", actor=None, now=clock_at(16))


def test_objection_to_a_listing_keeps_it_in_force_until_its_owner_ends_it_and_a_score_objection_is_answered(
    story: Story,
) -> None:
    story.ingest([org_row("C-16", 16)], T0)
    sid = story.subject_of("C-16")
    eid = listed(story, "C-16")
    o = file_objection(
        story.engine,
        story.catalog,
        subject_id=sid,
        target=f"entry:{eid}",
        grounds="the judgment was set aside on retrial",
        actor=f"subject:{sid}",
        now=clock_at(40),
    )
    assert o["forwarded_to"] == "court", "the court owns the list: the objection goes to it"
    assert story.state(eid, at(40)) == "listed", "an objection after publication flags; it does not suspend"
    [row] = list_views.entries(story.engine, subject_id=sid, day=at(40).date())
    assert row["disputed"] is True
    story.ingest([org_row("C-16", 16, revision=2, performance="performed")], at(44))  # the court's correction
    story.maintain(at(45))
    assert story.state(eid, at(45)) == "removed"
    assert story.steps(eid)[-1] == ("remove", "removed", "system:maintain")
    [row] = list_views.entries(story.engine, subject_id=sid, day=at(45).date())
    assert row["disputed"] is False

    from xinyong.services.refresh import rescore_subjects
    from xinyong.store.tables import scores

    rescore_subjects(story.engine, story.catalog, [sid], at(46))
    with story.engine.connect() as conn:
        score_id = conn.scalar(select(scores.c.id).where(scores.c.subject_id == sid).order_by(scores.c.id.desc()))
    s = file_objection(
        story.engine,
        story.catalog,
        subject_id=sid,
        target=f"score:{score_id}",
        grounds="the deduction ignores the retrial",
        actor=f"subject:{sid}",
        now=clock_at(47),
    )
    assert score_id in story.disputes(sid).scores
    d = decide_objection(
        story.engine,
        story.catalog,
        s["id"],
        uphold=False,
        actor=LI,
        reason="the judgment record itself stands; object to the record instead",
        now=clock_at(48),
    )
    assert d["outcome"] == "dismissed" and d["appeal_until"] == date(2024, 4, 28)
    assert story.notice_kinds(sid)[-1] == "objection_dismissed"


def test_a_decision_acting_at_a_moment_behind_the_clock_reads_what_is_committed(story: Story) -> None:
    """Another department's file may commit with a later stamp between the moment a reviewer acts
    at and the start of the decision's transaction: the decision still reads every committed
    version, so the repair it approves ends the listing as a repair, and stamps after them."""
    story.ingest([samr_row("M-7", 7)], T0, source="samr")
    sid = story.subject_of("M-7", "samr")
    eid = listed(story, "M-7", list_id=SAMR, source="samr")
    r = file_repair(
        story.engine,
        story.catalog,
        subject_id=sid,
        record="samr/M-7",
        evidence_ref="receipt 2025-017",
        commitment=True,
        actor=f"subject:{sid}",
        now=clock_at(362),
    )
    assert r["unmet"] == []
    later = at(365) + timedelta(seconds=1)
    assert story.ingest([org_row("C-8", 8)], later).accepted == 1
    decide_repair(
        story.engine, story.catalog, r["id"], approve=True, actor=WANG, reason="obligation met", now=clock_at(365)
    )
    assert story.steps(eid)[-1][0] == "repair" and story.state(eid, at(366)) == "repaired"
    assert story.points(sid, at(366)) == 100.0
    assert story.notice_kinds(sid)[-2:] == ["repaired", "repair_approved"]
    with story.engine.connect() as conn:
        stamp = conn.scalar(
            select(list_transitions.c.at)
            .where(list_transitions.c.entry_id == eid)
            .order_by(list_transitions.c.seq.desc())
            .limit(1)
        )
    assert stamp > later


def test_maintenance_behind_the_clock_still_proposes_what_is_committed(story: Story) -> None:
    story.ingest([person_row("C-9", 9)], at(10))
    assert story.maintain(at(9))["proposed"] == 1
