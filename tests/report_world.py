"""A small world for report and open-data tests, dated relative to today (the services answer as
of now): the court and market regulation have reported, the tax bureau never has; company 61
and resident 62 are on the public black list; company 63 has enough penalties for a report of
several pages; company 64 has a penalty past its publication period.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from builders import make_uscc
from process_story import Story, org_row, person_row, release
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services import lists as lists_service
from xinyong.store.tables import list_entry_state

NOW = datetime.now(UTC)
START = NOW - timedelta(days=100)


def samr_row(ref: str, n: int, decided: date, **over: Any) -> dict[str, Any]:
    row = {
        "source_ref": ref,
        "revision": 1,
        "record_type": "market.penalty_general",
        "subject_name": f"杭州某某{n}有限公司",
        "id_scheme": "cn.uscc",
        "id_number": make_uscc(n),
        "decided_on": decided.isoformat(),
        "valid_from": decided.isoformat(),
        "valid_until": "",
        "document_no": f"杭市监罚({decided.year}){ref}号",
        "penalty_kind": "fine",
        "fine_cny": "5000",
        "article_violated": "Art. 12",
    }
    row.update(over)
    return row


class World:
    """The world, built once per test on the test's store."""

    def __init__(self, engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp: Path) -> None:
        self.story = Story(engine, catalog, vault, tmp)
        day = (START - timedelta(days=20)).date()
        dates = {"decided_on": day.isoformat(), "valid_from": day.isoformat()}
        self.story.ingest([org_row("W-1", 61, **dates), person_row("W-2", 62, **dates)], START)
        many = [samr_row(f"P{i:03d}", 63, day - timedelta(days=i)) for i in range(45)]
        old = START.date() - timedelta(days=400)  # a general penalty is published for 6 months
        samr = [samr_row("S-1", 61, day), *many, samr_row("S-OLD", 64, old)]
        self.story.ingest(samr, START + timedelta(days=1), source="samr")
        self.story.maintain(START)
        with engine.connect() as conn:
            proposed = list(
                conn.scalars(select(list_entry_state.c.entry_id).where(list_entry_state.c.state == "proposed"))
            )
        for eid in proposed:
            lists_service.decide(engine, catalog, eid, approve_it=True, actor="reviewer:li", reason="unpaid", now=START)
        self.story.maintain(START + timedelta(days=31))
        release()  # the world was built in the past; the tests act now
        self.company = self.story.subject_of("W-1")
        self.person = self.story.subject_of("W-2")
        self.busy = self.story.subject_of("P000", "samr")
        self.stale = self.story.subject_of("S-OLD", "samr")
