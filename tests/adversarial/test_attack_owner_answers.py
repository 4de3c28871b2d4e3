"""A list's owner answers a forwarded objection that its record stands, under attack through the real store.

An objection forwarded to the court (about its listing, or its record behind one) used to close
only by the court's corrected record or the end of the entry: a court that found its record right
had no way to say so, and the subject never heard an answer. The court now answers `record_stands`
with reasons: the objection closes as `owner_maintained`, decided by the court, in one transaction
with its audit event; the dispute mark lifts; the subject is told who answered, why, that the
platform can change nothing and offers no appeal, and how to ask the court itself to review its
decision. Every other caller and every other answer is refused, and nothing is stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from attack import hostile_catalog
from sqlalchemy import Engine, func, select
from test_attack_list_owner_records import body_to, object_to
from test_attack_list_owners import COURT, LI, denied, listed, objected

from builders import make_ric, ok, xy
from process_story import T0, Story, at, clock_at, org_row
from servers import env_for
from xinyong.domain.catalog import Catalog, CatalogError, load_catalog
from xinyong.domain.disputes import Outcome
from xinyong.domain.errors import Conflict, InvalidInput, NotFound
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services import lists as lists_service
from xinyong.services.objection_views import objection_detail
from xinyong.services.owner_answers import answer_forwarded, forwarded_objections
from xinyong.store.tables import audit_events, notices, objection_decisions
from xinyong.store.unit_of_work import AuditNote

REASONS = "the judgment of 2024-02-20 is unperformed: no payment reached the court's account"
STANDS = "answered by its owner (court): the record stands"


@pytest.fixture
def story(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> Story:
    return Story(engine, catalog, vault, tmp_path)


def answer(story: Story, oid: int, *, source: str = "court", day: float = 45, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"answer": "record_stands", "reasons": REASONS, "reference": None, **kw}
    return answer_forwarded(
        story.engine, story.catalog, oid, source=source, now=clock_at(day),
        audit=AuditNote(f"source:{source}", "objection_record_stands", "due process", f"objection:{oid}"), **args,
    )  # fmt: skip


def decisions(story: Story) -> int:
    with story.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(objection_decisions)) or 0)


@pytest.mark.parametrize("to", ["entry", "record"])
def test_the_court_answers_that_its_record_stands_and_the_subject_is_told_how_to_ask_the_court(
    story: Story, to: str
) -> None:
    eid = listed(story, 1)
    sid = story.subject_of("O-1")
    o = objected(story, 1, eid) if to == "entry" else object_to(story, 1, "record:court/O-1")
    assert o["forwarded_to"] == "court"
    told = body_to(story, "source:court", f"objection:{o['id']}:forwarded")
    assert f"If it is right, answer so with your reasons (POST /v1/forwarded-objections/{o['id']}/answer" in told
    disputed = story.disputes(sid)
    assert eid in disputed.entries or ("court", "O-1") in disputed.records
    done = answer(story, o["id"], reference="(2024)浙01执异12号")
    assert done["outcome"] == "owner_maintained" and done["decided_by"] == "source:court"
    detail = objection_detail(story.engine, o["id"])
    assert (detail["outcome"], detail["decided_by"], detail["decision_reason"], detail["reference"]) == (
        "owner_maintained", "source:court", REASONS, "(2024)浙01执异12号",
    )  # fmt: skip
    assert detail["state"] == STANDS
    assert detail["appeal_until"] is None, "the owner decided, not a reviewer: no platform appeal"
    lifted = story.disputes(sid)
    assert not lifted.entries and not lifted.records, "the dispute mark lifts with the answer"
    assert story.state(eid, at(45)) == "listed", "the record stands: the entry stays in force"
    assert story.notice_kinds(sid)[-1] == "objection_maintained"
    body = body_to(story, "subject", f"objection:{o['id']}:decided:subject")
    assert f"{COURT} (court), which made record court/O-1 and owns the List of dishonest judgment defaulters" in body
    assert "answered that its record stands (its decision (2024)浙01执异12号)" in body
    assert f"Why: {REASONS}" in body
    assert f"the platform cannot change a decision of {COURT}, and offers no appeal of this answer" in body
    assert "a written application for correction to the court that made the decision" in body
    assert "Fa Shi [2017] No. 7, Art. 11-12" in body, "the basis comes from the list's review_basis"
    assert "If new facts arise" in body and "you may object again" in body
    with story.engine.connect() as conn:
        title = conn.scalar(
            select(notices.c.title).where(notices.c.event_ref == f"objection:{o['id']}:decided:subject")
        )
        decided_at = conn.scalar(select(objection_decisions.c.at))
        event = conn.execute(
            select(audit_events.c.actor, audit_events.c.action, audit_events.c.target, audit_events.c.at).where(
                audit_events.c.action == "objection_record_stands"
            )
        ).one()
    assert str(title).startswith("异议答复告知（原决定维持） | Objection")
    assert event[:3] == ("source:court", "objection_record_stands", f"objection:{o['id']}")
    assert event.at == decided_at == clock_at(45), "the answer and its audit event are one transaction's stamp"


def test_a_subject_may_object_again_after_the_answer_and_it_is_forwarded_again(story: Story) -> None:
    eid = listed(story, 2)
    first = objected(story, 2, eid)
    answer(story, first["id"])
    again = objected(story, 2, eid, day=50)
    assert again["forwarded_to"] == "court" and again["id"] != first["id"]
    assert objection_detail(story.engine, again["id"])["state"] == "forwarded to court"


def test_an_answer_past_the_deadline_ends_the_suspension_it_caused(story: Story) -> None:
    """Undecided past its deadline, a forwarded objection suspends the court's sanction (FCRA s.611);
    the court's answer decides it, and from then on the sanction applies again."""
    listed(story, 3)
    o = object_to(story, 3, "record:court/O-3", day=33)
    assert not denied(story, 3, 70), "past the deadline, undecided: suspended"
    answer(story, o["id"], day=71)
    assert denied(story, 3, 72), "answered: the record stands and is used again"


def test_the_owner_lists_what_is_forwarded_to_it_and_no_one_elses(story: Story) -> None:
    eid = listed(story, 4)
    to_entry = objected(story, 4, eid)
    to_record = object_to(story, 4, "record:court/O-4", day=41)
    answer(story, to_entry["id"], day=42)
    rows, total = forwarded_objections(story.engine, "court", state=None, now=at(43), start=0, limit=50)
    assert total == 2 and [r["id"] for r in rows] == [to_entry["id"], to_record["id"]]
    closed, still = rows
    assert (closed["outcome"], closed["reasons"], closed["state"]) == ("owner_maintained", REASONS, STANDS)
    assert (still["target"], still["record"], still["entry_id"], still["outcome"]) == (
        "record court/O-4", "court/O-4", eid, None,
    )  # fmt: skip
    assert still["grounds"] == "the judgment was paid in full" and still["list_id"] == "black.court_defaulters"
    opened, n_open = forwarded_objections(story.engine, "court", state="open", now=at(43), start=0, limit=50)
    assert n_open == 1 and opened[0]["id"] == to_record["id"]
    assert forwarded_objections(story.engine, "tax", state=None, now=at(43), start=0, limit=50) == ([], 0)
    later, n_later = forwarded_objections(story.engine, "court", state="closed", now=at(42 + 91), start=0, limit=50)
    assert (later, n_later) == ([], 0), "a closed objection leaves the owner's list after 90 days"


# -- refusals: nothing is stored ---------------------------------------------------------------------------


def test_another_department_is_answered_as_for_an_objection_that_does_not_exist(story: Story) -> None:
    eid = listed(story, 5)
    o = objected(story, 5, eid)
    for source, oid in (("tax", o["id"]), ("court", 999_999)):
        with pytest.raises(NotFound) as info:
            answer(story, oid, source=source)
        assert str(info.value) == f"no objection {oid} forwarded to you"
    assert decisions(story) == 0
    assert objection_detail(story.engine, o["id"])["state"] == "forwarded to court"


def test_an_objection_not_forwarded_is_the_platforms_to_decide(story: Story) -> None:
    story.ingest([org_row("O-6", 6)], T0)
    story.maintain(at(0))
    eid = story.entry("O-6")
    assert eid is not None
    lists_service.decide(story.engine, story.catalog, eid, approve_it=True, actor=LI, reason="unpaid", now=clock_at(0))
    o = object_to(story, 6, "record:court/O-6", day=5)
    assert "forwarded_to" not in o, "before publication the platform's reviewers decide"
    with pytest.raises(Conflict) as info:
        answer(story, o["id"], day=6)
    assert str(info.value) == (
        f"objection {o['id']} was not forwarded to a list's owner: it is the platform's to decide, by a reviewer. "
        "A department answers only the objections forwarded to it (GET /v1/forwarded-objections); to correct or "
        "revoke your record, submit it with a higher revision"
    )
    with pytest.raises(NotFound) as other:
        answer(story, o["id"], source="tax", day=6)
    assert str(other.value) == f"no objection {o['id']} forwarded to you", "not about tax's record: not tax's business"
    assert decisions(story) == 0


def test_an_objection_already_closed_is_refused_naming_how_it_closed(story: Story) -> None:
    eid = listed(story, 7)
    o = objected(story, 7, eid)
    answer(story, o["id"], day=45)
    with pytest.raises(Conflict) as twice:
        answer(story, o["id"], day=46)
    assert str(twice.value) == (
        f"objection {o['id']} is already closed: owner_maintained by source:court on {at(45).date().isoformat()}; "
        "nothing is left to answer"
    )
    resolved = object_to(story, 7, "record:court/O-7", day=47)
    story.ingest([org_row("O-7", 7, revision=2, performance="performed")], at(48))
    story.maintain(at(49))
    with pytest.raises(Conflict) as late:
        answer(story, resolved["id"], day=50)
    assert str(late.value) == (
        f"objection {resolved['id']} is already closed: owner_resolved by source:court on "
        f"{at(49).date().isoformat()}; nothing is left to answer"
    )
    assert decisions(story) == 2


CONTROL = "reasons: the text holds a control character (U+{code}) at position {at}; write plain text (line breaks and tabs are fine)"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("reasons", "", "reasons: say in 5 to 1000 characters why your record stands; the subject reads them (got 0)"),
        ("reasons", " \t \n  ", "reasons: say in 5 to 1000 characters why your record stands; the subject reads them (got 0)"),
        ("reasons", "x" * 10_000, "reasons: say in 5 to 1000 characters why your record stands; the subject reads them (got 10000)"),
        ("reasons", "unpaid\x07 still", CONTROL.format(code="0007", at=7)),
        ("reasons", "unpaid\x0bstill unpaid", CONTROL.format(code="000B", at=7)),
        ("reasons", "unpaid \u202egnorw", CONTROL.format(code="202E", at=8)),
        ("reasons", "unpaid \x85 still", CONTROL.format(code="0085", at=8)),
        ("reasons", f"the debtor {make_ric(41)} has not paid",
         "reasons: the text holds a resident identity number; write no identifier in free text (the subject is "
         "named by the request itself, and this text is stored, audited and shown to others)"),
        ("reference", "  ", "reference: your decision document's number in 1 to 200 characters, or leave it out (got 0)"),
        ("reference", "(2024)\x1b[2J", "reference: the text holds a control character (U+001B) at position 7; write it on one line of plain text"),
        ("answer", "record_revoked",
         "answer 'record_revoked': the only answer is record_stands (your record is right, with your reasons). To "
         "correct or revoke the record, submit it corrected or revoked with a higher revision (POST /v1/records): "
         "that ends the entry and closes the objection as resolved by you"),
        ("answer", "RECORD_STANDS",
         "answer 'RECORD_STANDS': the only answer is record_stands (your record is right, with your reasons). To "
         "correct or revoke the record, submit it corrected or revoked with a higher revision (POST /v1/records): "
         "that ends the entry and closes the objection as resolved by you"),
    ],
    ids=["empty", "whitespace", "10000", "bell", "vertical-tab", "bidi", "c1", "identifier", "blank-ref", "escape-ref",
         "other-answer", "case"],
)  # fmt: skip
def test_bad_answers_are_refused_naming_the_field_and_nothing_is_stored(
    story: Story, field: str, value: str, message: str
) -> None:
    eid = listed(story, 8)
    o = objected(story, 8, eid)
    with pytest.raises(InvalidInput) as info:
        answer(story, o["id"], **{field: value})
    assert str(info.value) == message
    assert decisions(story) == 0
    assert objection_detail(story.engine, o["id"])["state"] == "forwarded to court"
    with story.engine.connect() as conn:
        assert conn.scalar(select(audit_events.c.id).where(audit_events.c.action == "objection_record_stands")) is None


def test_the_command_line_shows_the_owners_answer(story: Story, db_env: dict[str, str], tmp_path: Path) -> None:
    eid = listed(story, 9)
    o = objected(story, 9, eid)
    answer(story, o["id"], reference="(2024)浙01执异9号")
    shown = ok(xy(env_for(db_env), "objections", "show", str(o["id"]), cwd=tmp_path)).stdout
    assert f"  owner_maintained by source:court on {at(45).date().isoformat()}: {REASONS}" in shown
    assert "  the owner's decision: (2024)浙01执异9号" in shown
    assert "no appeal on the platform; the subject may ask the owner to review its decision" in shown


def test_every_outcome_fits_its_column() -> None:
    assert max(len(o.value) for o in Outcome) <= objection_decisions.c.outcome.type.length  # type: ignore[attr-defined]


REVIEW_BASIS = (
    "    review_basis:\n      instrument: Provisions of the Supreme People's Court on the Publication of the List of "
    "Dishonest Judgment Defaulters\n      document: Fa Shi [2017] No. 7\n      article: Art. 11-12\n"
)


@pytest.mark.parametrize(
    ("edits", "why"),
    [
        ([(REVIEW_BASIS, "")], "'review_route' and 'review_basis' go together: the owner's review and its provision"),
        ([("    owner: court\n", "")], "'review_route' names the review of a list's owner: set 'owner', or drop it"),
    ],
    ids=["route-without-basis", "route-without-owner"],
)
def test_an_owners_review_without_its_provision_or_its_owner_is_refused(
    tmp_path: Path, edits: list[tuple[str, str]], why: str
) -> None:
    root = hostile_catalog(tmp_path, edits={"lists.yaml": edits})
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    assert f"lists.yaml:8: list 'black.court_defaulters': field '(entry)': Value error, {why} [invalid-value]" in [
        str(p) for p in info.value.problems
    ]
