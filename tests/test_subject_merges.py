"""Merges and splits of subjects against the real store, on SQLite and PostgreSQL: proposed,
decided by another reviewer, undone, bitemporal; the guards tested as attacks; the mark of a
person's link in checks, certificates, scores and reports; a confirmed link carried to a revision."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from builders import make_ric, make_uscc
from linking_store_world import LinkWorld, at, build, clock_at, keep_model, tax_record
from test_checks import KEY  # the test signing key
from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import Conflict, InvalidInput
from xinyong.domain.identifiers import IdentifierVault
from xinyong.reports.content import Period, gather
from xinyong.reports.text import _record_line
from xinyong.services import linking, merges
from xinyong.services.checks import certificate_of, replay, run_check
from xinyong.services.portal import my_file
from xinyong.services.subjects import resolve_subject
from xinyong.store.linking_tables import link_proposals, subject_merges
from xinyong.store.merge_tables import subject_merge_proposals
from xinyong.store.tables import notices, subjects

DOC = "市监变〔2027〕12号"
WHY = f"the registration authority's notice {DOC} says the two codes are one company"


@pytest.fixture
def world(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> LinkWorld:
    return build(engine, catalog, vault, tmp_path)


def _check(world: LinkWorld, number: str, day: float) -> dict[str, Any]:
    return run_check(world.engine, world.catalog, world.vault, KEY, identifier=number, context="finance.subsidy",
                     purpose="subsidy_application", reference=f"subsidy {day}", consumer="consumer:finance",
                     now=clock_at(day))  # fmt: skip


def _twin(world: LinkWorld) -> tuple[int, int, str, str]:
    """Company A (court record only) and a second subject B for it under another code, with a
    major tax violation: a subsidy to A is allowed until the platform holds them as one."""
    a = world.orgs[3]
    code_b = make_uscc(777001)
    world.ingest([tax_record("TX-B", a, code_b, 1)], at(1), source="tax")
    return world.subject_of_number("cn.uscc", a.uscc), world.subject_of_number("cn.uscc", code_b), a.uscc, code_b


def test_a_confirmed_merge_counts_from_its_decision_and_is_marked_everywhere(world: LinkWorld) -> None:
    sid_a, sid_b, code_a, code_b = _twin(world)
    before = _check(world, code_a, 2)
    assert before["decision"]["outcome"] == "allow"
    p = merges.propose_merge(world.engine, sid_a, sid_b, by="li", reason=WHY, document_no=DOC, now=clock_at(2))
    d = merges.decide(world.engine, world.catalog, p["proposal"], "confirm", reviewer="wang",
                      reason="the notice was checked against the register", now=clock_at(3))  # fmt: skip
    mark = f"merge decision {d['decision']} on {at(3).date().isoformat()}"
    after = _check(world, code_a, 4)
    assert after["decision"]["outcome"] == "deny"
    [applied] = after["decision"]["applied"]
    assert applied["basis"][0]["linked_by"] == mark and f"linked to the subject by {mark}" in applied["reason"]
    assert mark in certificate_of(world.engine, after["check_id"]).decode()
    by_b = _check(world, code_b, 4)  # the absorbed code resolves to the survivor
    assert by_b["decision"]["outcome"] == "deny" and by_b["subject"]["id"] == sid_a
    assert resolve_subject(world.engine, world.catalog, world.vault, code_b)[0] == sid_a
    again = replay(world.engine, world.catalog, before["check_id"])  # before the decision: two subjects
    assert again["same"] is True and again["outcome_replayed"] == "allow"

    mine = my_file(world.engine, world.catalog, sid_a, at(4))
    [moved] = [r for r in mine["records"] if r["source_ref"] == "TX-B"]
    assert moved["link_mark"] == mark
    marked = [c for c in mine["score"]["contributions"] if c.get("linked_by") == mark]
    assert marked and all(f"Linked to the subject by {mark}" in c["reason"] for c in marked)
    report = gather(world.engine, world.catalog, sid_a, Period(date(2023, 1, 1), at(4).date()),
                    public=False, today=at(4).date())  # fmt: skip
    shown = [r for s in report["sources"] for r in s["records"] if r["document_no"] == "杭税稽 1"]
    assert [r["linked_by"] for r in shown] == [mark]
    assert f"(linked to the subject by {mark}, not by an identifier)" in _record_line("en", shown[0])
    assert f"经{mark}人工确认归属该主体" in _record_line("zh", shown[0])
    with world.engine.connect() as conn:
        told = conn.execute(select(notices.c.subject_id).where(notices.c.event_ref.like(f"merge:{d['decision']}:%")))
        assert sorted(t.subject_id for t in told) == sorted([sid_a, sid_b])

    undone = merges.undo(world.engine, world.catalog, d["decision"], reviewer="zhao",
                         reason="the notice was withdrawn by the authority", now=clock_at(5))  # fmt: skip
    assert undone["records_kept"] == []
    assert _check(world, code_a, 6)["decision"]["outcome"] == "allow"
    back = _check(world, code_b, 6)
    assert back["subject"]["id"] == sid_b and "linked to the subject by" not in str(back["decision"]["applied"])
    assert replay(world.engine, world.catalog, after["check_id"])["outcome_replayed"] == "deny"
    history = merges.history(world.engine, sid_b, at(6))
    [prop] = history["proposals"]
    assert [(x["outcome"], x["reverses"]) for x in prop["decisions"]] == [
        ("confirm", None), ("undo", d["decision"])
    ]  # fmt: skip
    assert prop["state"] == "open" and history["stands_for"] == sid_b
    assert [(e["action"], e["reverses"]) for e in history["effects"]] == [
        ("merge", None), ("split", history["effects"][0]["id"])
    ]  # fmt: skip


def test_a_split_reverses_a_merge_and_a_rejection_changes_nothing(world: LinkWorld) -> None:
    sid_a, sid_b, code_a, _ = _twin(world)
    first = merges.propose_merge(world.engine, sid_a, sid_b, by="li", reason=WHY, document_no=DOC, now=clock_at(2))
    merges.decide(world.engine, world.catalog, first["proposal"], "reject", reviewer="wang",
                  reason="the notice names another company", now=clock_at(2.5))  # fmt: skip
    assert _check(world, code_a, 2.6)["decision"]["outcome"] == "allow"
    with pytest.raises(Conflict, match="was decided already"):
        merges.decide(world.engine, world.catalog, first["proposal"], "confirm", reviewer="zhao",
                      reason="changed my mind", now=clock_at(2.7))  # fmt: skip
    p = merges.propose_merge(world.engine, sid_a, sid_b, by="li", reason=WHY, document_no=DOC, now=clock_at(3))
    merges.decide(
        world.engine, world.catalog, p["proposal"], "confirm", reviewer="wang", reason="checked it", now=clock_at(3)
    )
    with world.engine.connect() as conn:
        merge_id = conn.scalar(select(subject_merges.c.id).where(subject_merges.c.action == "merge"))
    s = merges.propose_split(world.engine, sid_a, by="zhao", reason="two companies after all", merge_id=merge_id,
                             now=clock_at(4))  # fmt: skip
    split = merges.decide(world.engine, world.catalog, s["proposal"], "confirm", reviewer="wang",
                          reason="the register shows two companies", now=clock_at(5))  # fmt: skip
    assert _check(world, code_a, 6)["decision"]["outcome"] == "allow"
    assert world.current("TX-B", "tax").subject_id == sid_b and world.current("TX-B", "tax").link_method == "identifier"
    assert split["effect"] is not None


def test_merge_attacks_are_refused_in_words(world: LinkWorld) -> None:
    sid_a, sid_b, _, _ = _twin(world)
    person = world.subject_of_number("cn.ric", world.persons[0].ric)
    e = world.engine
    with pytest.raises(InvalidInput, match=f"subject {sid_a} cannot be merged with itself"):
        merges.propose_merge(e, sid_a, sid_a, by="li", reason=WHY, now=clock_at(2))
    with pytest.raises(InvalidInput, match=f"subject {sid_a} is a organisation and subject {person} a person"):
        merges.propose_merge(e, sid_a, person, by="li", reason=WHY, document_no=DOC, now=clock_at(2))
    with pytest.raises(InvalidInput, match=r"each have their own cn\.uscc identifier: a merge needs the document"):
        merges.propose_merge(e, sid_a, sid_b, by="li", reason="they look like the same company", now=clock_at(2))
    with pytest.raises(InvalidInput, match=f"the reason must cite the document '{DOC}'"):
        merges.propose_merge(
            e, sid_a, sid_b, by="li", reason="a notice says they are one", document_no=DOC, now=clock_at(2)
        )
    p = merges.propose_merge(e, sid_a, sid_b, by="li", reason=WHY, document_no=DOC, now=clock_at(2))
    with pytest.raises(Conflict, match=r"li proposed merge \d+: another reviewer decides it"):
        merges.decide(
            e, world.catalog, p["proposal"], "confirm", reviewer="li", reason="my own proposal", now=clock_at(3)
        )
    with pytest.raises(InvalidInput, match=r"outcome 'unsure': expected confirm or reject"):
        merges.decide(e, world.catalog, p["proposal"], "unsure", reviewer="wang", reason="cannot tell", now=clock_at(3))
    merges.decide(e, world.catalog, p["proposal"], "confirm", reviewer="wang", reason="checked it", now=clock_at(3))
    other = world.subject_of_number("cn.uscc", world.orgs[5].uscc)
    with pytest.raises(Conflict, match=f"subject {sid_b} was merged into subject {sid_a}"):
        merges.propose_merge(e, sid_b, other, by="li", reason=WHY, document_no=DOC, now=clock_at(4))
    with pytest.raises(InvalidInput, match=f"subjects {sid_a} and {person} are not of one kind"):
        merges.propose_split(e, sid_a, by="li", reason="it is his", to=person, records=["tax/TX-B"], now=clock_at(4))
    with pytest.raises(InvalidInput, match="a split names either the merge it reverses or the records it moves"):
        merges.propose_split(e, sid_a, by="li", reason="not one company", now=clock_at(4))


def test_a_document_number_is_checked_whenever_one_is_given(world: LinkWorld) -> None:
    """Reviewers and admins read a proposal's document on its page: a number given where no
    identifier is shared (so none is required) is held to the same rules as a required one."""
    sid_a = world.subject_of_number("cn.uscc", world.orgs[3].uscc)
    with world.engine.begin() as conn:  # a subject with no identifier: no document is required to merge it
        bare = conn.execute(
            insert(subjects).values(kind="organisation", display_name="无证照商户", created_at=datetime.now(UTC))
        ).inserted_primary_key[0]
    ric = make_ric(7, "19900307", "110101")
    refused = {
        f"杭税稽 {ric}": "document_no: the text holds a resident identity number",
        "杭税稽\u202e 1": r"document_no: the text holds a control character \(U\+202E\) at position 4",
        "杭税稽\x00 1": r"document_no: the text holds a control character \(U\+0000\) at position 4",
        "杭税稽\n1": r"document_no: the text holds a control character \(U\+000A\)",
        "号" * 65: r"document_no: 1 to 64 printable characters \(got 65\)",
    }
    for doc, message in refused.items():
        with pytest.raises(InvalidInput, match=message):
            merges.propose_merge(
                world.engine, sid_a, bare, by="li", reason="one trader, two rows", document_no=doc, now=clock_at(2)
            )
    with world.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(subject_merge_proposals)) == 0, "nothing stored"
    p = merges.propose_merge(
        world.engine, sid_a, bare, by="li", reason="one trader, two rows", document_no=" 杭税稽 1 ", now=clock_at(2)
    )
    with world.engine.connect() as conn:
        stored = conn.scalar(
            select(subject_merge_proposals.c.document_no).where(subject_merge_proposals.c.id == p["proposal"])
        )
    assert stored == "杭税稽 1"


def test_a_split_moves_named_records_to_another_subject(world: LinkWorld) -> None:
    sid_a, sid_b, _, code_b = _twin(world)
    s = merges.propose_split(world.engine, sid_b, by="li", reason="the tax office meant company A", to=sid_a,
                             records=["tax/TX-B"], now=clock_at(2))  # fmt: skip
    with pytest.raises(InvalidInput, match=f"record tax/TX-B is not linked to subject {sid_a}"):
        merges.propose_split(world.engine, sid_a, by="li", reason="wrong subject", to=sid_b, records=["tax/TX-B"],
                             now=clock_at(2))  # fmt: skip
    d = merges.decide(
        world.engine, world.catalog, s["proposal"], "confirm", reviewer="wang", reason="agreed", now=clock_at(3)
    )
    moved = world.current("TX-B", "tax")
    assert moved.subject_id == sid_a and moved.link_method == "confirmed"
    assert _check(world, code_b, 4)["decision"]["outcome"] == "allow"  # B is not merged: its record left it
    merges.undo(
        world.engine, world.catalog, d["decision"], reviewer="zhao", reason="the office corrected it", now=clock_at(5)
    )
    assert world.current("TX-B", "tax").subject_id == sid_b


def _confirmed_tax_link(world: LinkWorld) -> tuple[Any, dict[str, Any], str]:
    keep_model(world)
    org = world.orgs[3]
    written = org.uscc[:10] + ("0" if org.uscc[10] != "0" else "1") + org.uscc[11:]
    world.ingest([tax_record("TX-1", org, written, 1)], at(1), source="tax")
    with world.engine.connect() as conn:
        best = conn.execute(
            select(link_proposals).where(link_proposals.c.source_ref == "TX-1", link_proposals.c.rank == 1)
        ).one()
    done = linking.decide(world.engine, world.catalog, best.id, "confirm", reviewer="li",
                          reason="same company: one digit of the code mistyped", now=clock_at(3))  # fmt: skip
    return best, done, written


def test_a_revision_of_a_record_linked_by_review_keeps_its_link(world: LinkWorld) -> None:
    best, done, written = _confirmed_tax_link(world)
    linked = world.current("TX-1", "tax")  # the platform's version 1 of the department's revision 1
    assert (linked.revision, linked.version) == (1, 1)
    revised = {**tax_record("TX-1", world.orgs[3], written, 1), "revision": 2, "amount_cny": "950000"}
    result = world.ingest([revised], at(4), source="tax")
    assert result.new_versions == 1 and result.unresolved == 1  # ingestion alone leaves it unresolved
    now = world.current("TX-1", "tax")
    assert (now.revision, now.version) == (2, 1)
    assert now.subject_id == best.subject_id and now.link_method == "confirmed"
    mine = my_file(world.engine, world.catalog, best.subject_id, at(5))
    [rec] = [r for r in mine["records"] if r["source_ref"] == "TX-1"]
    carried = f"review {done['judgement']} on {at(3).date().isoformat()} (carried to revision 2)"
    assert rec["link_mark"] == carried and str(rec["attributes"]["amount_cny"]).startswith("950000")
    assert _check(world, world.orgs[3].uscc, 5)["decision"]["outcome"] == "deny"


def test_a_revision_that_brings_a_valid_identifier_links_by_it_alone(world: LinkWorld) -> None:
    best, _, _ = _confirmed_tax_link(world)
    other = world.orgs[6]
    revised = {**tax_record("TX-1", other, other.uscc, 1), "revision": 2}  # the department's own next revision
    world.ingest([revised], at(4), source="tax")
    now = world.current("TX-1", "tax")
    assert (now.revision, now.version) == (2, 0) and now.link_method == "identifier"
    assert now.subject_id == world.subject_of_number("cn.uscc", other.uscc) != best.subject_id


def test_a_record_arriving_under_the_absorbed_code_follows_the_merge(world: LinkWorld) -> None:
    sid_a, sid_b, _, code_b = _twin(world)
    p = merges.propose_merge(world.engine, sid_a, sid_b, by="li", reason=WHY, document_no=DOC, now=clock_at(2))
    d = merges.decide(
        world.engine, world.catalog, p["proposal"], "confirm", reviewer="wang", reason="checked", now=clock_at(3)
    )
    world.ingest([tax_record("TX-C", world.orgs[3], code_b, 2)], at(4), source="tax")
    arrived = world.current("TX-C", "tax")
    assert arrived.subject_id == sid_a and arrived.link_method == "confirmed"
    mine = my_file(world.engine, world.catalog, sid_a, at(5))
    [rec] = [r for r in mine["records"] if r["source_ref"] == "TX-C"]
    assert rec["link_mark"] == f"merge decision {d['decision']} on {at(3).date().isoformat()}"
    merges.undo(world.engine, world.catalog, d["decision"], reviewer="zhao", reason="withdrawn notice", now=clock_at(6))
    assert world.current("TX-C", "tax").subject_id == sid_b  # the undo takes it back too


def test_a_subject_with_a_list_entry_in_progress_is_never_merged_away(world: LinkWorld) -> None:
    from xinyong.services.maintain import maintain

    maintain(world.engine, world.catalog, at(2))  # the court records of the identified companies are proposed
    x = world.subject_of_number("cn.uscc", world.orgs[5].uscc)
    y = world.subject_of_number("cn.uscc", world.orgs[6].uscc)
    with pytest.raises(Conflict, match=f"subject {y} has list entries in progress \\(entry \\d+ on "):
        merges.propose_merge(world.engine, x, y, by="li", reason=WHY, document_no=DOC, now=clock_at(3))
    with pytest.raises(Conflict, match=r"record court/O-6 grounds entry \d+ in progress"):
        merges.propose_split(world.engine, y, by="li", reason="the court meant x", to=x, records=["court/O-6"],
                             now=clock_at(3))  # fmt: skip


def test_confirming_a_match_to_a_merged_away_subject_links_the_survivor(world: LinkWorld) -> None:
    keep_model(world)
    sid_a, sid_b, _, code_b = _twin(world)
    typo = code_b[:10] + ("0" if code_b[10] != "0" else "1") + code_b[11:]
    world.ingest([tax_record("TX-2", world.orgs[3], typo, 3)], at(2), source="tax")
    with world.engine.connect() as conn:
        best = conn.execute(
            select(link_proposals).where(link_proposals.c.source_ref == "TX-2", link_proposals.c.subject_id == sid_b)
        ).one()  # one digit off B's code: B is a candidate (the company's name makes A another)
    p = merges.propose_merge(world.engine, sid_a, sid_b, by="li", reason=WHY, document_no=DOC, now=clock_at(3))
    merges.decide(
        world.engine, world.catalog, p["proposal"], "confirm", reviewer="wang", reason="checked", now=clock_at(3)
    )
    linking.decide(world.engine, world.catalog, best.id, "confirm", reviewer="zhao", reason="one digit mistyped",
                   now=clock_at(4))  # fmt: skip
    assert world.current("TX-2", "tax").subject_id == sid_a


def test_after_a_merge_the_absorbed_records_ground_list_entries_of_the_survivor(world: LinkWorld) -> None:
    from linking_store_world import org_record
    from xinyong.services.maintain import maintain
    from xinyong.store.tables import list_entries

    a = world.orgs[3]
    code_b = make_uscc(777004)
    world.ingest([org_record("O-B", a, code_b, 880)], at(1))
    sid_a, sid_b = world.subject_of_number("cn.uscc", a.uscc), world.subject_of_number("cn.uscc", code_b)
    p = merges.propose_merge(world.engine, sid_a, sid_b, by="li", reason=WHY, document_no=DOC, now=clock_at(1.5))
    merges.decide(
        world.engine, world.catalog, p["proposal"], "confirm", reviewer="wang", reason="checked", now=clock_at(1.5)
    )
    maintain(world.engine, world.catalog, at(2))
    with world.engine.connect() as conn:
        on = conn.scalar(select(list_entries.c.subject_id).where(list_entries.c.source_ref == "O-B"))
    assert on == sid_a
