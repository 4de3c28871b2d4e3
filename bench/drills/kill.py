"""Drill: `kill -9` at random moments of an ingestion, a rescore, the daily maintenance and a burst
of checks against a real server, twenty trials of each (the tests run two: tests/test_kill_drills.py).

Each drill works on a store of its own (an SQLite file, or with `--pg-url` a PostgreSQL schema of
its own), and each trial adds new work, kills the process after a delay drawn with `--seed`, and
asks of the store what tests/kill_drill.py says: nothing half-written, nothing doubled, every
answered check stored once with its certificate and replay, the audit chain intact, and after
the same command runs again, nothing owed. An assertion that fails stops the drill with its
message. Cleans up after itself; last line: one JSON object (BENCH.md; the baseline is the
number of trials asked for, the value the number that held).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from kill_drill import DRILLS, Drill
from xinyong.domain.catalog import load_catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.store.db import make_engine, upgrade

KEY_HEX = "5a" * 32


def one(name: str, args: argparse.Namespace, work: Path) -> Drill:
    schema = None
    if args.pg_url:
        schema = f"drill_kill_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.pg_url)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{args.pg_url}{'&' if '?' in args.pg_url else '?'}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{work / 'store.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
        env.update(XINYONG_DATABASE_URL=url, XINYONG_DATA_DIR=str(work / "data"), XINYONG_IDENTIFIER_KEY=KEY_HEX)
        options = {
            "ingest": {"rows": args.ingest_rows},
            "rescore": {"subjects": args.subjects},
            "maintain": {"per_trial": args.maintain_per_trial},
            "checks": {},
        }[name]
        return DRILLS[name](
            engine,
            load_catalog(),
            IdentifierVault(bytes.fromhex(KEY_HEX)),
            env,
            work,
            trials=args.trials,
            rng=random.Random(args.seed),
            **options,
        )
    finally:
        engine.dispose()
        if schema:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20, help="trials of each drill (default 20)")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--subjects", type=int, default=2000, help="residents of the rescore drill's store")
    parser.add_argument(
        "--ingest-rows", type=int, default=60_000, help="rows of each file of the ingest drill (at least 8 MiB)"
    )
    parser.add_argument(
        "--maintain-per-trial", type=int, default=200, help="court defaulters each maintain trial adds (default 200)"
    )
    parser.add_argument("--only", choices=sorted(DRILLS), action="append", help="run only this drill (repeatable)")
    parser.add_argument("--pg-url", help="drill on PostgreSQL (a schema of its own) instead of SQLite")
    args = parser.parse_args()
    if args.trials < 1:
        sys.exit(f"--trials {args.trials}: give at least one")
    done: list[Drill] = []
    for name in args.only or list(DRILLS):
        work = Path(tempfile.mkdtemp(prefix=f"xinyong-drill-{name}-"))
        started = time.monotonic()
        try:
            done.append(one(name, args, work))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"{done[-1].line()} ({time.monotonic() - started:.0f} s)", flush=True)
    held = sum(d.killed + d.finished for d in done)
    print(
        json.dumps(
            {
                "bench": "drill_kill",
                "unit": "trials held",
                "value": held,
                "baseline": args.trials * len(done),
                "ratio": round(held / (args.trials * len(done)), 3),
                "store": "postgresql" if args.pg_url else "sqlite",
                **{d.name: {"killed": d.killed, "finished_first": d.finished} for d in done},
            }
        )
    )


if __name__ == "__main__":
    main()
