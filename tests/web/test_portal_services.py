"""The services written for the portal, on both stores: what a decision will change (and that
the decision then changes exactly that), the dashboards' aggregates, and the what-if page."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from typing import Any

from builders import make_uscc
from xinyong.services.dashboards import dashboards
from xinyong.services.decision_previews import preview_entry, preview_objection
from xinyong.services.list_views import entry_detail
from xinyong.services.objection_rulings import decide_objection
from xinyong.services.objections import file_objection
from xinyong.services.owner_answers import answer_forwarded
from xinyong.services.portal import my_file

from .conftest import Portal, World


def test_the_preview_of_an_objection_is_what_upholding_it_then_does(portal: Portal, world: World) -> None:
    now = datetime.now(UTC)
    sid = world.listed_company
    # The link, the platform's own decision: an objection to the court's record behind its listing
    # is the court's to decide, and no platform reviewer upholds it (test_attack_list_owner_records).
    filed = file_objection(
        portal.engine, portal.catalog, subject_id=sid, target="link:court/H-1",
        grounds="the judgment is about another company", actor=f"subject:{sid}", now=now,
    )  # fmt: skip
    assert "forwarded_to" not in filed
    preview = preview_objection(portal.engine, portal.catalog, filed["id"], now)
    codes = [e["code"] for e in preview["uphold"]]
    assert codes[0] == "unlink" and "end_entry" in codes and codes[-1] == "rescore"
    [ending] = [e for e in preview["uphold"] if e["code"] == "end_entry"]
    assert preview["scores"] == {
        "before": {"status": "scored", "points": 60.0, "grade": "C"},
        "after": {"status": "scored", "points": 100.0, "grade": "A"},
    }
    assert preview["dismiss"][-1]["code"] == "appeal_until" and preview["dismiss"][-1]["until"] > now.date()
    decide_objection(
        portal.engine, portal.catalog, filed["id"], uphold=True, actor="reviewer:wang",
        reason="the court's code is another company's", now=now,
    )  # fmt: skip
    after = my_file(portal.engine, portal.catalog, sid)
    assert (after["score"]["points"], after["score"]["grade"]) == (100.0, "A")
    assert (
        entry_detail(portal.engine, portal.catalog, ending["entry"], known_at=datetime.now(UTC))["state"] == "removed"
    )


def test_a_forwarded_objection_offers_a_reviewer_no_decision_and_says_who_decides(
    portal: Portal, world: World, visit: Any
) -> None:
    sid = world.listed_company
    filed = file_objection(
        portal.engine, portal.catalog, subject_id=sid, target="record:court/H-1", grounds="paid in full already",
        actor=f"subject:{sid}", now=datetime.now(UTC),
    )  # fmt: skip
    assert filed["forwarded_to"] == "court"
    reviewer = visit()
    reviewer.sign_in(world.keys["reviewer"])
    page = reviewer.get(f"/review/objections/{filed['id']}")
    assert page.status_code == 200
    assert "Forwarded to court, which decides it" in page.text
    assert "A platform reviewer cannot uphold or dismiss it." in page.text
    assert f'action="/review/objections/{filed["id"]}/decision"' not in page.text, "no form that would be refused"
    preview = preview_objection(portal.engine, portal.catalog, filed["id"], datetime.now(UTC))
    assert preview["forwarded_to"] == "court" and preview["uphold"] == preview["dismiss"] == []


def test_the_owners_answer_shows_on_the_reviewers_page_and_in_the_subjects_file(
    portal: Portal, world: World, visit: Any
) -> None:
    sid = world.listed_company
    filed = file_objection(
        portal.engine, portal.catalog, subject_id=sid, target="record:court/H-1", grounds="paid in full already",
        actor=f"subject:{sid}", now=datetime.now(UTC),
    )  # fmt: skip
    reasons = "no payment reached the account of the court; the judgment is unperformed"
    answer_forwarded(
        portal.engine, portal.catalog, filed["id"], source="court", answer="record_stands", reasons=reasons,
        reference="(2026)浙01执异7号", now=datetime.now(UTC),
    )  # fmt: skip
    reviewer = visit()
    reviewer.sign_in(world.keys["reviewer"])
    page = reviewer.get(f"/review/objections/{filed['id']}")
    assert page.status_code == 200
    assert f"its record stands: {reasons} (source:court)" in page.text
    assert "(2026)浙01执异7号" in page.text
    assert "court, which owns the list, answered that its record stands" in page.text
    assert f'action="/review/objections/{filed["id"]}/decision"' not in page.text
    for lang, words in (
        ("en", ["answered by court", "its decision (2026)浙01执异7号", "offers no appeal of it", "object again"]),
        (
            "zh-CN",
            ["名单所属部门已答复：记录正确，决定维持", "由 court 答复", "其决定书 (2026)浙01执异7号", "不设平台复核"],
        ),
    ):
        company = visit(lang)
        company.sign_in(world.keys["subject"])
        mine = company.get("/me")
        assert mine.status_code == 200
        row = mine.text[mine.text.index(f'id="objection-{filed["id"]}"') :]
        row = row[: row.index("</tr>")]
        for word in words:
            assert word in row, (lang, word, row)
    notice = my_file(portal.engine, portal.catalog, sid)["notices"]
    assert any(n["kind"] == "objection_maintained" for n in notice)


def test_the_preview_of_a_proposal_names_the_lists_notice_and_term(portal: Portal, world: World) -> None:
    listing = portal.catalog.lists["black.court_defaulters"]
    p = preview_entry(portal.engine, portal.catalog, world.proposal, datetime.now(UTC))
    assert p["state"] == "proposed"
    assert p["approve"][0] == {"code": "notify", "days": listing.notice_days}
    assert p["approve"][1]["months"] == listing.term_months and p["reject"] == [{"code": "withdraw"}]


def test_the_dashboards_count_what_the_store_holds(portal: Portal, world: World, visit: Any) -> None:
    consumer = portal.key("consumer", "finance-bureau", scopes={"contexts": ["procurement.tender"]})
    for purpose in ("bidder_screening", "contract_award"):
        r = visit().client.post(
            "/v1/checks",
            json={"subject": make_uscc(61), "context": "procurement.tender", "purpose": purpose},
            headers={"Authorization": f"Bearer {consumer}"},
        )
        assert r.status_code == 200, r.text
    today = datetime.now(UTC).date()
    file_objection(
        portal.engine, portal.catalog, subject_id=world.listed_company, target="record:court/H-1",
        grounds="the judgment was paid", actor=f"subject:{world.listed_company}", now=datetime.now(UTC),
    )  # fmt: skip
    d = dashboards(portal.engine, today)
    grades = {(r["subject_kind"], r["grade"]): r["subjects"] for r in d["grades"]}
    assert grades[("organisation", "C")] == 2 and grades[("person", "not_opted_in")] == 1
    now_month = [r for r in d["lists"] if r["month"] == today.isoformat()[:7]]
    assert now_month == [{"month": today.isoformat()[:7], "list": "black.court_defaulters", "entries": 2}]
    assert sum(r["records"] for r in d["sources"]) == 3 and {r["source"] for r in d["sources"]} == {"court"}
    objections = next(r for r in d["deadlines"] if r["kind"] == "objections")
    assert objections["open_in_time"] == 1 and objections["decided_late"] == 0
    assert d["checks"] == [{"day": today.isoformat(), "context": "procurement.tender", "checks": 2}]


def _rulesets() -> str:
    return (resources.files("xinyong.policy") / "rulesets.yaml").read_text(encoding="utf-8")


def test_the_what_if_page_compares_a_pasted_ruleset_and_names_a_broken_one(world: World, visit: Any) -> None:
    admin = visit()
    admin.sign_in(world.keys["admin"])
    harsher = _rulesets().replace(
        "{id: defaulter, record_type: court.defaulter, points: -40,",
        "{id: defaulter, record_type: court.defaulter, points: -70,",
        1,
    )
    assert harsher != _rulesets()
    form = {"old": "org.supervision@1.0", "new": "org.supervision@1.0", "rulesets": harsher, "as_of": ""}
    page = admin.post("/admin/whatif", form)
    assert page.status_code == 200, page.text[-2000:]
    assert "2 subjects compared" in page.text and "C -&gt; D" in page.text and "0 keep their grade" in page.text
    broken = admin.post("/admin/whatif", {**form, "rulesets": harsher.replace("points: -70", "points: lots")})
    assert broken.status_code == 422 and "rulesets.yaml" in broken.text
    assert "xinyong-web-whatif" not in broken.text, "the problem names the file, not the copy it was read from"
    huge = admin.post("/admin/whatif", {**form, "rulesets": "#" * 200_001})
    assert huge.status_code == 422
