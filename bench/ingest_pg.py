"""The PostgreSQL half of bench/ingest.py: `xinyong ingest` into a PostgreSQL store against a raw
COPY of the same CSV into a table with the same indexes, in the same run.

- value: `xinyong ingest FILE --no-rescore` into a fresh schema (migrated before the clock
  starts), which validates, resolves and writes subjects, identifiers, records and the
  unresolved queue, each with COPY (store/pg_copy.py);
- baseline: the CSV streamed unparsed into the server with `COPY ... (FORMAT csv)`, into a table
  of its columns with the records table's three indexes (its primary key, the unique
  (reference, revision) and an index on the identifier, where records has the subject) in one
  transaction: the fastest plain way to put the same rows into PostgreSQL.
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


def ours(path: Path, url: str, data_dir: Path) -> tuple[float, dict[str, object]]:
    """(seconds, the batch's result) of `xinyong ingest` into a fresh schema of `url`."""
    with schema(url) as (_, store):
        env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
        env.update(XINYONG_DATA_DIR=str(data_dir), XINYONG_DATABASE_URL=store)
        exe = [sys.executable, "-m", "xinyong"]
        subprocess.run([*exe, "init"], env=env, check=True, capture_output=True)
        start = time.perf_counter()
        done = subprocess.run(
            [*exe, "ingest", str(path), "--json", "--no-rescore"], env=env, capture_output=True, check=False, text=True
        )
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"xinyong ingest {path.name} into PostgreSQL failed ({done.returncode}):\n{done.stderr}")
    return seconds, json.loads(done.stdout)[0]


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
    for r in range(rounds):
        for step in ("value", "baseline") if r % 2 == 0 else ("baseline", "value"):
            if step == "baseline":
                bases.append(baseline(path, url, columns))
                print(
                    f"{'baseline  raw COPY into PostgreSQL':<34}: {bases[-1]:7.2f} s  "
                    f"{rows / bases[-1]:10,.0f} records/s"
                )
                continue
            seconds, result = ours(path, url, work / "pg-data")
            values.append(seconds)
            print(
                f"{'xinyong   ingest into PostgreSQL':<34}: {seconds:7.2f} s  {rows / seconds:10,.0f} records/s  "
                f"accepted {result['accepted']:,}, unresolved {result['unresolved']:,}, rejected {result['rejected']:,}"
            )
    ratios = sorted(b / v for b, v in zip(bases, values, strict=True))
    ratio = ratios[len(ratios) // 2]
    value, base = rows / sorted(values)[len(values) // 2], rows / sorted(bases)[len(bases) // 2]
    print(
        f"PostgreSQL: {value:,.0f} records/s against a raw COPY's {base:,.0f}: ratio {ratio:.3f} "
        f"(median of rounds {', '.join(f'{x:.3f}' for x in ratios)}; target >= 0.5)"
    )
    return {
        "value": round(value),
        "baseline": round(base),
        "ratio": round(ratio, 3),
        "ratios": [round(x, 3) for x in ratios],
    }
