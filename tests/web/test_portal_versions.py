"""The subject's file names a record's revision as the department numbered it and, for a version the
platform wrote (here a correction after an upheld objection), its platform version: on the page in
both languages and in `GET /v1/me`, on SQLite and PostgreSQL. The company is the one whose court
record grounds only a proposal: the record behind a published court listing is the court's to
correct, and an objection to it goes to the court."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from xinyong.services.objection_rulings import decide_objection
from xinyong.services.objections import file_objection

from .conftest import Portal, World


def _row_of(page: str, ref: str) -> str:
    start = page.index(f'id="record-court-{ref}"')
    return page[start : page.index("</tr>", start)]


def test_the_file_shows_the_departments_revision_and_the_platforms_version(
    portal: Portal, world: World, visit: Any
) -> None:
    sid = world.proposed_company
    key = portal.key("subject", "company-63", subject_id=sid)
    filed = file_objection(
        portal.engine, portal.catalog, subject_id=sid, target="record:court/H-3", grounds="paid in full already",
        actor=f"subject:{sid}", now=datetime.now(UTC),
    )  # fmt: skip
    assert "forwarded_to" not in filed
    decide_objection(
        portal.engine, portal.catalog, filed["id"], uphold=True, actor="reviewer:wang", reason="paid, confirmed",
        now=datetime.now(UTC), set_attributes={"performance": "performed"},
    )  # fmt: skip
    english, chinese = visit("en"), visit("zh-CN")
    for v in (english, chinese):
        assert v.sign_in(key).status_code == 303
    assert "court/H-3 · revision 1, platform version 1</span>" in _row_of(english.get("/me").text, "H-3")
    assert "court/H-3 · 第 1 版，平台版本 1</span>" in _row_of(chinese.get("/me").text, "H-3")
    api = english.client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 200, api.text
    [rec] = [r for r in api.json()["records"] if r["source_ref"] == "H-3"]
    assert (rec["revision"], rec["version"]) == (1, 1)
