"""Benchmark: POST /v1/checks under load, against a bare FastAPI primary-key lookup on the same store.

Builds, with a fixed seed, a store of 1,000,000 organisations (default) with their USCCs, one
record each, and 2% of them on the black list, on SQLite and (when a PostgreSQL URL is given or
XINYONG_TEST_POSTGRES_URL is set) on PostgreSQL in a schema of its own, vacuumed and analysed
after the load as autovacuum would have done. For each store, in the same run:

- value: the app (`create_app`, one uvicorn worker) answering `POST /v1/checks` for subjects drawn
  at random, driven by `wrk` on loopback at 1 connection and at 64 connections for a bounded time;
- baseline: a bare FastAPI app (one uvicorn worker) whose one endpoint reads one subject by primary
  key from the same store, driven the same way.

Both servers run side by side; their load runs alternate in rounds (default 3 of 5 s at each
connection count), each round in the other order, so that a shared machine's drift weighs on value
and baseline alike. Figures, each the median over the rounds: checks/s at 64 connections beside the
baseline's requests/s, and their ratio (the median of each round's ratio; target >= 0.7), and the
p99 latency at 1 connection (`p99_ms_1conn`, target < 5 ms). Needs `wrk` (Debian package `wrk`).
Prints both, and as its last line one JSON object (see BENCH.md). Cleans up after itself.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

from sqlalchemy import text
from stdnum.cn import uscc

from xinyong.domain.catalog import load_catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services.keys import create_key
from xinyong.store import clock
from xinyong.store.bulk import insert_rows, timestamp
from xinyong.store.db import make_engine, upgrade
from xinyong.store.ingest_repo import RECORD_COLUMNS, open_batch, sync_sources
from xinyong.store.tables import identifiers, list_entries, list_entry_state, list_transitions, records, subjects

KEY_HEX = "5a" * 32
PAGE = 20_000
NOW = datetime.now(UTC)

BARE_APP = """
import os
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import text
from xinyong.store.db import make_engine

engine = make_engine(os.environ["XINYONG_DATABASE_URL"])
app = FastAPI()

class Ask(BaseModel):
    id: int

@app.post("/bare")
def bare(ask: Ask) -> dict:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, kind FROM subjects WHERE id = :id"), {"id": ask.id}).first()
    return {"id": row[0], "kind": row[1]} if row else {}
"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%s
local bodies = {}
for line in io.lines("%s") do bodies[#bodies + 1] = line end
math.randomseed(%d)
request = function()
  return wrk.format(nil, nil, nil, bodies[math.random(#bodies)])
end
"""


def code(n: int) -> str:
    body = f"91330106{n:09d}"[:17]
    return body + uscc.calc_check_digit(body)


def build(url: str, n: int, rng: random.Random) -> list[str]:
    """Write the store in bulk; return a sample of USCCs to check."""
    engine = make_engine(url)
    upgrade(engine)
    catalog = load_catalog()
    vault = IdentifierVault(bytes.fromhex(KEY_HEX))
    with engine.connect().execution_options(xinyong_write=True, xinyong_bulk=True) as conn, conn.begin():
        sync_sources(conn, catalog, NOW)
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
        ts = timestamp(conn, clock.advance(conn))  # what a check is known at: see store.clock
        subs, ids, recs, entries, steps, states = [], [], [], [], [], []
        listed = set(rng.sample(range(1, n + 1), n // 50))
        attrs = json.dumps(
            {
                "amount_cny": "5000.00",
                "case_no": "(2026)浙01执1号",
                "circumstance": "has_ability_refuses",
                "performance": "none",
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )

        def flush(final: bool = False) -> None:
            # All tables at once, parents first, so that foreign keys hold on PostgreSQL.
            final = final or len(subs) >= PAGE
            for table, cols, rows in (
                (subjects, ("id", "kind", "display_name", "created_at", "created_by_batch"), subs),
                (identifiers, ("id", "subject_id", "scheme", "value_hash", "masked", "value", "created_at"), ids),
                (records, ("id", *RECORD_COLUMNS), recs),
                (
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
                    entries,
                ),
                (
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
                    steps,
                ),
                (
                    list_entry_state,
                    ("entry_id", "list_id", "subject_id", "state", "seq", "listed_on", "ends_on"),
                    states,
                ),
            ):
                if rows and final:
                    insert_rows(conn, table, cols, rows)
                    rows.clear()

        for sid in range(1, n + 1):
            c = code(sid)
            subs.append((sid, "organisation", f"公司 {sid}", ts, batch))
            ids.append((sid, sid, "cn.uscc", vault.digest("cn.uscc", c), c, c, ts))
            if sid in listed:
                recs.append(
                    (
                        sid,
                        "court",
                        f"C-{sid}",
                        1,
                        "court.defaulter",
                        "organisation",
                        sid,
                        "identifier",
                        None,
                        "cn.uscc",
                        None,
                        c,
                        "2026-01-10",
                        "2026-01-15",
                        None,
                        f"(2026)浙01执{sid}号",
                        attrs,
                        "active",
                        f"{sid:064x}",
                        batch,
                        sid,
                        ts,
                        None,
                    )
                )
                entries.append(
                    (
                        sid,
                        "black.court_defaulters",
                        sid,
                        "organisation",
                        "court",
                        f"C-{sid}",
                        sid,
                        "court.defaulter",
                        ts,
                    )
                )
                for seq, (a, f, t) in enumerate(
                    (
                        ("propose", None, "proposed"),
                        ("approve", "proposed", "notified"),
                        ("publish", "notified", "listed"),
                    ),
                    start=1,
                ):
                    steps.append(
                        (
                            sid,
                            seq,
                            a,
                            f,
                            t,
                            "system:maintain",
                            ts,
                            "bench",
                            "Guo Ban Fa [2019] No. 35",
                            "2026-03-01" if a == "publish" else None,
                            "2028-03-01" if a == "publish" else None,
                        )
                    )
                states.append((sid, "black.court_defaulters", sid, "listed", 3, "2026-03-01", "2028-03-01"))
            else:
                recs.append(
                    (
                        sid,
                        "samr",
                        f"S-{sid}",
                        1,
                        "market.abnormal_operations",
                        "organisation",
                        sid,
                        "identifier",
                        None,
                        "cn.uscc",
                        None,
                        c,
                        "2026-09-10",
                        "2026-09-10",
                        None,
                        None,
                        "{}",
                        "active",
                        f"{sid:064x}",
                        batch,
                        sid,
                        ts,
                        None,
                    )
                )
            flush()
        flush(final=True)
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load, on a server that runs it (this project's
        # machines run PostgreSQL without): statistics for the planner, and each tuple's
        # visibility set once, not by the first request that reads its page.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(
                "VACUUM ANALYZE subjects, identifiers, records, list_entries, list_transitions, list_entry_state"
            )
    engine.dispose()
    return [code(s) for s in rng.sample(range(1, n + 1), min(n, 20_000))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(env: dict[str, str], app: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if app.startswith("bare_app"):
        cmd += ["--app-dir", str(tmp)]
    else:
        cmd += ["--factory"]
    proc = subprocess.Popen(cmd, env=env)
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{app} did not start")


def wrk(url: str, script: Path, connections: int, seconds: int) -> dict[str, float]:
    threads = 1 if connections == 1 else 2
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * unit[p99.group(2)] if p99 else float("nan"),  # type: ignore[union-attr]
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def measure(name: str, url: str, n: int, seconds: int, rounds: int, tmp: Path, rng: random.Random) -> dict[str, Any]:
    t = time.perf_counter()
    sample = build(url, n, rng)
    print(f"[{name}] built {n:,} subjects in {time.perf_counter() - t:.0f} s", flush=True)
    data = tmp / name
    data.mkdir()
    env = {**os.environ, "XINYONG_DATABASE_URL": url, "XINYONG_DATA_DIR": str(data), "XINYONG_IDENTIFIER_KEY": KEY_HEX}
    subprocess.run([sys.executable, "-m", "xinyong", "init"], env=env, check=True, capture_output=True)
    engine = make_engine(url)
    consumer = create_key(
        engine, load_catalog(), role="consumer", name="bench", scopes={"contexts": ["procurement.tender"]}
    )["key"]
    engine.dispose()
    checks_body = tmp / f"{name}-checks.txt"
    checks_body.write_text(
        "".join(
            json.dumps(
                {
                    "subject": c,
                    "context": "procurement.tender",
                    "purpose": "bidder_screening",
                    "reference": "bench tender",
                }
            )
            + "\n"
            for c in sample
        )
    )
    bare_body = tmp / f"{name}-bare.txt"
    bare_body.write_text("".join(json.dumps({"id": rng.randint(1, n)}) + "\n" for _ in range(20_000)))
    (tmp / "bare_app.py").write_text(BARE_APP)
    scripts = {
        "checks": tmp / f"{name}-checks.lua",
        "bare": tmp / f"{name}-bare.lua",
    }
    scripts["checks"].write_text(WRK_SCRIPT % (f'wrk.headers["Authorization"] = "Bearer {consumer}"', checks_body, 7))
    scripts["bare"].write_text(WRK_SCRIPT % ("", bare_body, 7))
    apps = {"checks": ("xinyong.api.app:create_app", "/v1/checks"), "bare": ("bare_app:app", "/bare")}
    runs: dict[str, list[dict[str, float]]] = {f"{kind}_{c}": [] for kind in apps for c in (1, 64)}
    servers = {kind: serve(env, app, tmp) for kind, (app, _) in apps.items()}
    try:
        urls = {kind: servers[kind][1] + path for kind, (_, path) in apps.items()}
        for kind in apps:
            wrk(urls[kind], scripts[kind], 1, 2)  # warm up
        # Value and baseline alternate, each round in the other order, so that a machine that
        # slows down or speeds up during the run weighs on both alike; each figure is a median.
        for r in range(rounds):
            for kind in apps if r % 2 == 0 else reversed(apps):
                for conns in (1, 64):
                    got = wrk(urls[kind], scripts[kind], conns, seconds)
                    runs[f"{kind}_{conns}"].append(got)
                    print(f"[{name}] round {r + 1}: {kind} at {conns} connection(s): {got}", flush=True)
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=30)
    ratios = [c["rps"] / b["rps"] for c, b in zip(runs["checks_64"], runs["bare_64"], strict=True)]
    return {
        "checks_per_s_64": median(r["rps"] for r in runs["checks_64"]),
        "baseline_per_s_64": median(r["rps"] for r in runs["bare_64"]),
        "ratio": round(median(ratios), 3),
        "ratios": [round(x, 3) for x in ratios],
        "p99_ms_1conn": median(r["p99_ms"] for r in runs["checks_1"]),
        "baseline_p99_ms_1conn": median(r["p99_ms"] for r in runs["bare_1"]),
        "non_2xx": sum(r["non_2xx"] for kind in ("checks_1", "checks_64") for r in runs[kind]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=5, help="Duration of each load run.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds of value and baseline runs, alternated.")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("XINYONG_TEST_POSTGRES_URL"),
        help="PostgreSQL server to measure too (a schema of its own is created and dropped).",
    )
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--skip-sqlite", action="store_true", help="Measure PostgreSQL only.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk (make bench does it)")
    tmp = Path(tempfile.mkdtemp(prefix="xinyong-bench-check-"))
    results: dict[str, Any] = {}
    try:
        if args.skip_sqlite and not args.pg_url:
            sys.exit("--skip-sqlite needs --pg-url (or XINYONG_TEST_POSTGRES_URL)")
        if not args.skip_sqlite:
            results["sqlite"] = measure(
                "sqlite",
                f"sqlite:///{tmp / 'store.db'}",
                args.subjects,
                args.seconds,
                args.rounds,
                tmp,
                random.Random(args.seed),
            )
        if args.pg_url:
            schema = f"bench_check_{uuid.uuid4().hex[:8]}"
            admin = make_engine(args.pg_url)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            sep = "&" if "?" in args.pg_url else "?"
            try:
                results["postgresql"] = measure(
                    "postgresql",
                    f"{args.pg_url}{sep}options=-csearch_path%3D{schema}",
                    args.subjects,
                    args.seconds,
                    args.rounds,
                    tmp,
                    random.Random(args.seed),
                )
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for store, s in results.items():
        print(
            f"{store}: {s['checks_per_s_64']:.0f} checks/s at 64 connections vs bare lookup "
            f"{s['baseline_per_s_64']:.0f}/s (ratio {s['ratio']}); p99 at 1 connection {s['p99_ms_1conn']:.2f} ms"
        )
    s = results["sqlite" if "sqlite" in results else "postgresql"]
    print(
        json.dumps(
            {
                "bench": "check",
                "unit": "checks/s",
                "value": s["checks_per_s_64"],
                "baseline": s["baseline_per_s_64"],
                "ratio": s["ratio"],
                "p99_ms_1conn": s["p99_ms_1conn"],
                **results,
            }
        )
    )


if __name__ == "__main__":
    main()
