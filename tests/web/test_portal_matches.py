"""The reviewers' match queue in the portal: namesakes shown side by side, a decision that needs a
reason and says first what it changes, and an undo; in a real browser (Debian's Chromium) with axe,
and as forms posted without one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser
from sqlalchemy import select

from linking_store_world import NAMESAKE, at, build, keep_model, namesake_rows
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.store.linking_tables import link_judgements, link_proposals

from .conftest import Portal
from .test_portal_browser import _page, _serious, _shot, _sign_in


@pytest.fixture
def matches(portal: Portal, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> dict[str, Any]:
    """Two residents with one name and birth date, and two court records naming them without a number."""
    world = build(portal.engine, catalog, vault, tmp_path)
    keep_model(world)
    world.ingest(namesake_rows(), at(1))
    with portal.engine.connect() as conn:
        first = conn.scalar(select(link_proposals.c.id).where(link_proposals.c.source_ref == "N-0").order_by("id"))
    return {"proposal": int(first), "reviewer": portal.key("reviewer", "zhao"), "admin": portal.key("admin", "ops")}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_reviewer_confirms_a_namesake_with_a_reason_and_undoes_it(
    portal: Portal, matches: dict[str, Any], browser: Browser
) -> None:
    page = _page(browser, "en")
    _sign_in(page, portal, matches["reviewer"])
    page.goto(portal.url + "/review")
    queue = page.inner_text("section[aria-labelledby=matches]")
    assert "Match proposals (4)" in queue and NAMESAKE in queue
    page.click(f'a[href="/review/matches/{matches["proposal"]}"]')
    page.wait_for_url(re.compile(r"/review/matches/\d+$"))
    text = page.inner_text("main")
    assert "Other candidates for the same record (1)" in text and "never proposed alone" in text
    assert "If you confirm" in text and "checks made before stay as they were" in text
    assert _serious(page) == []
    _shot(page, "matches-en-reviewer-deciding")
    page.check("#d-confirm")
    page.click("form.form button[type=submit]")  # the reason is required: the browser does not send it
    assert "/decision" not in page.url and page.locator("#reason:invalid").count() == 1
    page.fill("#reason", "The judgment names the Xihu district, where only one of them lives.")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"decided=1"))
    text = page.inner_text("main")
    assert "The decision is stored" in text and "confirmed" in text and "If you confirm" not in text
    page.fill("input[id^=undo-]", "Confirmed the wrong namesake.")
    page.click("form.inline button[type=submit]")
    page.wait_for_url(re.compile(r"decided=1"))
    assert "undone" in page.inner_text("section[aria-labelledby=judgements]")
    assert _serious(page) == []
    page.context.close()

    chinese = _page(browser, "zh-CN")
    _sign_in(chinese, portal, matches["admin"])
    chinese.goto(portal.url + f"/review/matches/{matches['proposal']}")
    assert "匹配建议" in chinese.inner_text("main h1") and chinese.locator("form.form").count() == 0  # admins read
    assert _serious(chinese) == []
    chinese.context.close()
    with portal.engine.connect() as conn:
        outcomes = [j.outcome for j in conn.execute(select(link_judgements).order_by(link_judgements.c.id))]
    assert outcomes == ["confirm", "undo"]


def test_a_decision_without_a_reason_or_choice_is_refused_and_admins_cannot_decide(
    portal: Portal, matches: dict[str, Any], visit: Any
) -> None:
    reviewer = visit()
    assert reviewer.sign_in(matches["reviewer"]).status_code == 303
    path = f"/review/matches/{matches['proposal']}"
    empty = reviewer.post(path + "/decision", {"decision": "confirm", "reason": ""}, form_page=path)
    assert empty.status_code == 422 and "needs a reason" in empty.text
    unchosen = reviewer.post(
        path + "/decision", {"decision": "merge", "reason": "a long enough reason"}, form_page=path
    )
    assert unchosen.status_code == 422 and "Choose a decision." in unchosen.text
    admin = visit()
    assert admin.sign_in(matches["admin"]).status_code == 303
    refused = admin.post(path + "/decision", {"decision": "confirm", "reason": "a long enough reason"}, form_page=path)
    assert refused.status_code == 403
    with portal.engine.connect() as conn:
        assert conn.scalar(select(link_judgements.c.id)) is None
