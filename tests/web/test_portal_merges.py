"""Reviewers' merges and splits in the portal, on SQLite and PostgreSQL over a real server: the
queue lists a waiting proposal, its page shows both subjects side by side, a confirmation moves the
records (the store says so), a rejection leaves them, an undo puts them back; every other role,
a missing CSRF token, a bad id and a bad reason are refused with the service's message and nothing
is stored; both languages show no untranslated string; in a real browser (Debian's Chromium) with
axe, a reviewer confirms and undoes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine, select

from builders import make_uscc
from xinyong.domain.catalog import Catalog
from xinyong.services import merge_views, merges
from xinyong.services.corrections import new_version
from xinyong.store.linking_tables import subject_merges
from xinyong.store.merge_tables import subject_merge_decisions
from xinyong.store.tables import audit_events, identifiers, records

from .conftest import MERGE_DOCUMENT, Portal, Visitor, World
from .test_portal_browser import _page, _serious, _shot, _sign_in
from .test_portal_i18n import _catalog, _texts, _untranslated

TWIN = ("tax", "TX-W")  # the record of the company under its other code (tests/web/conftest.py)
WHY = "The notice of the registration authority was checked against the register."


def _subject_of(engine: Engine, source: str, ref: str) -> int:
    with engine.connect() as conn:
        q = select(records.c.subject_id).where(
            records.c.source_id == source, records.c.source_ref == ref, records.c.superseded_at.is_(None)
        )
        return int(conn.scalar(q))  # type: ignore[arg-type]


def _decisions(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        q = select(subject_merge_decisions.c.outcome, subject_merge_decisions.c.reviewer)
        return [(r.outcome, r.reviewer) for r in conn.execute(q.order_by(subject_merge_decisions.c.id))]


def _reviewer(world: World, visit: Any, lang: str = "en") -> Visitor:
    v: Visitor = visit(lang)
    assert v.sign_in(world.keys["reviewer"]).status_code == 303
    return v


@pytest.fixture
def twin(portal: Portal, world: World, merge: int) -> int:
    """The subject that proposal `merge` would absorb into the listed company."""
    sid = _subject_of(portal.engine, *TWIN)
    assert sid != world.listed_company
    return sid


def test_the_queue_lists_the_proposal_and_its_page_shows_both_subjects(
    portal: Portal, world: World, merge: int, twin: int, visit: Any
) -> None:
    v = _reviewer(world, visit)
    queue = v.get("/review")
    assert queue.status_code == 200
    section = queue.text.split('aria-labelledby="merges"', 1)[1].split("</section>", 1)[0]
    assert "Merge and split proposals (1)" in section
    assert f'href="/review/merges/{merge}"' in section and f"Merge proposal {merge}" in section
    assert "reviewer:li" in section and f"{world.listed_company} " in section and f"{twin} " in section

    page = v.get(f"/review/merges/{merge}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = " ".join(_texts(page.text))
    assert f"Kept: subject {world.listed_company}" in text and f"Absorbed: subject {twin}" in text
    assert "reviewer:li" in text and MERGE_DOCUMENT in text and "the two codes are one company" in text
    with portal.engine.connect() as conn:
        masks = dict(conn.execute(select(identifiers.c.subject_id, identifiers.c.masked)).all())
    assert masks[world.listed_company] in text and masks[twin] in text, "identifiers as the store masks them"
    court, tax = portal.catalog.sources["court"].name, portal.catalog.sources["tax"].name
    assert f"{court}: 1 record(s)" in text and f"{tax}: 1 record(s)" in text
    assert "温州某某实业有限公司" in text and "organisation" in text
    entries = page.text.split("List entries", 1)[1].split("</tr>", 1)[0]
    assert 'href="/review/entries/' in entries and "(listed)" in entries, "the kept company's black-list entry"
    assert "If you confirm" in text and "The 1 current record(s) of subject" in text and "tax/TX-W" in text
    assert f"Subject {world.listed_company} remains" in text and "It can be undone" in text
    assert f'action="/review/merges/{merge}/decision"' in page.text and "No decision yet." in text
    assert f'href="/review/subjects/{twin}/merges"' in page.text
    with portal.engine.connect() as conn:
        read = conn.execute(
            select(audit_events.c.actor, audit_events.c.target).where(audit_events.c.action == "read_subject_merge")
        ).all()
    assert ("reviewer:wang", f"subject_merge:{merge}") in read, "the read of two subjects' data is audited"


def test_a_confirmation_moves_the_records_and_an_undo_puts_them_back(
    portal: Portal, world: World, merge: int, twin: int, visit: Any
) -> None:
    v = _reviewer(world, visit)
    path = f"/review/merges/{merge}"
    done = v.post(path + "/decision", {"decision": "confirm", "reason": WHY}, form_page=path)
    assert done.status_code == 303 and done.headers["location"] == path + "?decided=1"
    assert _subject_of(portal.engine, *TWIN) == world.listed_company
    assert _decisions(portal.engine) == [("confirm", "reviewer:wang")]
    page = v.get(path + "?decided=1")
    text = " ".join(_texts(page.text))
    assert "The decision is stored" in text and "confirmed" in text and "If you confirm" not in text
    assert f"from subject {twin} to subject {world.listed_company}" in text
    assert f"Merged into — subject {world.listed_company}" in text, "the absorbed side says where it went"
    [decision] = re.findall(r'action="/review/merges/\d+/decisions/(\d+)/undo"', page.text)

    history = v.get(f"/review/subjects/{twin}/merges")
    assert history.status_code == 200 and f"is merged into subject {world.listed_company}" in history.text
    assert f'href="/review/merges/{merge}"' in history.text and "confirmed" in history.text

    undo = f"{path}/decisions/{decision}/undo"
    assert v.post(undo, {"reason": "The authority withdrew its notice."}, form_page=path).status_code == 303
    assert _subject_of(portal.engine, *TWIN) == twin
    assert [o for o, _ in _decisions(portal.engine)] == ["confirm", "undo"]
    text = " ".join(_texts(v.get(path).text))
    assert "undone later" in text and "If you confirm" in text, "an undone confirmation opens the proposal again"
    again = v.post(undo, {"reason": "Undo it once more."}, form_page=path)
    assert again.status_code == 409 and "reversed already" in again.text
    assert "What you wrote, not stored" in again.text and "Undo it once more." in again.text
    with portal.engine.connect() as conn:
        actions = set(conn.scalars(select(audit_events.c.action)))
    assert {"merge_confirm", "merge_undo", "read_subject_merges"} <= actions


def test_a_page_lists_so_many_records_and_counts_the_rest(
    portal: Portal, world: World, merge: int, twin: int, visit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large organisation's records are counted by source, not all listed: the page stays small."""
    monkeypatch.setattr(merge_views, "SHOWN", 0)  # the proposal moves one record: none is listed, one counted
    v = _reviewer(world, visit)
    path = f"/review/merges/{merge}"
    text = " ".join(_texts(v.get(path).text))
    assert "tax/TX-W" not in text and "And 1 more records, not listed here" in text
    assert v.post(path + "/decision", {"decision": "confirm", "reason": WHY}, form_page=path).status_code == 303
    text = " ".join(_texts(v.get(path).text))
    assert "Records moved" in text and "tax/TX-W" not in text and "and 1 more" in text
    assert _subject_of(portal.engine, *TWIN) == world.listed_company, "the cap is the page's, not the decision's"


def test_a_rejection_leaves_the_records_and_a_second_decision_is_a_conflict(
    portal: Portal, world: World, merge: int, twin: int, visit: Any
) -> None:
    v = _reviewer(world, visit)
    path = f"/review/merges/{merge}"
    reason = "The notice names another company."
    assert v.post(path + "/decision", {"decision": "reject", "reason": reason}, form_page=path).status_code == 303
    assert _subject_of(portal.engine, *TWIN) == twin
    later = "Looked again: they are one."
    again = v.post(path + "/decision", {"decision": "confirm", "reason": later}, form_page=path)
    assert again.status_code == 409 and f"proposal {merge} was decided already" in again.text
    assert later in again.text, "what the reviewer typed is kept on the page"
    assert _decisions(portal.engine) == [("reject", "reviewer:wang")]
    assert _subject_of(portal.engine, *TWIN) == twin
    with portal.engine.connect() as conn:
        assert conn.scalar(select(subject_merges.c.id)) is None


def test_the_proposer_cannot_decide_and_a_bad_reason_is_refused_with_the_services_message(
    portal: Portal, world: World, merge: int, visit: Any
) -> None:
    path = f"/review/merges/{merge}"
    proposer = visit()
    assert proposer.sign_in(portal.key("reviewer", "li")).status_code == 303
    own = proposer.post(path + "/decision", {"decision": "confirm", "reason": WHY}, form_page=path)
    assert own.status_code == 409 and "another reviewer decides it" in own.text
    assert WHY in own.text and re.search(r'id="d-confirm"[^>]*checked', own.text), "the form keeps what was typed"

    v = _reviewer(world, visit)
    too_long = "x" * 1001
    for reason, status, message in [
        ("", 422, "needs a reason the subject can read"),
        ("   ", 422, "needs a reason the subject can read"),
        (too_long, 422, "the reason is 1001 characters; at most 1000"),
        ("paid \u202etrue\u202c in full", 422, "control character (U+202E)"),
        ("checked \x1b[31m the register", 422, "control character (U+001B)"),
        (f"the code is {make_uscc(64)}", 422, "holds a unified social credit code"),
    ]:
        r = v.post(path + "/decision", {"decision": "confirm", "reason": reason}, form_page=path)
        assert r.status_code == status and message in r.text, (reason[:20], r.status_code)
        assert "The decision was not taken" in r.text
    kept = v.post(path + "/decision", {"decision": "reject", "reason": too_long}, form_page=path)
    assert f">{too_long}</textarea>" in kept.text and re.search(r'id="d-reject"[^>]*checked', kept.text)
    unchosen = v.post(path + "/decision", {"decision": "merge", "reason": WHY}, form_page=path)
    assert unchosen.status_code == 422 and "Choose a decision." in unchosen.text
    huge = v.post(path + "/decision", {"decision": "confirm", "reason": "y" * 5000}, form_page=path)
    assert huge.status_code == 422, "beyond what a form may carry"
    assert _decisions(portal.engine) == []
    assert _subject_of(portal.engine, *TWIN) != world.listed_company


def test_other_roles_are_refused_as_on_the_match_pages(portal: Portal, world: World, merge: int, visit: Any) -> None:
    path = f"/review/merges/{merge}"
    writes = [path + "/decision", path + "/decisions/1/undo"]
    body = {"decision": "confirm", "reason": WHY}

    anonymous = visit()
    r = anonymous.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/signin?next={path}"
    for w in writes:
        r = anonymous.post(w, body, form_page="/signin", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin"), w
    for role in ("source", "consumer"):  # machine keys: no session, so the public's answer
        machine = visit()
        assert machine.sign_in(world.keys[role]).status_code == 401
        r = machine.get(path, headers={"Authorization": f"Bearer {world.keys[role]}"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin")

    subject = visit()
    assert subject.sign_in(world.keys["subject"]).status_code == 303
    assert subject.get(path).status_code == 403
    assert subject.get(f"/review/subjects/{world.listed_company}/merges").status_code == 403
    for w in writes:
        assert subject.post(w, body, form_page="/").status_code == 403, w

    admin = visit()
    assert admin.sign_in(world.keys["admin"]).status_code == 303
    page = admin.get(path)
    assert page.status_code == 200 and "Kept: subject" in page.text and "/decision" not in page.text, "admins read"
    assert admin.get(f"/review/subjects/{world.listed_company}/merges").status_code == 200
    for w in writes:
        assert admin.post(w, body, form_page=path).status_code == 403, w
    entity = admin.get(f"/entities/{world.listed_company}")
    assert f'href="/review/subjects/{world.listed_company}/merges"' in entity.text, "staff reach the history"
    assert "/merges" not in visit().get(f"/entities/{world.listed_company}").text, "the public does not"
    assert _decisions(portal.engine) == []


def test_a_form_without_its_csrf_token_or_from_another_site_is_refused(
    portal: Portal, world: World, merge: int, visit: Any
) -> None:
    v = _reviewer(world, visit)
    path = f"/review/merges/{merge}/decision"
    body = {"decision": "confirm", "reason": WHY}
    missing = v.client.post(path, data=body)
    assert missing.status_code == 403 and "The form expired" in missing.text
    wrong = v.client.post(path, data={**body, "csrf": "0" * 43})
    assert wrong.status_code == 403
    token = v.csrf(f"/review/merges/{merge}")
    foreign = v.client.post(path, data={**body, "csrf": token}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "another site" in foreign.text
    assert _decisions(portal.engine) == []


def test_unknown_huge_and_foreign_ids_are_not_found_or_invalid(
    portal: Portal, world: World, merge: int, visit: Any
) -> None:
    v = _reviewer(world, visit)
    assert v.get("/review/merges/999999").status_code == 404
    assert v.get(f"/review/merges/{2**53 - 1}").status_code == 404
    for bad in ("0", "-1", str(2**53), "99999999999999999999999", "abc"):
        r = v.get(f"/review/merges/{bad}")
        assert r.status_code == 422 and "<main" in r.text, bad
    assert v.get("/review/subjects/999999/merges").status_code == 404
    body = {"decision": "confirm", "reason": WHY}
    home = f"/review/merges/{merge}"
    r = v.post("/review/merges/999999/decision", body, form_page=home)
    assert r.status_code == 404 and "no merge or split proposal 999999" in r.text
    r = v.post(f"{home}/decisions/999999/undo", {"reason": WHY}, form_page=home)
    assert r.status_code == 404 and "no merge or split decision 999999" in r.text
    r = v.post(f"/review/merges/{2**60}/decision", body, form_page=home)
    assert r.status_code == 422

    # A decision named under another proposal's address is not found there.
    twin = _subject_of(portal.engine, *TWIN)
    other = merges.propose_split(
        portal.engine, twin, by="reviewer:li", reason="the tax record is about the third company",
        records=["tax/TX-W"], to=world.proposed_company, now=datetime.now(UTC),
    )["proposal"]  # fmt: skip
    assert v.post(home + "/decision", {"decision": "reject", "reason": WHY}, form_page=home).status_code == 303
    with portal.engine.connect() as conn:
        decision = conn.scalar(select(subject_merge_decisions.c.id))
    foreign = v.post(f"/review/merges/{other}/decisions/{decision}/undo", {"reason": WHY}, form_page=home)
    assert foreign.status_code == 404 and f"no decision {decision} on merge or split proposal {other}" in foreign.text
    assert [o for o, _ in _decisions(portal.engine)] == ["reject"]


def test_a_split_shows_the_records_it_moves_and_moves_them(
    portal: Portal, world: World, merge: int, visit: Any
) -> None:
    twin = _subject_of(portal.engine, *TWIN)
    split = merges.propose_split(
        portal.engine, twin, by="reviewer:li", reason="the tax record is about the third company",
        records=["tax/TX-W"], to=world.proposed_company, now=datetime.now(UTC),
    )["proposal"]  # fmt: skip
    v = _reviewer(world, visit)
    path = f"/review/merges/{split}"
    text = " ".join(_texts(v.get(path).text))
    assert f"Split proposal {split}" in text and "Records this split moves" in text and "tax/TX-W" in text
    assert f"Records leave: subject {twin}" in text and f"Records go to: subject {world.proposed_company}" in text
    assert f"The 1 named record(s) move from subject {twin} to subject {world.proposed_company}" in text
    queue = v.get("/review").text
    assert f"Split proposal {split}" in queue and queue.index(f"Merge proposal {merge}") < queue.index(
        f"Split proposal {split}"
    ), "oldest first"
    assert v.post(path + "/decision", {"decision": "confirm", "reason": WHY}, form_page=path).status_code == 303
    assert _subject_of(portal.engine, *TWIN) == world.proposed_company


def _split_reversing_the_merge(portal: Portal, world: World) -> int:
    """A split proposal reversing the one confirmed merge of the store, into the listed company."""
    with portal.engine.connect() as conn:
        merge_id = int(conn.scalar(select(subject_merges.c.id)))  # type: ignore[arg-type]
    return int(
        merges.propose_split(
            portal.engine, world.listed_company, by="reviewer:li", reason="two companies after all",
            merge_id=merge_id, now=datetime.now(UTC),
        )["proposal"]
    )  # fmt: skip


def test_a_split_reversing_a_merge_names_a_record_changed_since_as_staying(
    portal: Portal, world: World, merge: int, visit: Any, catalog: Catalog
) -> None:
    v = _reviewer(world, visit)
    path = f"/review/merges/{merge}"
    assert v.post(path + "/decision", {"decision": "confirm", "reason": WHY}, form_page=path).status_code == 303
    split = _split_reversing_the_merge(portal, world)
    moved = v.get(f"/review/merges/{split}").text
    assert "tax/TX-W" in moved and "stays: changed since the merge" not in moved
    with portal.engine.begin() as conn:  # what an upheld objection's correction writes: a version of its own
        new_version(
            conn, catalog, *TWIN, cause="objection upheld: amount corrected", set_attributes={"amount_cny": "800000"}
        )
    changed = v.get(f"/review/merges/{split}").text
    row = changed.split("tax/TX-W", 1)[1].split("</tr>", 1)[0]
    assert "stays: changed since the merge" in row, "a record corrected since the merge stays where it is"
    split_page = f"/review/merges/{split}"
    done = v.post(split_page + "/decision", {"decision": "confirm", "reason": WHY}, form_page=split_page)
    assert done.status_code == 303 and _subject_of(portal.engine, *TWIN) == world.listed_company
    text = " ".join(_texts(v.get(split_page).text))
    assert "Records that stayed, changed since: tax/TX-W" in text


def _patterns(folder: str, strings: set[str]) -> dict[str, re.Pattern[str]]:
    """Patterns of `strings` as they read in `folder`'s language (values filled in): English is the
    source itself, whether or not a translation exists; Chinese, the translation."""
    zh = _catalog("zh_CN")
    if folder == "en":
        texts = {m: m for m in strings if zh.get(m) != m and len(m) > 1}
    else:
        texts = {m: zh[m] for m in strings if zh.get(m) and zh[m] != m}
    return {m: re.compile(re.sub(r"%\\\(\w+\\\)s", ".+?", re.escape(t))) for m, t in texts.items()}


def _new_strings() -> set[str]:
    """The strings of the merge pages and the queue's merge section, read from the templates."""
    from importlib import resources

    call = re.compile(r"""_\((?:"([^"]+)"|'([^']+)')""")
    web = resources.files("xinyong.web")
    found: set[str] = set()
    for name in ("merge.html", "subject_merges.html", "queues.html"):
        source = web.joinpath("templates", name).read_text()
        found |= {a or b for a, b in call.findall(source)}
    return found | {"merge", "split", "open", "confirmed", "rejected", "undone"}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_merge_page_in_both_languages_has_no_untranslated_string(
    portal: Portal, world: World, merge: int, visit: Any, lang: str
) -> None:
    other = "en" if lang == "zh-CN" else "zh_CN"
    wrong = _patterns(other, _new_strings())  # a string in the other language is untranslated
    v = _reviewer(world, visit, lang)
    path = f"/review/merges/{merge}"
    pages = [v.get("/review"), v.get(path)]
    pages.append(v.post(path + "/decision", {"decision": "confirm", "reason": ""}, form_page=path))
    assert v.post(path + "/decision", {"decision": "confirm", "reason": WHY}, form_page=path).status_code == 303
    pages += [v.get(path + "?decided=1"), v.get(f"/review/subjects/{world.listed_company}/merges")]
    split = _split_reversing_the_merge(portal, world)
    reversing = v.get(f"/review/merges/{split}")
    assert "Merge it reverses" in reversing.text or "所撤回的合并" in reversing.text
    pages.append(reversing)
    admin = visit(lang)
    admin.sign_in(world.keys["admin"])
    pages += [admin.get(path), admin.get(f"/entities/{world.listed_company}")]
    for page in pages:
        assert f'<html lang="{lang}">' in page.text
        assert _untranslated(page.text, wrong) == [], f"{page.url}: {_untranslated(page.text, wrong)[:5]}"
    heading = "合并提议" if lang == "zh-CN" else "Merge proposal"
    assert heading in pages[1].text and ("两个主体并列对照" if lang == "zh-CN" else "side by side") in pages[1].text
    assert ("市税务局：1 条" if lang == "zh-CN" else "Municipal Taxation Bureau: 1 record(s)") in pages[1].text
    control = _reviewer(world, visit, other.replace("_", "-")).get(path).text  # the other language's page
    assert len(_untranslated(control, wrong)) > 10, "the check finds the strings when they are there"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_reviewer_confirms_a_merge_in_the_browser_and_undoes_it(
    portal: Portal, world: World, merge: int, browser: Browser
) -> None:
    page = _page(browser, "en")
    _sign_in(page, portal, world.keys["reviewer"])
    page.goto(portal.url + "/review")
    assert "Merge and split proposals (1)" in page.inner_text("section[aria-labelledby=merges]")
    page.click(f'a[href="/review/merges/{merge}"]')
    page.wait_for_url(re.compile(r"/review/merges/\d+$"))
    assert "side by side" in page.inner_text("main") and _serious(page) == []
    _shot(page, "merges-en-reviewer-deciding")
    page.check("#d-confirm")
    page.click("form.form button[type=submit]")  # the reason is required: the browser does not send it
    assert "/decision" not in page.url and page.locator("#reason:invalid").count() == 1
    page.fill("#reason", WHY)
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"decided=1"))
    assert "The decision is stored" in page.inner_text("main") and _serious(page) == []
    _shot(page, "merges-en-reviewer-decided")
    assert _subject_of(portal.engine, *TWIN) == world.listed_company
    page.fill("input[id^=undo-]", "The authority withdrew its notice.")
    page.click("form.inline button[type=submit]")
    page.wait_for_url(re.compile(r"decided=1"))
    assert "undone" in page.inner_text("section[aria-labelledby=decisions]")
    assert _subject_of(portal.engine, *TWIN) != world.listed_company
    page.context.close()
