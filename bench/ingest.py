"""Benchmark: file ingestion with validation and resolution, against a raw executemany load.

Generates a CSV of court records (default 1,000,000 rows; about 60% residents, 40% organisations,
~2% missing or mistyped identifiers) with a fixed seed, then in the same run:

- value: `xinyong ingest` of the file into a fresh SQLite store, in a child process (records/s,
  and the child's peak resident memory);
- baseline: the same CSV read with the csv module and inserted raw with one `executemany` in one
  transaction into a SQLite table of the same columns (records/s).

Value and baseline alternate in rounds (default 3), each round in the other order and each on a
fresh store; the figures are medians over the rounds, the ratio the median of the rounds' ratios.

Prints both, and as its last line one JSON object (see BENCH.md). Cleans up after itself.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from stdnum.cn import ric, uscc

REGIONS = ("330102", "330105", "330106")  # Hangzhou districts valid since 1983
ATTRS = ("case_no", "amount_cny", "circumstance", "performance")
COLUMNS = (
    "source_ref", "revision", "record_type", "subject_name", "id_scheme", "id_number",
    "decided_on", "valid_from", "valid_until", "document_no", *ATTRS,
)  # fmt: skip
CIRCUMSTANCES = ("has_ability_refuses", "obstructs_enforcement", "violates_declaration", "breaches_settlement")


def _ric(rng: random.Random) -> str:
    birth = f"{rng.randint(1984, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = f"{rng.choice(REGIONS)}{birth}{rng.randint(0, 999):03d}"
    return body + ric.calc_check_digit(body + "0")


def _uscc(rng: random.Random) -> str:
    body = f"91{rng.choice(REGIONS)}{rng.randint(0, 10**9 - 1):09d}"
    return body + uscc.calc_check_digit(body)


def generate(path: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    persons = [_ric(rng) for _ in range(max(rows * 3 // 10, 1))]
    orgs = [_uscc(rng) for _ in range(max(rows // 5, 1))]
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i in range(rows):
            person = rng.random() < 0.6
            number = rng.choice(persons) if person else rng.choice(orgs)
            noise = rng.random()
            if noise < 0.01:
                number = ""
            elif noise < 0.02:
                number = number[:5] + str((int(number[5]) + 1) % 10) + number[6:]
            year, month, day = rng.randint(2021, 2026), rng.randint(1, 10), rng.randint(1, 28)
            decided = f"{year}-{month:02d}-{day:02d}"
            w.writerow(
                (
                    f"COURT-{i:08d}", 1, "court.defaulter", "张伟" if person else "杭州某某科技有限公司",
                    "cn.ric" if person else "cn.uscc", number, decided, decided, f"{year + 2}-{month:02d}-{day:02d}",
                    f"({year})浙01执{i % 99999}号", f"({year})浙01执{i % 99999}号",
                    f"{rng.randint(1000, 2_000_000)}.00",
                    rng.choice(CIRCUMSTANCES), rng.choice(("none", "partial")),
                )
            )  # fmt: skip


def baseline(path: Path, db: Path) -> float:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"CREATE TABLE raw ({', '.join(f'{c} TEXT' for c in COLUMNS)})")
    start = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO raw VALUES ({', '.join('?' * len(COLUMNS))})", reader)
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


def ours(path: Path, data_dir: Path) -> tuple[float, dict[str, object]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env["XINYONG_DATA_DIR"] = str(data_dir)
    exe = [sys.executable, "-m", "xinyong"]
    subprocess.run([*exe, "init"], env=env, check=True, capture_output=True)
    start = time.perf_counter()
    command = [*exe, "ingest", str(path), "--json", "--no-rescore"]  # ingestion alone, as the baseline
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    return seconds, json.loads(done.stdout)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="records to generate (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of value and baseline, alternated")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="xinyong-bench-ingest-"))
    try:
        path = work / "court.csv"
        t = time.perf_counter()
        generate(path, args.rows, args.seed)
        print(f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s")

        # Value and baseline alternate in rounds, each round in the other order, so that a shared
        # machine's drift weighs on both alike; each figure is a median over the rounds.
        bases: list[float] = []
        values: list[float] = []
        for r in range(args.rounds):
            for step in ("baseline", "value") if r % 2 == 0 else ("value", "baseline"):
                if step == "baseline":
                    for name in ("raw.db", "raw.db-wal", "raw.db-shm"):
                        (work / name).unlink(missing_ok=True)
                    base_s = baseline(path, work / "raw.db")
                    bases.append(base_s)
                    print(f"baseline  raw csv + executemany: {base_s:7.2f} s  {args.rows / base_s:10,.0f} records/s")
                else:
                    shutil.rmtree(work / "data", ignore_errors=True)
                    our_s, result = ours(path, work / "data")
                    values.append(our_s)
                    print(
                        f"xinyong   ingest (validate+resolve): {our_s:7.2f} s  {args.rows / our_s:10,.0f} records/s  "
                        f"accepted {result['accepted']:,}, unresolved {result['unresolved']:,}, "
                        f"rejected {result['rejected']:,}, subjects {result['subjects_created']:,}"
                    )
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child's
        ratios = [b / v for b, v in zip(bases, values, strict=True)]
        ratio, rate, base_rate = median(ratios), args.rows / median(values), args.rows / median(bases)
        print(
            f"ratio {ratio:.3f} (median of rounds {', '.join(f'{x:.3f}' for x in ratios)}; target >= 0.25); "
            f"peak_rss_mb {peak_mb:.0f} (target < 500)"
        )
        print(
            json.dumps(
                {
                    "bench": "ingest",
                    "unit": "records/s",
                    "value": round(rate),
                    "baseline": round(base_rate),
                    "ratio": round(ratio, 3),
                    "ratios": [round(x, 3) for x in ratios],
                    "peak_rss_mb": round(peak_mb),
                    "rows": args.rows,
                    "seconds": round(median(values), 2),
                    "baseline_seconds": round(median(bases), 2),
                }
            )
        )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
