"""Fixture strategy of the portal's tests.

- `portal` serves the real app (API and portal together) with uvicorn on a free loopback port,
  over the store of the `db_url` fixture: so every test taking it runs on SQLite and on
  PostgreSQL. Nothing is mocked; pages are fetched with httpx or driven in Debian's Chromium.
- `world` fills that store through the real services only (a department's file ingested, the
  daily maintenance, a reviewer's decisions) with a story that happened in the months before
  today, since the portal answers as of now: a company on the black list, a resident on it,
  another company's proposal waiting, and keys for every role.
- `merge` adds to that world, now, a tax record of the listed company under another code and a
  reviewer's proposal that the two are one (the merge pages' tests and page walks take it).
- `Visitor` is one browser-less user of the portal: it keeps cookies, signs in through the
  form with its key, and posts forms with the CSRF token the page gave it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine

from builders import make_uscc
from portal_server import serving
from process_story import Story, hold, org_row, person_row, release
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services import lists as lists_service
from xinyong.services import merges
from xinyong.services.keys import create_key
from xinyong.services.scoring import rescore

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PERSON_NAME = "欧阳娜娜"
MERGE_DOCUMENT = "市监变〔2027〕12号"


@dataclass
class Portal:
    url: str
    engine: Engine
    catalog: Catalog
    app: Any

    def key(self, role: str, name: str, **kw: Any) -> str:
        return str(create_key(self.engine, self.catalog, role=role, name=name, **kw)["key"])


@pytest.fixture
def portal(db_url: str, engine: Engine, catalog: Catalog, tmp_path: Path) -> Iterator[Portal]:
    with serving(db_url, tmp_path) as (url, app):
        yield Portal(url, engine, catalog, app)


@dataclass
class World:
    """What the story left in the store, and a key for every role."""

    listed_company: int
    listed_person: int
    proposed_company: int
    proposal: int
    keys: dict[str, str] = field(default_factory=dict)


def tax_row(ref: str, n: int) -> dict[str, Any]:
    """A major tax violation of company n, under its own code."""
    return {"source_ref": ref, "revision": 1, "record_type": "tax.major_violation", "subject_name": "温州某某实业有限公司",
            "id_scheme": "cn.uscc", "id_number": make_uscc(n), "decided_on": "2024-02-20", "valid_from": "2024-02-25",
            "valid_until": "", "document_no": f"杭税稽 {n}", "violation": "false_invoicing", "amount_cny": "900000"}  # fmt: skip


@pytest.fixture
def world(portal: Portal, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> World:
    story = Story(portal.engine, catalog, vault, tmp_path / "story")
    start = datetime.now(UTC) - timedelta(days=100)
    day = (start - timedelta(days=20)).date().isoformat()
    dates = {"decided_on": day, "valid_from": day}
    story.ingest(
        [
            org_row("H-1", 61, **dates),
            person_row("H-2", 62, subject_name=PERSON_NAME, **dates),
            person_row(
                "H-3", 63, id_scheme="cn.uscc", id_number=make_uscc(63), subject_name="宁波某某贸易有限公司", **dates
            ),
        ],
        start,
    )
    story.maintain(start)
    for ref in ("H-1", "H-2"):
        eid = story.entry(ref)
        assert eid is not None
        lists_service.decide(
            portal.engine, catalog, eid, approve_it=True, actor="reviewer:li", reason="unpaid", now=hold(start)
        )
    story.maintain(start + timedelta(days=31))  # published, in force today
    release()
    rescore(portal.engine, catalog, as_of=datetime.now(UTC).date(), engine_name="online")
    proposal = story.entry("H-3")
    assert proposal is not None
    w = World(story.subject_of("H-1"), story.subject_of("H-2"), story.subject_of("H-3"), proposal)
    w.keys = {
        "subject": portal.key("subject", "company-61", subject_id=w.listed_company),
        "reviewer": portal.key("reviewer", "wang"),
        "admin": portal.key("admin", "ops"),
        "source": portal.key("source", "court"),
        "consumer": portal.key("consumer", "finance-bureau", scopes={"contexts": ["procurement.tender"]}),
    }
    return w


@pytest.fixture
def merge(portal: Portal, world: World, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> int:
    """The id of a reviewer's proposal (reviewer:li) that the listed company and a company under
    another code, with a tax record and no list entry, are one."""
    story = Story(portal.engine, catalog, vault, tmp_path / "merge")
    story.ingest([tax_row("TX-W", 64)], datetime.now(UTC), source="tax")
    release()
    why = f"the registration authority's notice {MERGE_DOCUMENT} says the two codes are one company"
    made = merges.propose_merge(
        portal.engine, world.listed_company, story.subject_of("TX-W", "tax"), by="reviewer:li", reason=why,
        document_no=MERGE_DOCUMENT, now=datetime.now(UTC),
    )  # fmt: skip
    return int(made["proposal"])


class Visitor:
    """One person at the portal, with their cookies and language."""

    def __init__(self, url: str, lang: str = "en") -> None:
        self.client = httpx.Client(base_url=url, headers={"Accept-Language": lang}, timeout=60)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, **kw)

    def csrf(self, path: str) -> str:
        page = self.get(path)
        found = CSRF.search(page.text)
        assert found, f"no CSRF token on {path}: {page.status_code}"
        return found[1]

    def post(self, path: str, data: dict[str, Any], form_page: str | None = None, **kw: Any) -> httpx.Response:
        token = self.csrf(form_page or path)
        return self.client.post(path, data={**data, "csrf": token}, **kw)

    def sign_in(self, key: str) -> httpx.Response:
        return self.post("/signin", {"token": key, "back": ""})

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def visit(portal: Portal) -> Iterator[Any]:
    """Make visitors of the portal; each is closed when the test ends."""
    made: list[Visitor] = []

    def make(lang: str = "en") -> Visitor:
        made.append(Visitor(portal.url, lang))
        return made[-1]

    yield make
    for v in made:
        v.close()


# The browser of the portal's browser tests: Debian's Chromium (Playwright's own download is not used).
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
