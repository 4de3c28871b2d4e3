"""A small world for due-process stories: files ingested at chosen moments of the past.

Every step happens at a moment of the past, with the platform's clock held there (`CLOCK.set_to`):
what the step stores is stamped with that clock, as the real one would stamp it then; nothing
sleeps. Moments are built from `T0`, 1 March 2024, with `at(days)` (a moment only) or
`clock_at(days)` (the moment, with the clock held there: for a step that writes). The story
ends before today (T0 + 1000 days is in September 2026), so no step lies ahead of the real
clock, whenever the tests run. Working-day deadlines come from the real Chinese calendar.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from builders import court_row, make_ric, make_uscc, write_csv
from xinyong.domain.catalog import Catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.identifiers import IdentifierVault
from xinyong.ingest.pipeline import ingest_file
from xinyong.services.list_views import entry_detail
from xinyong.services.maintain import maintain
from xinyong.services.objection_views import Disputes, disputes_of
from xinyong.services.scoring import score_online
from xinyong.store.tables import list_entries, list_transitions, notices, records

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
BLACK = "black.court_defaulters"
SAMR = "black.samr_serious_violations"
WATCH = "watch.key_supervision"
RED = "red.trustworthy"


def at(days: float) -> datetime:
    """The story's moment `days` after T0 (a moment to evaluate at; the clock does not move)."""
    return T0 + timedelta(days=days)


def clock_at(days: float) -> datetime:
    """The story's moment `days` after T0, with the platform's clock held there: a step that
    writes now is stamped then."""
    return hold(at(days))


def hold(moment: datetime) -> datetime:
    """Hold the platform's clock at `moment` (of the past) and return it."""
    CLOCK.set_to(moment)
    return moment


def release() -> None:
    """Let the platform's clock run again: the story is over, what follows happens now."""
    CLOCK.set_to(None)


def person_row(ref: str, n: int, **over: Any) -> dict[str, Any]:
    """A court defaulter record about resident n, decided shortly before T0."""
    base = {"decided_on": "2024-02-20", "valid_from": "2024-02-25", "valid_until": "", "document_no": f"(2024)浙01执{n}号",
            "case_no": f"(2024)浙01执{n}号"}  # fmt: skip
    return court_row(ref, make_ric(n), **{**base, **over})


def org_row(ref: str, n: int, **over: Any) -> dict[str, Any]:
    return person_row(ref, n, id_scheme="cn.uscc", id_number=make_uscc(n), subject_name="杭州某某有限公司", **over)


def samr_row(ref: str, n: int, **over: Any) -> dict[str, Any]:
    """A serious penalty of market regulation against company n: a ground of its own list, which the
    regulator's law lets credit repair end (the court's list it does not)."""
    row = {"source_ref": ref, "revision": 1, "record_type": "market.penalty_serious", "subject_name": "杭州某某有限公司",
           "id_scheme": "cn.uscc", "id_number": make_uscc(n), "decided_on": "2024-02-20", "valid_from": "2024-02-25",
           "valid_until": "", "document_no": f"杭市监严罚 2024-{n}", "penalty_kind": "large_fine", "fine_cny": "500000",
           "article_violated": "Art. 34"}  # fmt: skip
    return {**row, **over}


class Story:
    def __init__(self, engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp: Path) -> None:
        self.engine, self.catalog, self.vault, self.tmp = engine, catalog, vault, tmp
        self.files = 0

    def ingest(self, rows: list[dict[str, Any]], when: datetime, source: str = "court") -> Any:
        self.files += 1
        folder = self.tmp / f"f{self.files}"
        folder.mkdir(parents=True)
        path = write_csv(folder / f"{source}.csv", rows)
        hold(when)
        return ingest_file(self.engine, self.catalog, self.vault, path, report_dir=self.tmp / "rejects", now=when)

    def maintain(self, when: datetime) -> dict[str, int]:
        return maintain(self.engine, self.catalog, hold(when))

    def subject_of(self, source_ref: str, source: str = "court") -> int:
        with self.engine.connect() as conn:
            sid = conn.scalar(
                select(records.c.subject_id).where(
                    records.c.source_id == source, records.c.source_ref == source_ref, records.c.superseded_at.is_(None)
                )
            )
        assert sid is not None, f"{source}/{source_ref} is not linked"
        return int(sid)

    def entry(self, source_ref: str, list_id: str = BLACK, source: str = "court") -> int | None:
        with self.engine.connect() as conn:
            eid = conn.scalar(
                select(list_entries.c.id).where(
                    list_entries.c.list_id == list_id,
                    list_entries.c.source_id == source,
                    list_entries.c.source_ref == source_ref,
                )
            )
        return None if eid is None else int(eid)

    def state(self, entry_id: int, when: datetime) -> str:
        return str(entry_detail(self.engine, self.catalog, entry_id, known_at=when)["state"])

    def steps(self, entry_id: int) -> list[tuple[str, str, str]]:
        with self.engine.connect() as conn:
            q = (
                select(list_transitions.c.action, list_transitions.c.to_state, list_transitions.c.actor)
                .where(list_transitions.c.entry_id == entry_id)
                .order_by(list_transitions.c.seq)
            )
            return [tuple(r) for r in conn.execute(q)]  # type: ignore[misc]

    def notice_kinds(self, subject_id: int, recipient: str = "subject") -> list[str]:
        with self.engine.connect() as conn:
            q = (
                select(notices.c.kind)
                .where(notices.c.subject_id == subject_id, notices.c.recipient == recipient)
                .order_by(notices.c.id)
            )
            return list(conn.scalars(q))

    def disputes(self, subject_id: int) -> Disputes:
        with self.engine.connect() as conn:
            return disputes_of(conn, subject_id)

    def points(self, subject_id: int, when: datetime) -> float | None:
        return score_online(self.engine, self.catalog, subject_id, when.date(), when).points
