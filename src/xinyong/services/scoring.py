"""Scoring services: score one subject online, rescore many set-based, keep the history.

A score is always "as of a day, as known at a moment": the records are the versions the
platform knew at `known_at` (recorded_at <= known_at < superseded_at), valid on `as_of`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.scoring import RecordFact, Score, add_months, ruleset_in_force, score_subject
from xinyong.engines.online import facts_of, online_rows
from xinyong.engines.registry import engine_named
from xinyong.store import clock
from xinyong.store.bulk import allocate_ids, insert_rows, timestamp
from xinyong.store.ingest_repo import settle_owed
from xinyong.store.record_columns import FACT_COLUMNS, known_versions
from xinyong.store.tables import records, score_runs, scores, subjects
from xinyong.store.unit_of_work import AuditNote, UnitOfWork

EngineName = str  # a name of `engines.registry.ENGINES`


SCORES_PER_INSERT = 50_000  # scores written per executemany
__all__ = ["FACT_COLUMNS", "facts_of", "known_versions", "online_rows", "rescore"]


def score_with_facts(
    engine: Engine, catalog: Catalog, subject_id: int, as_of: date, known_at: datetime
) -> tuple[Score, list[RecordFact]]:
    """A subject's score and the record versions it was computed from (to explain it)."""
    with engine.connect() as conn:
        kind = conn.scalar(select(subjects.c.kind).where(subjects.c.id == subject_id))
        if kind is None:
            raise LookupError(f"no subject {subject_id}")
        facts = facts_of(conn, subject_id, known_at)
    return score_subject(catalog, kind, facts, as_of), facts


def score_online(engine: Engine, catalog: Catalog, subject_id: int, as_of: date, known_at: datetime) -> Score:
    return score_with_facts(engine, catalog, subject_id, as_of, known_at)[0]


# -- set-based rescoring -------------------------------------------------------------------------


@dataclass
class RunResult:
    run_id: int
    engine: str
    subjects: int
    as_of: date
    known_at: datetime
    grades: dict[str, dict[str, int]]


def _store_scores(
    conn: Connection,
    run_id: int,
    score_rows: Iterable[dict[str, Any]],
    contribution_rows: Iterable[dict[str, Any]],
    as_of: date,
    known_at: datetime,
    catalog_version: str,
) -> dict[str, dict[str, int]]:
    by_subject: dict[int, list[list[Any]]] = defaultdict(list)
    for c in contribution_rows:
        by_subject[c["subject_id"]].append([c["rule_id"], c["points_cp"], c["record_id"], c["kind"]])
    known = timestamp(conn, known_at)
    day = as_of.isoformat()
    grades: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    batch: list[tuple[Any, ...]] = []

    def flush() -> None:
        insert_rows(
            conn,
            scores,
            (
                "run_id", "subject_id", "subject_kind", "as_of", "known_at", "status", "ruleset_id",
                "ruleset_version", "catalog_version", "points_cp", "grade", "contributions",
            ),
            batch,
        )  # fmt: skip
        batch.clear()

    for s in score_rows:
        contribs = sorted(by_subject.get(s["subject_id"], []), key=lambda c: (c[0], c[3], c[2] or 0))
        grades[s["subject_kind"]][s["grade"] or s["status"]] += 1
        batch.append(
            (
                run_id, s["subject_id"], s["subject_kind"], day, known, s["status"], s["ruleset_id"],
                s["ruleset_version"], catalog_version, s["points_cp"], s["grade"], json.dumps(contribs),
            )
        )  # fmt: skip
        if len(batch) >= SCORES_PER_INSERT:
            flush()
    flush()
    return {k: dict(v) for k, v in grades.items()}


def _newest_record_id(conn: Connection, known_at: datetime) -> int | None:
    """The id of the newest record known at `known_at`: by the primary key when that is the last
    row (the usual case, known_at = now), by a scan when replaying an earlier moment."""
    last = conn.execute(select(records.c.id, records.c.recorded_at).order_by(records.c.id.desc()).limit(1)).first()
    if last is None or last[1] <= known_at:
        return None if last is None else int(last[0])
    found = conn.scalar(select(func.max(records.c.id)).where(records.c.recorded_at <= known_at))
    return None if found is None else int(found)


def rescore(
    engine: Engine,
    catalog: Catalog,
    *,
    as_of: date,
    known_at: datetime | None = None,
    subject_ids: Sequence[int] | None = None,
    mode: str = "all",
    engine_name: EngineName = "embedded",
    audit: AuditNote | None = None,
    settles: Sequence[int] = (),
) -> RunResult:
    """Score the given subjects (all when None) and append the scores to the history, as known at
    `known_at` (default: the knowledge clock's committed stamp, which a replay reproduces); the
    run is stored with its audit event (`audit`, whose target is the run) or not at all; so is the
    end of the rescore owed by the batches `settles` (committed before `known_at`)."""
    started = CLOCK.now()  # the run's own times are the platform's clock
    with engine.connect() as conn:
        known_at = known_at or clock.known_at(conn)
        newest = _newest_record_id(conn, known_at)
        score_rows, contribution_rows = engine_named(engine_name).score(conn, catalog, as_of, known_at, subject_ids)
    # Scores are not dated facts (they carry the moment they were computed as of): no clock.
    with UnitOfWork.writing(engine, dated=False) as uow:
        conn = uow.conn
        [run_id] = allocate_ids(conn, score_runs, 1)
        uow.audit(audit, f"score_run:{run_id}")
        settle_owed(conn, list(settles))
        conn.execute(
            score_runs.insert().values(
                id=run_id,
                mode=mode,
                engine=engine_name,
                as_of=as_of,
                known_at=known_at,
                catalog_version=catalog.version,
                started_at=started,
                finished_at=started,
                subjects=len(score_rows),
                max_record_id=newest,
            )
        )
        grades = _store_scores(conn, run_id, score_rows, contribution_rows, as_of, known_at, catalog.version)
        conn.execute(score_runs.update().where(score_runs.c.id == run_id).values(finished_at=CLOCK.now()))
    return RunResult(run_id, engine_name, len(score_rows), as_of, known_at, grades)


def changed_subjects(engine: Engine, catalog: Catalog, as_of: date, now: datetime) -> tuple[list[int], str]:
    """Subjects whose score may differ from their last stored one, and why they were chosen.

    Every subject when there was no run yet, or the catalog changed since; every subject of a
    kind whose ruleset in force changed. Otherwise the subjects of records stored after the last
    run (found from the newest record id it saw, so the primary key answers) and of the versions
    those records replaced; and, when the day moved, those with a record entering or leaving
    force in between (including the end of its publication period) or a rule still decaying.
    """
    with engine.connect() as conn:
        last = conn.execute(
            select(score_runs.c.known_at, score_runs.c.as_of, score_runs.c.catalog_version, score_runs.c.max_record_id)
            .where(score_runs.c.mode.in_(("all", "changed")))
            .order_by(score_runs.c.id.desc())
            .limit(1)
        ).first()
        everyone = select(subjects.c.id)
        if last is None:
            return [int(i) for i in conn.scalars(everyone)], "no earlier run: every subject"
        k, day, version, newest = last
        if version != catalog.version:
            return [int(i) for i in conn.scalars(everyone)], "the catalog changed since the last run: every subject"
        new_rules = [
            kind
            for kind in ("organisation", "person")
            if ruleset_in_force(catalog, kind, day) != ruleset_in_force(catalog, kind, as_of)
        ]
        if new_rules:
            ids = sorted(int(i) for i in conn.scalars(everyone.where(subjects.c.kind.in_(new_rules))))
            return ids, f"another ruleset is in force for {' and '.join(new_rules)}s: all of them"
        found: set[int] = set()
        fresh = records.c.id > (newest or 0) if newest is not None else records.c.recorded_at > k
        found.update(conn.scalars(select(records.c.subject_id).where(fresh, records.c.recorded_at <= now)))
        old, new = records.alias("old"), records.alias("new")
        replaced = (
            select(old.c.subject_id)
            .join_from(new, old, and_(old.c.source_id == new.c.source_id, old.c.source_ref == new.c.source_ref))
            .where(new.c.id > (newest or 0), new.c.recorded_at <= now, old.c.id != new.c.id)
        )
        if newest is not None:
            found.update(conn.scalars(replaced))
        if as_of != day:
            lo, hi = min(day, as_of), max(day, as_of)
            windows = [
                and_(records.c.valid_from > lo, records.c.valid_from <= hi),
                and_(records.c.valid_until > lo, records.c.valid_until <= hi),
            ]
            for rt in catalog.record_types.values():
                if rt.publication_months:  # no valid_until: the publication period ends it
                    windows.append(
                        and_(
                            records.c.record_type == rt.id,
                            records.c.valid_until.is_(None),
                            # add_months is monotonic and clamps at month ends: the lower bound is exact,
                            # the upper one is widened by the few days clamping can move an end.
                            records.c.valid_from > add_months(lo, -rt.publication_months),
                            records.c.valid_from <= add_months(hi, -rt.publication_months) + timedelta(days=3),
                        )
                    )
            decaying = {r.record_type: r.decay.days for rs in catalog.rulesets.values() for r in rs.rules if r.decay}
            for type_id, days in decaying.items():
                windows.append(and_(records.c.record_type == type_id, records.c.valid_from > lo - timedelta(days=days)))
            q = select(records.c.subject_id).where(known_versions(now), or_(*windows))
            found.update(conn.scalars(q))
        found.discard(None)  # type: ignore[arg-type, unused-ignore]
        ids = sorted(int(i) for i in found)
        return ids, f"changed since the run known at {k.isoformat()} (as of {day.isoformat()})"
