"""The PostgreSQL half of bench/ingest.py: `xinyong ingest` into a PostgreSQL store against a raw
COPY of the same CSV into a table with the same indexes, in the same run.

- value: `xinyong ingest FILE --no-rescore` into a fresh schema (migrated before the clock
  starts), which validates, resolves and writes subjects, identifiers, records and the
  unresolved queue, each with COPY (store/pg_copy.py);
- baseline: the CSV streamed unparsed into the server with `COPY ... (FORMAT csv)`, into a table
  of its columns with the records table's three indexes (its primary key, the unique
  (reference, revision) and an index on the identifier, where records has the subject) in one
  transaction: the fastest plain way to put the same rows into PostgreSQL;
- floor: what the batch stored (its subjects, identifiers, records, unresolved queue and link
  fragments), copied out of its schema after the run and copied raw (binary COPY) into a fresh
  store's empty tables, with every index and foreign key, in one transaction: what the server
  alone takes to write what a batch must write, with no validation, no resolution and no client
  work. Printed beside the baseline (no target): when the floor takes more than twice the
  baseline, the baseline's ratio cannot reach 0.5 whatever the client does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url


def _plain(url: str) -> str:
    """A libpq URL for psycopg from a SQLAlchemy one."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def schema(url: str) -> Iterator[tuple[str, str]]:
    """A new schema on the server of `url`: its name, and a SQLAlchemy URL that works in it."""
    name = f"bench_ingest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_plain(url), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield name, f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(_plain(url), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


# What a batch writes, parents first: the first two (a few rows) are copied untimed by `floor`.
PARENTS = ("sources", "batches")
STORED = ("subjects", "identifiers", "records", "unresolved", "link_fragments")


def _init(url: str, data_dir: Path) -> dict[str, str]:
    """`xinyong init` of a store at `url` (all migrations: every index and key); the environment used."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env.update(XINYONG_DATA_DIR=str(data_dir), XINYONG_DATABASE_URL=url)
    subprocess.run([sys.executable, "-m", "xinyong", "init"], env=env, check=True, capture_output=True)
    return env


def ours(path: Path, url: str, data_dir: Path, dump: Path | None = None) -> tuple[float, dict[str, object]]:
    """(seconds, the batch's result) of `xinyong ingest` into a fresh schema of `url`; with `dump`,
    the tables it wrote are then copied out there (binary COPY, a file per table) for `floor`."""
    with schema(url) as (name, store):
        env = _init(store, data_dir)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "xinyong", "ingest", str(path), "--json", "--no-rescore"],
            env=env, capture_output=True, check=False, text=True,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        if done.returncode == 0 and dump is not None:
            dump.mkdir(parents=True, exist_ok=True)
            with psycopg.connect(_plain(url)) as conn, conn.cursor() as cur:
                cur.execute(f"SET search_path = {name}")
                for table in (*PARENTS, *STORED):
                    with cur.copy(f"COPY {table} TO STDOUT (FORMAT binary)") as copy, (dump / table).open("wb") as f:
                        for block in copy:
                            f.write(block)
    if done.returncode != 0:
        raise SystemExit(f"xinyong ingest {path.name} into PostgreSQL failed ({done.returncode}):\n{done.stderr}")
    return seconds, json.loads(done.stdout)[0]


def floor(url: str, dump: Path, data_dir: Path) -> float:
    """Seconds to COPY what a batch stored (`ours`'s dump) into a fresh store's tables, with all
    their indexes and foreign keys, in one transaction (the source and batch rows untimed)."""
    with schema(url) as (name, store):
        _init(store, data_dir)
        with psycopg.connect(_plain(url)) as conn, conn.cursor() as cur:
            cur.execute(f"SET search_path = {name}")
            start = 0.0
            for table in (*PARENTS, *STORED):
                if table == STORED[0]:
                    start = time.perf_counter()
                with cur.copy(f"COPY {table} FROM STDIN (FORMAT binary)") as copy, (dump / table).open("rb") as f:
                    while block := f.read(1 << 20):
                        copy.write(block)
            conn.commit()
            return time.perf_counter() - start


def baseline(path: Path, url: str, columns: tuple[str, ...]) -> float:
    """Seconds of a raw COPY of the CSV into a table with the records table's indexes."""
    with schema(url) as (name, _), psycopg.connect(_plain(url)) as conn:
        conn.execute(f"SET search_path = {name}")
        conn.execute(
            f"CREATE TABLE raw (id bigserial PRIMARY KEY, {', '.join(f'{c} text' for c in columns)}, "
            "UNIQUE (source_ref, revision))"
        )
        conn.execute("CREATE INDEX raw_id_number ON raw (id_number)")
        conn.commit()
        start = time.perf_counter()
        statement = f"COPY raw ({', '.join(columns)}) FROM STDIN (FORMAT csv, HEADER true)"
        with conn.cursor() as cur, cur.copy(statement) as copy, path.open("rb") as f:
            while block := f.read(1 << 20):
                copy.write(block)
        conn.commit()
        return time.perf_counter() - start


def measure(path: Path, url: str, work: Path, rounds: int, columns: tuple[str, ...]) -> dict[str, object]:
    """Value and baseline alternated over `rounds`, each round in the other order: the figures."""
    rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
    values: list[float] = []
    bases: list[float] = []
    floors: list[float] = []
    dump = work / "pg-dump"
    for r in range(rounds):
        for step in ("value", "baseline") if r % 2 == 0 else ("baseline", "value"):
            if step == "baseline":
                bases.append(baseline(path, url, columns))
                print(
                    f"{'baseline  raw COPY into PostgreSQL':<34}: {bases[-1]:7.2f} s  "
                    f"{rows / bases[-1]:10,.0f} records/s"
                )
                continue
            seconds, result = ours(path, url, work / "pg-data", dump)
            values.append(seconds)
            print(
                f"{'xinyong   ingest into PostgreSQL':<34}: {seconds:7.2f} s  {rows / seconds:10,.0f} records/s  "
                f"accepted {result['accepted']:,}, unresolved {result['unresolved']:,}, rejected {result['rejected']:,}"
            )
            floors.append(floor(url, dump, work / "pg-floor"))
            print(
                f"{'floor     its rows, COPY with keys':<34}: {floors[-1]:7.2f} s  {rows / floors[-1]:10,.0f} records/s"
            )
    ratios = sorted(b / v for b, v in zip(bases, values, strict=True))
    ratio = ratios[len(ratios) // 2]
    value, base = rows / sorted(values)[len(values) // 2], rows / sorted(bases)[len(bases) // 2]
    floor_s = sorted(floors)[len(floors) // 2]
    print(
        f"PostgreSQL: {value:,.0f} records/s against a raw COPY's {base:,.0f}: ratio {ratio:.3f} "
        f"(median of rounds {', '.join(f'{x:.3f}' for x in ratios)}; target >= 0.5)\n"
        f"  the server alone writing what the batch stored (floor): {rows / floor_s:,.0f} records/s, "
        f"{floor_s / sorted(bases)[len(bases) // 2]:.2f} x the baseline's time, so the ratio can be at most "
        f"{sorted(bases)[len(bases) // 2] / floor_s:.3f}; ours against the floor: "
        f"{floor_s / sorted(values)[len(values) // 2]:.3f}"
    )
    return {
        "value": round(value),
        "baseline": round(base),
        "ratio": round(ratio, 3),
        "ratios": [round(x, 3) for x in ratios],
        "floor": round(rows / floor_s),
        "ratio_to_floor": round(floor_s / sorted(values)[len(values) // 2], 3),
    }
