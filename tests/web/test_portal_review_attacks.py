"""Attacks on the reviewers' decision pages: hostile text stored in names, reasons, document
numbers and actors is shown escaped on every merge page and in a refusal; hostile bytes in a form
answer a page, never a server error; an objection's bad correction line is refused on its page
with what was typed, and nothing is stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update

from builders import make_ric
from xinyong.services.objections import file_objection
from xinyong.store.merge_tables import subject_merge_proposals
from xinyong.store.tables import objection_decisions, records, subjects

from .conftest import Portal, Visitor, World

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _twin(portal: Portal) -> int:
    with portal.engine.connect() as conn:
        q = select(records.c.subject_id).where(records.c.source_ref == "TX-W", records.c.superseded_at.is_(None))
        return int(conn.scalar(q))  # type: ignore[arg-type]


def _reviewer(world: World, visit: Any) -> Visitor:
    v: Visitor = visit()
    assert v.sign_in(world.keys["reviewer"]).status_code == 303
    return v


def test_hostile_names_reasons_documents_and_actors_are_escaped(
    portal: Portal, world: World, merge: int, visit: Any
) -> None:
    twin = _twin(portal)
    with portal.engine.begin() as conn:  # what no service may write today, in case one ever does
        conn.execute(update(subjects).where(subjects.c.id == twin).values(display_name=HOSTILE))
        conn.execute(
            update(subject_merge_proposals)
            .where(subject_merge_proposals.c.id == merge)
            .values(reason=HOSTILE, document_no=HOSTILE[:64], proposed_by="reviewer:" + HOSTILE)
        )
    v = _reviewer(world, visit)
    for path in ("/review", f"/review/merges/{merge}", f"/review/subjects/{twin}/merges"):
        page = v.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, path
        assert "&lt;script&gt;" in page.text or "&lt;img" in page.text, path
    # A refusal shows what was typed: escaped too.
    path = f"/review/merges/{merge}"
    refused = f"{HOSTILE} {make_ric(7, '19900307', '110101')}"  # refused for the identifier: shown again
    r = v.post(f"{path}/decision", {"decision": "confirm", "reason": refused}, form_page=path)
    assert r.status_code == 422 and "&lt;script&gt;" in r.text, r.status_code
    assert "<script>alert" not in r.text and "<img src=x" not in r.text
    assert v.post(f"{path}/decision", {"decision": "confirm", "reason": HOSTILE}, form_page=path).status_code == 303
    page = v.get(path)  # the stored reason, in the decision's history
    assert "&lt;script&gt;" in page.text and "<script>alert" not in page.text and "<img src=x" not in page.text


def test_hostile_bytes_in_a_decision_form_answer_a_page_not_a_500(
    portal: Portal, world: World, merge: int, visit: Any
) -> None:
    v = _reviewer(world, visit)
    home = f"/review/merges/{merge}"
    answers = {}
    for name, raw in {
        "nul": "checked%00the register",
        "surrogate": "checked %ED%A0%80 the register",
        "overlong": "checked %C0%AF the register",
        "percent": "checked 100%25 of the register",
    }.items():
        token = v.csrf(home)
        r = v.client.post(
            home + "/decision", content=f"decision=reject&reason={raw}&csrf={token}".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        answers[name] = r.status_code
        assert r.status_code < 500 and "Traceback" not in r.text, (name, r.status_code, r.text[:300])


def test_a_bad_correction_line_is_refused_on_the_page(portal: Portal, world: World, visit: Any) -> None:
    sid = world.proposed_company
    filed = file_objection(
        portal.engine, portal.catalog, subject_id=sid, target="record:court/H-3", grounds="paid in full already",
        actor=f"subject:{sid}", now=datetime.now(UTC),
    )  # fmt: skip
    v = visit()
    assert v.sign_in(world.keys["reviewer"]).status_code == 303
    path = f"/review/objections/{filed['id']}"
    body = {"decision": "uphold", "remedy": "correct", "corrections": "amount 12", "reason": "The court says so."}
    r = v.post(path + "/decision", body, form_page=path)
    assert r.status_code == 422 and "line 1: write each correction as name=value" in r.text
    assert "amount 12" in r.text and "The court says so." in r.text, "what was typed is kept"
    r = v.post(path + "/decision", {**body, "decision": "maybe"}, form_page=path)
    assert r.status_code == 422 and "Choose a decision." in r.text
    with portal.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(objection_decisions)) == 0
