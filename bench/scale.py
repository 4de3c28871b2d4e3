"""Benchmark: a PostgreSQL store of N subjects (default 10,000,000), and what runs on it.

Builds the store in a schema of its own, fast: the tables are filled by INSERT ... SELECT over
generate_series inside the server (organisations with checksum-valid USCCs and their keyed
hashes, pgcrypto's HMAC under the same key as the platform's; one record each; 2% of them on the
court defaulters' black list; one score each from an earlier full run), with the schema's indexes
and keys dropped during the load and made again after it, as pg_restore does. Then, on that store:

- value: `POST /v1/checks` at one connection (wrk, one uvicorn worker) for subjects drawn at
  random: p99 (target under 5 ms); baseline: a bare FastAPI app reading one subject by primary
  key from the same store, driven the same way, alternated with it;
- `xinyong maintain`, timed;
- an incremental rescore (`xinyong rescore --changed`) after 1,000 new records, timed;
- every table's and index's size, and their bytes per subject.

`--subjects 1000000,3000000` measures several sizes in one run (each in its own schema), to see
how the figures grow. Needs `wrk` and PostgreSQL's pgcrypto. Cleans up after itself, except with
`--keep SCHEMA`: the store stays in that schema, and a later run with the same option measures it
again without building it. The last line is one JSON object (BENCH.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

from sqlalchemy import Connection, Engine, text

sys.path.insert(0, str(Path(__file__).parent))
from check import BARE_APP, WRK_SCRIPT, serve, wrk
from xinyong.domain.catalog import load_catalog
from xinyong.domain.clock import CLOCK
from xinyong.services.keys import create_key
from xinyong.store import clock
from xinyong.store.db import make_engine, upgrade
from xinyong.store.ingest_repo import open_batch, sync_sources

KEY_HEX = "5a" * 32
LOADED = ("subjects", "identifiers", "records", "list_entries", "list_transitions", "list_entry_state", "scores")
# GB 32100-2015: the check character of a USCC's 17 characters, weighted, modulo 31. Our codes
# are "91330106" and nine digits, so the prefix's share is a constant and the digits' an
# integer expression the server evaluates per row.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
PREFIX = "91330106"


def uscc_sql(g: str) -> str:
    """SQL for the USCC of subject number `g` (a column or expression of integers below 10**9)."""
    fixed = sum(ALPHABET.index(c) * w for c, w in zip(PREFIX, WEIGHTS, strict=False))
    digits = " + ".join(f"(({g} / {10 ** (8 - i)}) % 10) * {WEIGHTS[8 + i]}" for i in range(9))
    check = f"substr('{ALPHABET}', ((31 - ({fixed} + {digits}) % 31) % 31)::int + 1, 1)"
    return f"('{PREFIX}' || lpad(({g})::text, 9, '0') || {check})"


def uscc_py(n: int) -> str:
    body = f"{PREFIX}{n:09d}"
    total = sum(ALPHABET.index(c) * w for c, w in zip(body, WEIGHTS, strict=True))
    return body + ALPHABET[(31 - total % 31) % 31]


def _keys(conn: Connection, tables: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the loaded tables' constraints and other indexes, and of the
    foreign keys that point at them; foreign keys last."""
    rows = conn.execute(
        text(
            "SELECT c.conrelid::regclass::text, c.conname, 'ALTER TABLE ' || c.conrelid::regclass::text "
            "|| ' ADD CONSTRAINT ' || c.conname || ' ' || pg_get_constraintdef(c.oid), c.contype = 'f' "
            "FROM pg_constraint c WHERE (c.conrelid::regclass::text = ANY(:t) AND c.contype IN ('p', 'u', 'f')) "
            "OR (c.contype = 'f' AND c.confrelid::regclass::text = ANY(:t)) "
            "UNION ALL SELECT i.tablename, i.indexname, i.indexdef, false FROM pg_indexes i "
            "WHERE i.schemaname = current_schema() AND i.tablename = ANY(:t) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        ),
        {"t": list(tables)},
    ).all()
    return [(t, n, d) for t, n, d, _ in sorted(rows, key=lambda r: r[3])]


def build(engine: Engine, n: int) -> float:
    """Fill the store with `n` subjects; the seconds it took."""
    started = time.perf_counter()
    upgrade(engine)
    catalog = load_catalog()
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA public")
        sync_sources(conn, catalog, now)
        batch = open_batch(
            conn,
            {
                "source_id": "court",
                "file_name": "scale",
                "file_format": "csv",
                "file_sha256": "0" * 64,
                "catalog_version": catalog.version,
                "started_at": now,
                "finished_at": now,
            },
        )
        CLOCK.set_to(min(now, CLOCK.real()))  # the load's moment, of the past
        at = clock.advance(conn)
        CLOCK.set_to(None)
        keys = _keys(conn, LOADED)
        for table, name, definition in reversed(keys):
            if definition.startswith("ALTER"):
                conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
            else:
                conn.exec_driver_sql(f"DROP INDEX {name}")
        p = {"n": n, "at": at, "b": batch, "key": bytes.fromhex(KEY_HEX), "cv": catalog.version}
        code = uscc_sql("g")
        for sql in (
            "INSERT INTO subjects (id, kind, display_name, created_at, created_by_batch) "
            "SELECT g, 'organisation', '公司 ' || g, :at, :b FROM generate_series(1, :n) g",
            f"INSERT INTO identifiers (id, subject_id, scheme, value_hash, masked, value, created_at) "
            f"SELECT g, g, 'cn.uscc', encode(hmac(convert_to('cn.uscc:' || c, 'UTF8'), :key, 'sha256'), 'hex'), "
            f"c, c, :at "
            f"FROM (SELECT g, {code} AS c FROM generate_series(1, :n) g) s",
            f"INSERT INTO records (id, source_id, source_ref, revision, record_type, subject_kind, subject_id, "
            f"link_method, id_scheme, id_masked, decided_on, valid_from, document_no, attributes, status, "
            f"content_hash, batch_id, batch_line, recorded_at) "
            f"SELECT g, CASE WHEN g % 50 = 0 THEN 'court' ELSE 'samr' END, 'R-' || g, 1, "
            f"CASE WHEN g % 50 = 0 THEN 'court.defaulter' ELSE 'market.abnormal_operations' END, 'organisation', "
            f"g, 'identifier', 'cn.uscc', {code}, DATE '2026-01-10', DATE '2026-01-15', "
            f"CASE WHEN g % 50 = 0 THEN '(2026)浙01执' || g || '号' END, "
            f'CASE WHEN g % 50 = 0 THEN \'{{"amount_cny": "5000.00", "case_no": "(2026)浙01执1号", '
            f'"circumstance": "has_ability_refuses", "performance": "none"}}\'::jsonb ELSE \'{{}}\'::jsonb END, '
            f"'active', md5(g::text) || md5(g::text), :b, g, :at FROM generate_series(1, :n) g",
            "INSERT INTO list_entries (id, list_id, subject_id, subject_kind, source_id, source_ref, record_id, "
            "record_type, created_at) SELECT g, 'black.court_defaulters', g, 'organisation', 'court', 'R-' || g, g, "
            "'court.defaulter', :at FROM generate_series(50, :n, 50) g",
            "INSERT INTO list_transitions (entry_id, seq, action, from_state, to_state, actor, at, reason, "
            "legal_basis, listed_on, ends_on) SELECT g, s, (ARRAY['propose', 'approve', 'publish'])[s], "
            "(ARRAY[NULL, 'proposed', 'notified'])[s], (ARRAY['proposed', 'notified', 'listed'])[s], "
            "'system:maintain', :at, 'scale', 'Guo Ban Fa [2019] No. 35', "
            "CASE WHEN s = 3 THEN DATE '2026-03-01' END, CASE WHEN s = 3 THEN DATE '2028-03-01' END "
            "FROM generate_series(50, :n, 50) g, generate_series(1, 3) s",
            "INSERT INTO list_entry_state (entry_id, list_id, subject_id, state, seq, listed_on, ends_on) "
            "SELECT g, 'black.court_defaulters', g, 'listed', 3, DATE '2026-03-01', DATE '2028-03-01' "
            "FROM generate_series(50, :n, 50) g",
            "INSERT INTO score_runs (id, mode, engine, as_of, known_at, catalog_version, started_at, finished_at, "
            "subjects, max_record_id) VALUES (1, 'all', 'embedded', CURRENT_DATE, :at, :cv, :at, :at, :n, :n)",
            "INSERT INTO scores (id, run_id, subject_id, subject_kind, as_of, known_at, status, ruleset_id, "
            "ruleset_version, catalog_version, points_cp, grade, contributions) "
            "SELECT g, 1, g, 'organisation', CURRENT_DATE, :at, 'scored', 'samr.graded_supervision', '1', :cv, "
            "9000, 'B', ('[[\"abnormal\", -1000, ' || g || ', \"record\"]]')::jsonb FROM generate_series(1, :n) g",
        ):
            conn.execute(text(sql), p)
        for _, _, definition in keys:
            conn.exec_driver_sql(definition)
        for table in ("subjects", "identifiers", "records", "list_entries", "list_transitions", "scores", "score_runs"):
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM ANALYZE {', '.join(LOADED)}")
    return time.perf_counter() - started


def sizes(engine: Engine, n: int) -> dict[str, dict[str, float]]:
    """Each loaded table's heap and index size (MB), and bytes per subject."""
    out: dict[str, dict[str, float]] = {}
    with engine.connect() as conn:
        for table in LOADED:
            heap, idx = conn.execute(
                text("SELECT pg_table_size(to_regclass(:t)), pg_indexes_size(to_regclass(:t))"), {"t": table}
            ).one()
            out[table] = {
                "table_mb": round(heap / 2**20, 1),
                "indexes_mb": round(idx / 2**20, 1),
                "bytes_per_subject": round((heap + idx) / n, 1),
            }
        for name, size in conn.execute(
            text(
                "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
                "WHERE indrelid::regclass::text = ANY(:t)"
            ),
            {"t": list(LOADED)},
        ):
            out[f"index {name}"] = {"indexes_mb": round(size / 2**20, 1)}
    return out


def timed(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "xinyong", *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"xinyong {' '.join(args)} failed:\n{done.stderr}")
    return time.perf_counter() - started


def add_records(engine: Engine, n: int, count: int) -> None:
    """`count` new records of subjects spread over the store, known from now (for --changed)."""
    with engine.begin() as conn:
        at = clock.advance(conn)
        batch = conn.execute(text("SELECT max(id) FROM batches")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO records (source_id, source_ref, revision, record_type, subject_kind, subject_id, "
                "link_method, id_scheme, decided_on, valid_from, attributes, status, content_hash, batch_id, "
                "batch_line, recorded_at) SELECT 'samr', :tag || g, 1, 'market.abnormal_operations', "
                "'organisation', 1 + (g * 7919) % :n, 'identifier', 'cn.uscc', CURRENT_DATE, CURRENT_DATE, "
                "'{}'::jsonb, 'active', md5(g::text) || md5(g::text), :b, g, :at FROM generate_series(1, :c) g"
            ),
            # references new to a kept store at every run
            {"n": n, "c": count, "b": batch, "at": at, "tag": f"NEW-{uuid.uuid4().hex[:8]}-"},
        )


def checks_p99(env: dict[str, str], tmp: Path, n: int, seconds: int, rounds: int, consumer: str) -> dict[str, Any]:
    rng = random.Random(7)
    bodies = {
        "checks": "".join(
            json.dumps(
                {"subject": uscc_py(rng.randint(1, n)), "context": "procurement.tender", "purpose": "bidder_screening"}
            )
            + "\n"
            for _ in range(20_000)
        ),
        "bare": "".join(json.dumps({"id": rng.randint(1, n)}) + "\n" for _ in range(20_000)),
    }
    (tmp / "bare_app.py").write_text(BARE_APP)
    scripts = {}
    for kind, body in bodies.items():
        (tmp / f"{kind}.txt").write_text(body)
        auth = f'wrk.headers["Authorization"] = "Bearer {consumer}"' if kind == "checks" else ""
        scripts[kind] = tmp / f"{kind}.lua"
        scripts[kind].write_text(WRK_SCRIPT % (auth, tmp / f"{kind}.txt", 7))
    apps = {"checks": ("xinyong.api.app:create_app", "/v1/checks"), "bare": ("bare_app:app", "/bare")}
    servers = {kind: serve(env, app, tmp) for kind, (app, _) in apps.items()}
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in apps}
    try:
        for kind in apps:
            wrk(servers[kind][1] + apps[kind][1], scripts[kind], 1, 3)  # warm up
        for r in range(rounds):
            for kind in apps if r % 2 == 0 else reversed(apps):
                runs[kind].append(wrk(servers[kind][1] + apps[kind][1], scripts[kind], 1, seconds))
                print(f"  round {r + 1}: {kind} at 1 connection: {runs[kind][-1]}", flush=True)
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=30)
    return {
        "p99_ms_1conn": median(x["p99_ms"] for x in runs["checks"]),
        "baseline_p99_ms_1conn": median(x["p99_ms"] for x in runs["bare"]),
        "checks_per_s_1conn": median(x["rps"] for x in runs["checks"]),
        "non_2xx": sum(x["non_2xx"] for x in runs["checks"]),
    }


def _held(engine: Engine) -> int | None:
    """The subjects a store that `build` filled holds (None: the schema holds no store yet)."""
    with engine.connect() as conn:
        if conn.exec_driver_sql("SELECT to_regclass('subjects')").scalar_one() is None:
            return None
        return int(conn.exec_driver_sql("SELECT count(*) FROM subjects").scalar_one())


def measure(url: str, n: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        held = _held(engine) if args.keep else None
        if held is None:
            built: float | None = build(engine, n)
            print(f"[{n:,}] built in {built:.0f} s", flush=True)
        elif held == n:
            built = None
            print(f"[{n:,}] reusing the store kept in schema {args.keep}", flush=True)
        else:
            raise SystemExit(f"schema {args.keep} holds {held:,} subjects, not {n:,}: drop it or name another")
        data = tmp / str(n)
        data.mkdir()
        env = {
            **os.environ,
            "XINYONG_DATABASE_URL": url,
            "XINYONG_DATA_DIR": str(data),
            "XINYONG_IDENTIFIER_KEY": KEY_HEX,
        }
        timed(env, "init")
        consumer = create_key(
            engine, load_catalog(), role="consumer", name="scale", scopes={"contexts": ["procurement.tender"]}
        )["key"]
        out: dict[str, Any] = {"subjects": n, "build_s": None if built is None else round(built, 1)}
        out["sizes"] = sizes(engine, n)
        out.update(checks_p99(env, data, n, args.seconds, args.rounds, consumer))
        out["maintain_s"] = round(timed(env, "maintain"), 2)
        add_records(engine, n, args.changed)
        out["rescore_changed_s"] = round(timed(env, "rescore", "--changed"), 2)
        out["rescore_changed_subjects"] = args.changed
        return out
    finally:
        engine.dispose()


def report(r: dict[str, Any]) -> None:
    built = "a kept store" if r["build_s"] is None else f"built in {r['build_s']} s"
    print(f"\n{r['subjects']:,} subjects: {built}")
    for name, s in r["sizes"].items():
        per = f", {s['bytes_per_subject']} B/subject" if "bytes_per_subject" in s else ""
        heap = f"table {s['table_mb']} MB, " if "table_mb" in s else ""
        print(f"  {name}: {heap}indexes {s['indexes_mb']} MB{per}")
    print(
        f"  check p99 at 1 connection {r['p99_ms_1conn']:.2f} ms (bare primary-key read "
        f"{r['baseline_p99_ms_1conn']:.2f} ms), {r['checks_per_s_1conn']:.0f} checks/s, non-2xx {r['non_2xx']:.0f}"
    )
    print(
        f"  maintain {r['maintain_s']} s; rescore --changed ({r['rescore_changed_subjects']} subjects) "
        f"{r['rescore_changed_s']} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", default="10000000", help="subjects, or several sizes comma-separated")
    parser.add_argument("--pg-url", default=os.environ.get("XINYONG_TEST_POSTGRES_URL"), help="PostgreSQL server")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each load run at one connection")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of checks and baseline, alternated")
    parser.add_argument("--changed", type=int, default=1000, help="new records before the incremental rescore")
    parser.add_argument(
        "--keep",
        metavar="SCHEMA",
        help="build the store in this schema and keep it, or measure the store a run kept there (one size only)",
    )
    args = parser.parse_args()
    if not args.pg_url:
        sys.exit("--pg-url (or XINYONG_TEST_POSTGRES_URL) is needed: the store is PostgreSQL")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    try:
        counts = [int(x.replace("_", "")) for x in args.subjects.split(",")]
    except ValueError:
        sys.exit(f"--subjects {args.subjects!r}: give whole numbers, comma-separated")
    if any(c < 1000 or c >= 10**9 for c in counts):
        sys.exit(f"--subjects {args.subjects!r}: each size from 1,000 to 999,999,999")
    if args.keep is not None and (len(counts) != 1 or not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.keep)):
        sys.exit(f"--keep {args.keep!r}: one size, and a schema name of lower-case letters, digits and _")
    tmp = Path(tempfile.mkdtemp(prefix="xinyong-bench-scale-"))
    admin = make_engine(args.pg_url)
    results = []
    try:
        for n in counts:
            schema = args.keep or f"bench_scale_{uuid.uuid4().hex[:8]}"
            with admin.begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            sep = "&" if "?" in args.pg_url else "?"
            try:
                results.append(measure(f"{args.pg_url}{sep}options=-csearch_path%3D{schema},public", n, args, tmp))
                report(results[-1])
            finally:
                if not args.keep:
                    with admin.begin() as conn:
                        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    finally:
        admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    last = results[-1]
    print(
        json.dumps(
            {
                "bench": "scale",
                "unit": "ms p99 at 1 connection",
                "value": last["p99_ms_1conn"],
                "baseline": last["baseline_p99_ms_1conn"],
                "ratio": round(last["baseline_p99_ms_1conn"] / last["p99_ms_1conn"], 3),
                "runs": results,
            }
        )
    )


if __name__ == "__main__":
    main()
