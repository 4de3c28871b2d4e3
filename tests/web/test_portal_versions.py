"""The subject's file names a record's revision as the department numbered it and, for a version the
platform wrote (here a correction after an upheld objection), its platform version: on the page in
both languages and in `GET /v1/me`, on SQLite and PostgreSQL."""

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
    sid = world.listed_company
    filed = file_objection(
        portal.engine, portal.catalog, subject_id=sid, target="record:court/H-1", grounds="paid in full already",
        actor=f"subject:{sid}", now=datetime.now(UTC),
    )  # fmt: skip
    decide_objection(
        portal.engine, portal.catalog, filed["id"], uphold=True, actor="reviewer:wang", reason="paid, confirmed",
        now=datetime.now(UTC), set_attributes={"performance": "performed"},
    )  # fmt: skip
    english, chinese = visit("en"), visit("zh-CN")
    for v in (english, chinese):
        assert v.sign_in(world.keys["subject"]).status_code == 303
    assert "court/H-1 · revision 1, platform version 1</span>" in _row_of(english.get("/me").text, "H-1")
    assert "court/H-1 · 第 1 版，平台版本 1</span>" in _row_of(chinese.get("/me").text, "H-1")
    api = english.client.get("/v1/me", headers={"Authorization": f"Bearer {world.keys['subject']}"})
    assert api.status_code == 200, api.text
    [rec] = [r for r in api.json()["records"] if r["source_ref"] == "H-1"]
    assert (rec["revision"], rec["version"]) == (1, 1)
