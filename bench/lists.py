"""Benchmark: the daily `maintain` run over a large store, against one SQL count of its entries.

Builds, with a fixed seed, a migrated SQLite store of 1,000,000 subjects (default) with one
record each, of which 50,000 ground list entries (default) in a steady state: 10% proposed, 10%
notified, 75% listed, 5% ended. The day of the run has the usual work waiting: 2% of the notified
entries reach the end of their notice period, 1% of the listings the end of their term, 200
grounds were revised by their court (the obligation reported met), and 300 new qualifying
records have no entry yet. Then in the same run:

- value: `maintain` as of that day (seconds), and a second run right after (idempotent: it must
  find nothing left to do; reported as `second_run_s`);
- baseline: `SELECT count(*) FROM list_entries` (seconds, best of 5).

Prints both, and as its last line one JSON object (see BENCH.md). Cleans up after itself.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from xinyong.domain.catalog import load_catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.scoring import add_months
from xinyong.services.maintain import maintain
from xinyong.store import clock
from xinyong.store.bulk import insert_rows, timestamp
from xinyong.store.db import make_engine, upgrade
from xinyong.store.ingest_repo import RECORD_COLUMNS, open_batch, sync_sources
from xinyong.store.tables import list_entries, list_entry_state, list_transitions, records, subjects

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # in the past: a run acts at a moment that has passed
TODAY = NOW.date()
BLACK = "black.court_defaulters"
BASIS = "Guo Ban Fa [2019] No. 35, Section 2(5)"
PAGE = 50_000


def _attributes(performance: str) -> str:
    return json.dumps(
        {
            "amount_cny": "5000.00",
            "case_no": "(2026)浙01执1号",
            "circumstance": "has_ability_refuses",
            "performance": performance,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def build(conn: Connection, n_subjects: int, n_entries: int, rng: random.Random) -> dict[str, int]:
    """Write the store in bulk; return what is waiting for the run."""
    catalog = load_catalog()
    CLOCK.set_to(NOW - timedelta(days=1))  # the store was written the day before the run
    now = timestamp(conn, clock.advance(conn))  # the latest stamp written here
    CLOCK.set_to(None)
    sync_sources(conn, catalog, NOW - timedelta(days=400))
    batch = open_batch(
        conn,
        {
            "source_id": "court",
            "file_name": "bench",
            "file_format": "csv",
            "file_sha256": "0" * 64,
            "catalog_version": catalog.version,
            "started_at": NOW,
            "finished_at": NOW,
        },
    )
    rows: list[tuple[Any, ...]] = []
    for sid in range(1, n_subjects + 1):
        rows.append((sid, "person" if sid % 7 == 0 else "organisation", f"subject {sid}", now, batch))
        if len(rows) >= PAGE:
            insert_rows(conn, subjects, ("id", "kind", "display_name", "created_at", "created_by_batch"), rows)
            rows.clear()
    insert_rows(conn, subjects, ("id", "kind", "display_name", "created_at", "created_by_batch"), rows)

    new_records = 300
    grounds = n_entries + new_records
    old_rev = 200  # grounds whose court reported the obligation met (a second revision)
    recs: list[tuple[Any, ...]] = []
    ground_ids: dict[int, int] = {}  # the first version of each ground: what its entry was made from
    next_id = 1

    def record(sid: int, ref: str, rev: int, rtype: str, attrs: str, superseded: Any) -> None:
        nonlocal next_id
        kind = "person" if sid % 7 == 0 else "organisation"
        if rev == 1 and ref.startswith("G-"):
            ground_ids[sid] = next_id
        recs.append(
            (
                next_id,
                "court",
                ref,
                rev,
                rtype,
                kind,
                sid,
                "identifier",
                None,
                "cn.uscc",
                f"{sid:064x}",
                "9133****",
                "2026-01-10",
                "2026-01-15",
                None,
                "(2026)浙01执1号",
                attrs,
                "active",
                f"{next_id:064x}",
                batch,
                sid,
                now,
                superseded,
            )
        )
        next_id += 1
        if len(recs) >= PAGE:
            flush()

    def flush() -> None:
        insert_rows(conn, records, ("id", *RECORD_COLUMNS), recs)
        recs.clear()

    for sid in range(1, n_subjects + 1):
        if sid <= grounds:
            record(sid, f"G-{sid}", 1, "court.defaulter", _attributes("none"), now if sid <= old_rev else None)
            if sid <= old_rev:
                record(sid, f"G-{sid}", 2, "court.defaulter", _attributes("performed"), None)
        else:  # records no list takes (a minor penalty), so the proposal query must look past them
            record(sid, f"O-{sid}", 1, "market.abnormal_operations", "{}", None)
    flush()

    entry_rows, step_rows, state_rows = [], [], []
    counts = {"publish_due": 0, "expire_due": 0}
    for eid in range(1, n_entries + 1):
        sid = eid
        roll = rng.random()
        created = NOW - timedelta(days=rng.randint(40, 600))
        entry_rows.append(
            (
                eid,
                BLACK,
                sid,
                "person" if sid % 7 == 0 else "organisation",
                "court",
                f"G-{sid}",
                ground_ids[sid],
                "court.defaulter",
                timestamp(conn, created),
            )
        )
        steps: list[tuple[str, str | None, str, date | None, date | None]] = [("propose", None, "proposed", None, None)]
        notified_at, notice_ends, listed_on, ends_on = None, None, None, None
        if roll >= 0.10:
            steps.append(("approve", "proposed", "notified", None, None))
            notified_at = created + timedelta(days=1)
            notice_ends = notified_at.date() + timedelta(days=30)
            if 0.10 <= roll < 0.20:
                if roll < 0.102:  # the notice period ends today
                    notified_at = NOW - timedelta(days=30)
                    notice_ends = TODAY
                    counts["publish_due"] += 1
                else:
                    notified_at = NOW - timedelta(days=rng.randint(1, 29))
                    notice_ends = notified_at.date() + timedelta(days=30)
        if roll >= 0.20:
            listed_on = notice_ends
            ends_on = add_months(listed_on, 24) if listed_on else None
            if roll < 0.2075:  # the term ends today
                listed_on, ends_on = add_months(TODAY, -24), TODAY
                counts["expire_due"] += 1
            steps.append(("publish", "notified", "listed", listed_on, ends_on))
        if roll >= 0.95:
            steps.append(("expire", "listed", "expired", None, None))
        for seq, (action, frm, to, lo, hi) in enumerate(steps, start=1):
            step_rows.append(
                (
                    eid,
                    seq,
                    action,
                    frm,
                    to,
                    "system:maintain",
                    timestamp(conn, created),
                    "bench",
                    BASIS,
                    lo.isoformat() if lo else None,
                    hi.isoformat() if hi else None,
                )
            )
        state = steps[-1][2]
        state_rows.append(
            (
                eid,
                BLACK,
                sid,
                state,
                len(steps),
                timestamp(conn, notified_at) if notified_at else None,
                notice_ends.isoformat() if notice_ends else None,
                listed_on.isoformat() if listed_on else None,
                ends_on.isoformat() if ends_on else None,
            )
        )
    insert_rows(
        conn,
        list_entries,
        (
            "id",
            "list_id",
            "subject_id",
            "subject_kind",
            "source_id",
            "source_ref",
            "record_id",
            "record_type",
            "created_at",
        ),
        entry_rows,
    )
    insert_rows(
        conn,
        list_transitions,
        (
            "entry_id",
            "seq",
            "action",
            "from_state",
            "to_state",
            "actor",
            "at",
            "reason",
            "legal_basis",
            "listed_on",
            "ends_on",
        ),
        step_rows,
    )
    insert_rows(
        conn,
        list_entry_state,
        ("entry_id", "list_id", "subject_id", "state", "seq", "notified_at", "notice_ends_on", "listed_on", "ends_on"),
        state_rows,
    )
    counts.update(new_records=new_records, revised_grounds=old_rev)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--keep", action="store_true", help="Keep the store and print its path.")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="xinyong-bench-lists-"))
    try:
        url = f"sqlite:///{tmp / 'store.db'}"
        engine = make_engine(url)
        upgrade(engine)
        t0 = time.perf_counter()
        with engine.connect().execution_options(xinyong_write=True, xinyong_bulk=True) as conn, conn.begin():
            waiting = build(conn, args.subjects, args.entries, random.Random(args.seed))
        print(
            f"built {args.subjects:,} subjects, {args.entries:,} entries in {time.perf_counter() - t0:.1f} s; "
            f"waiting: {waiting}"
        )
        catalog = load_catalog()
        counts = []
        for _ in range(5):
            t = time.perf_counter()
            with engine.connect() as conn:
                conn.execute(select(func.count()).select_from(list_entries)).scalar_one()
            counts.append(time.perf_counter() - t)
        baseline = min(counts)
        t = time.perf_counter()
        done = maintain(engine, catalog, NOW)
        first = time.perf_counter() - t
        t = time.perf_counter()
        again = maintain(engine, catalog, NOW)
        second = time.perf_counter() - t
        idle = all(v == 0 for k, v in again.items() if k not in ("held_by_objection",))
        print(f"maintain: {first:.2f} s, did {done}")
        print(f"second run: {second:.2f} s, did {again} ({'nothing left: idempotent' if idle else 'NOT IDEMPOTENT'})")
        print(f"baseline: SELECT count(*) FROM list_entries: {baseline * 1000:.2f} ms")
        print(
            json.dumps(
                {
                    "bench": "lists",
                    "unit": "s",
                    "value": round(first, 3),
                    "baseline": round(baseline, 5),
                    "ratio": round(first / baseline, 1),
                    "second_run_s": round(second, 3),
                    "subjects": args.subjects,
                    "entries": args.entries,
                    "did": done,
                    "idempotent": idle,
                }
            )
        )
        engine.dispose()
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
