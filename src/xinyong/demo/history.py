"""Two to three years of the platform's life, replayed through its services with the clock held in the past.

`xinyong demo generate --history-months N` writes each department's decisions of the last N months
as monthly files (`court.2025-06.csv`, `court.update-1.2025-06.csv`). `replay` ingests what came
before, then walks month by month to the present: within a month the platform's people act
(`demo.people`) at moments of that month; at its end the month's files are ingested, the subjects
they changed rescored and the lists maintained (proposals, publication after notice, expiry).
Notices stay in the outbox as stored (`xinyong notices deliver` hands them on). The process clock
is held at each moment (`CLOCK.set_to`, which refuses the future), and every service is given that
moment: every stamp stored (record time, the knowledge clock, audit events, checks and their
certificates, notices) is a moment that has passed, and the moments only move forward.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from xinyong.demo.city import add_months
from xinyong.demo.people import Directory, People
from xinyong.domain.catalog import Catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import InvalidInput
from xinyong.domain.identifiers import IdentifierVault
from xinyong.ingest.pipeline import ingest_file, plan_directory
from xinyong.services.batch_queries import batches_of
from xinyong.services.maintain import maintain
from xinyong.services.scoring import changed_subjects, rescore
from xinyong.store import clock
from xinyong.store.ingest_repo import owed_batches, settle
from xinyong.store.unit_of_work import AuditNote

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

log = logging.getLogger(__name__)
Files = list[tuple[Path, str]]
MONTH = re.compile(r"\d{4}-\d{2}")
# What the platform's people do in a month: (day of the month, hour UTC, act of `People`).
STEPS = (
    (3, 9, "review_proposals"),
    (5, 10, "object"),
    (7, 10, "request_repairs"),
    (10, 11, "decide_objections"),
    (12, 11, "appeal_one"),
    (14, 14, "decide_repairs"),
    (17, 15, "remove_one"),
    (21, 10, "check"),
)
# The objection left undecided is filed at least this long before the present, so that its
# deadline (15 working days, longer across a holiday week) has passed: it is overdue today.
OVERDUE_AFTER = timedelta(days=35)
MAINTAINER = "system:maintain"
SCORER = "system:rescore"


@dataclass
class Plan:
    """The city's department files: those ingested before the history begins, and each month's."""

    before: Files
    months: dict[date, Files] = field(default_factory=dict)

    @classmethod
    def of(cls, departments: Path, catalog: Catalog) -> Plan:
        plan = cls([])
        for path, sid in plan_directory(departments, catalog):
            month = next((p for p in path.name.split(".")[1:] if MONTH.fullmatch(p)), None)
            if month is None:
                plan.before.append((path, sid))
            else:
                plan.months.setdefault(date.fromisoformat(f"{month}-01"), []).append((path, sid))
        for files in plan.months.values():  # a department's file of the month before its corrections
            files.sort(key=lambda f: (f[1], ".update-" in f[0].name, f[0].name))
        return plan


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@dataclass
class History:
    engine: Engine
    catalog: Catalog
    vault: IdentifierVault
    people: People
    report_dir: Path
    chunk_rows: int = 5000
    helper_min_bytes: int | None = 8 << 20
    counts: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per step, for the log
    logged: dict[str, float] = field(default_factory=dict)  # `seconds` when the last month was logged

    def timed(self, name: str, step: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        step(*args, **kwargs)
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def ingest(self, files: Files, now: datetime) -> None:
        for path, sid in files:
            result = ingest_file(
                self.engine, self.catalog, self.vault, path, source=sid, report_dir=self.report_dir,
                chunk_rows=self.chunk_rows, helper_min_bytes=self.helper_min_bytes, now=now,
                audit=AuditNote(f"source:{sid}", "submit_records"),
            )  # fmt: skip
            self.counts["batches"] += 1
            self.counts["records_stored"] += result.accepted
            self.counts["rows_rejected"] += result.rejected

    def rescore(self, now: datetime, *, everyone: bool = False) -> None:
        """Rescore the subjects the month changed (every subject the first time), as the command does."""
        owed = owed_batches(self.engine)
        known = clock.latest(self.engine)
        ids = None
        if not everyone:
            ids, _ = changed_subjects(self.engine, self.catalog, now.date(), known)
            if not ids:
                settle(self.engine, owed)
                return
        result = rescore(
            self.engine, self.catalog, as_of=now.date(), known_at=known, subject_ids=ids,
            mode="all" if everyone else "changed", engine_name="online" if ids and len(ids) < 200 else "embedded",
            audit=AuditNote(SCORER, "rescore", "rescore all" if everyone else "rescore changed"), settles=owed,
        )  # fmt: skip
        self.counts["scores"] += result.subjects

    def close_month(self, files: Files, now: datetime, *, first: bool = False) -> None:
        """The end of a month: its files in, scores and lists brought up to date, notices sent."""
        self.timed("ingest", self.ingest, files, now)
        self.timed("rescore", self.rescore, now, everyone=first)
        self.timed("maintain", self.maintain, now)
        month = {k: round(v - self.logged.get(k, 0.0), 1) for k, v in self.seconds.items()}
        log.info("month ending %s, seconds per step: %s", now.date(), month)
        self.logged = dict(self.seconds)

    def maintain(self, now: datetime) -> None:
        done = maintain(self.engine, self.catalog, now, audit=AuditNote(MAINTAINER, "maintain", "due process"))
        for k in ("proposed", "published", "expired", "ended_ground_changed", "ended_ground_lapsed"):
            self.counts[f"entries_{k}"] += done.get(k, 0)


def months_between(first: date, last: date) -> list[date]:
    out, m = [], first.replace(day=1)
    while m <= last:
        out.append(m)
        m = add_months(m, 1)
    return out


def replay(
    engine: Engine,
    catalog: Catalog,
    vault: IdentifierVault,
    signing_key: Ed25519PrivateKey,
    city: Path,
    *,
    seed: int,
    report_dir: Path,
    until: datetime | None = None,
    helper_min_bytes: int | None = 8 << 20,
) -> dict[str, int]:
    """Replay the city's history into an empty store, up to `until` (default: now); what happened.

    Raises:
        InvalidInput: the store already holds records, `until` is ahead of the real clock, or
            `city` is not a directory `demo generate` wrote.
    """
    until = CLOCK.admit(until or CLOCK.real(), "the end of the history")
    if not (city / "departments").is_dir():
        raise InvalidInput(f"{city}: no departments/ directory in it; give the --out of `xinyong demo generate`")
    if batches_of(engine, None, start=0, limit=1)[1]:
        raise InvalidInput("the store already holds ingested files: the history is replayed into an empty store only")
    plan = Plan.of(city / "departments", catalog)
    people = People(engine, catalog, vault, signing_key, random.Random(seed), Directory.read(city))
    history = History(engine, catalog, vault, people, report_dir, helper_min_bytes=helper_min_bytes)
    # A city without monthly files (`--history-months 0`) has no history: it is ingested at once, now.
    months = months_between(min(plan.months), until.date()) if plan.months else []
    filings = [at(m + timedelta(days=d - 1), h) for m in months for d, h, act in STEPS if act == "object"]
    people.keep_open = max((t for t in filings if t <= until - OVERDUE_AFTER), default=None)
    try:
        begin = at(months[0], 0) if months else until
        CLOCK.set_to(begin)
        people.issue_keys(begin)
        history.close_month(plan.before, begin, first=True)
        for m in months:
            for day, hour, act in STEPS:
                moment = at(m + timedelta(days=day - 1), hour)
                if moment > until:
                    break
                CLOCK.set_to(moment)
                history.timed(act, getattr(people, act), moment)
            end = min(at(add_months(m, 1), 1), until)
            CLOCK.set_to(end)
            history.close_month(plan.months.get(m, []), end)
    finally:
        CLOCK.set_to(None)
    log.info(
        "history replayed; seconds per step: %s",
        {k: round(v, 1) for k, v in sorted(history.seconds.items(), key=lambda kv: -kv[1])},
    )
    return dict(sorted((history.counts + people.counts).items()))
