"""Benchmark: file ingestion with validation and resolution, against a raw executemany load.

Generates a CSV of court records (default 1,000,000 rows; about 60% residents, 40% organisations,
~2% missing or mistyped identifiers) with a fixed seed, then in the same run:

- value: `xinyong ingest` of the file into a fresh SQLite store, in a child process (records/s);
  the peak memory of that process and its validating helper (see `_peak_memory`) is taken in one
  more ingestion of the same file after the rounds: sampling it reads each process's page map
  from /proc twenty times a second, which slows the ingestion on two cores, a cost the baseline
  does not bear;
- baseline: the same CSV read with the csv module and inserted raw with one `executemany` in one
  transaction into a SQLite table of the same columns (records/s);
- the same rows as the court exports them: a GB18030 CSV under its Chinese headers, read through
  the catalog's mapping (records/s, and its ratio to the UTF-8 CSV's; target >= 0.8), and an .xlsx
  workbook under a title row (records/s and the peak memory of the ingesting processes, sampled
  in the same run: its time includes the sampler's).

Value, baseline and the GB18030 CSV alternate in rounds (default 3), each round in another order
and each on a fresh store; the figures are medians over the rounds, the ratios the medians of the
rounds' ratios. The workbook, slow to write, is ingested in `--xlsx-rounds` rounds (default 1).

With `--pg-url URL`, the same CSV is also ingested into PostgreSQL against a raw COPY of it into a
table with the same indexes (bench/ingest_pg.py; target ratio >= 0.5); `--pg-only` measures that alone.

Each ingestion is a `xinyong` command of its own, started as an installed one starts: with its
modules' bytecode compiled (pip compiles a package's modules when it installs it; an editable
install of a checkout, under PYTHONDONTWRITEBYTECODE, would compile xinyong's 100 modules from
source at every start, a fifth of a second that is not ingestion's). The bench compiles them once
before the first round.

Prints both, and as its last line one JSON object (see BENCH.md). Cleans up after itself.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from statistics import median

import psutil
from stdnum.cn import ric, uscc

import xinyong
from xinyong.demo.exports import ExportLayout
from xinyong.domain.catalog import load_catalog

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


def exports(path: Path, gb_path: Path, xlsx_path: Path | None) -> None:
    """The same rows as the court exports them: GB18030 under Chinese headers, and a workbook."""
    layout = ExportLayout(load_catalog().mappings["court.defaulter_list"], list(COLUMNS))
    book = sheet = None
    if xlsx_path is not None:
        import xlsxwriter

        book = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True})
        sheet = book.add_worksheet("名单")
        sheet.merge_range(0, 0, 0, len(COLUMNS) - 1, "市中级人民法院失信被执行人名单")
        sheet.write_row(1, 0, COLUMNS)
    with path.open(encoding="utf-8", newline="") as f, gb_path.open("w", encoding="gb18030", newline="") as g:
        reader = csv.DictReader(f)
        writer = csv.writer(g)
        writer.writerow(layout.headers)
        for i, row in enumerate(reader, start=2):
            out = layout.row(row)
            writer.writerow([out[h] for h in layout.headers])
            if sheet is not None:
                sheet.write_row(i, 0, [row[c] for c in COLUMNS])
    if book is not None:
        book.close()


def _peak_memory(proc: subprocess.Popen[str], peak: list[int]) -> None:
    """Sample the memory of a process and its children (the validating helper) until it ends:
    peak[0] the largest sum of their proportional set sizes, peak[1] of their resident sizes.

    The helper is forked: until either process writes to them, the pages it was forked with
    (the interpreter, the modules, the catalog: about 60 MB) are the same pages in both, which
    each process's resident size counts in full. The proportional set size counts a page shared
    by two processes half in each, so their sum is the memory the ingestion takes (the target's
    figure); the resident sizes' sum is printed beside it.
    """
    try:
        p = psutil.Process(proc.pid)
        while proc.poll() is None:
            infos = [x.memory_full_info() for x in (p, *p.children(recursive=True))]
            peak[0] = max(peak[0], sum(i.pss for i in infos))
            peak[1] = max(peak[1], sum(i.rss for i in infos))
            time.sleep(0.05)
    except psutil.Error:
        return


def ours(path: Path, data_dir: Path, sample: bool = False) -> tuple[float, dict[str, object], tuple[float, float]]:
    """(seconds, the batch's result, (peak proportional, peak resident) MB of the ingesting
    processes, or zeros unless `sample`) of one ingestion."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env["XINYONG_DATA_DIR"] = str(data_dir)
    exe = [sys.executable, "-m", "xinyong"]
    subprocess.run([*exe, "init"], env=env, check=True, capture_output=True)
    start = time.perf_counter()
    command = [*exe, "ingest", str(path), "--json", "--no-rescore"]  # ingestion alone, as the baseline
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0, 0]
    sampler = threading.Thread(target=_peak_memory, args=(proc, peak), daemon=True)
    if sample:
        sampler.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    if sample:
        sampler.join()
    if proc.returncode not in (0, 3):  # 3: stored, with rows rejected (the data has some on purpose)
        raise SystemExit(f"xinyong ingest {path.name} failed ({proc.returncode}):\n{stderr}")
    return seconds, json.loads(stdout)[0], (peak[0] / 1e6, peak[1] / 1e6)


def _line(name: str, rows: int, seconds: float, result: dict[str, object], extra: str = "") -> None:
    print(
        f"{name:<34}: {seconds:7.2f} s  {rows / seconds:10,.0f} records/s  accepted {result['accepted']:,}, "
        f"unchanged {result['unchanged']:,}, unresolved {result['unresolved']:,}, rejected {result['rejected']:,}"
        + extra
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="records to generate (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of value, baseline and GB18030, alternated")
    parser.add_argument("--xlsx-rounds", type=int, default=1, help="rounds of the workbook (0: skip it)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--pg-url", help="also ingest into PostgreSQL, against a raw COPY (see bench/ingest_pg.py)")
    parser.add_argument("--pg-only", action="store_true", help="with --pg-url: measure PostgreSQL alone")
    args = parser.parse_args()
    if args.pg_only and not args.pg_url:
        sys.exit("--pg-only needs --pg-url")

    work = Path(tempfile.mkdtemp(prefix="xinyong-bench-ingest-"))
    compileall.compile_dir(Path(xinyong.__file__).parent, quiet=1)  # as an installed package has it
    try:
        path, gb_path, xlsx_path = work / "court.csv", work / "court.gb18030.csv", work / "court.xlsx"
        t = time.perf_counter()
        generate(path, args.rows, args.seed)
        if not args.pg_only:
            exports(path, gb_path, xlsx_path if args.xlsx_rounds else None)
        print(
            f"generated {args.rows:,} rows in {time.perf_counter() - t:.1f} s: UTF-8 CSV "
            f"{path.stat().st_size / 1e6:.0f} MB"
            + ("" if args.pg_only else f", GB18030 CSV {gb_path.stat().st_size / 1e6:.0f} MB")
            + (f", xlsx {xlsx_path.stat().st_size / 1e6:.0f} MB" if args.xlsx_rounds and not args.pg_only else "")
        )

        if args.pg_url:
            from ingest_pg import measure as measure_pg  # beside this file

            pg = measure_pg(path, args.pg_url, work, args.rounds, COLUMNS)
            if args.pg_only:
                print(json.dumps({"bench": "ingest_postgresql", "unit": "records/s", **pg, "rows": args.rows}))
                return
        # Value, baseline and the GB18030 CSV alternate in rounds, each round in another order, so that
        # a shared machine's drift weighs on all alike; each figure is a median over the rounds.
        bases: list[float] = []
        values: list[float] = []
        gbs: list[float] = []
        orders = [("baseline", "value", "gb18030"), ("value", "gb18030", "baseline"), ("gb18030", "baseline", "value")]
        for r in range(args.rounds):
            for step in orders[r % 3]:
                if step == "baseline":
                    for name in ("raw.db", "raw.db-wal", "raw.db-shm"):
                        (work / name).unlink(missing_ok=True)
                    base_s = baseline(path, work / "raw.db")
                    bases.append(base_s)
                    rate_s = f"{args.rows / base_s:10,.0f}"
                    print(f"{'baseline  raw csv + executemany':<34}: {base_s:7.2f} s  {rate_s} records/s")
                    continue
                shutil.rmtree(work / "data", ignore_errors=True)
                source = path if step == "value" else gb_path
                our_s, result, _ = ours(source, work / "data")
                (values if step == "value" else gbs).append(our_s)
                name = "xinyong   ingest UTF-8 CSV" if step == "value" else "xinyong   ingest GB18030 CSV (mapped)"
                _line(name, args.rows, our_s, result)
        # The memory of the UTF-8 CSV's ingestion, the figures the target is for, in a run of its own.
        shutil.rmtree(work / "data", ignore_errors=True)
        our_s, result, (peak_mb, peak_rss_mb) = ours(path, work / "data", sample=True)
        _line("xinyong   ingest UTF-8 CSV, memory", args.rows, our_s, result, f"; peak {peak_mb:,.0f} MB")
        xlsx_s: list[float] = []
        xlsx_peak = 0.0
        for _ in range(args.xlsx_rounds):
            shutil.rmtree(work / "data", ignore_errors=True)
            our_s, result, peak = ours(xlsx_path, work / "data", sample=True)
            xlsx_s.append(our_s)
            xlsx_peak = max(xlsx_peak, peak[0])
            _line("xinyong   ingest xlsx (title row)", args.rows, our_s, result, f"; peak {peak[0]:,.0f} MB")
        ratios = [b / v for b, v in zip(bases, values, strict=True)]
        gb_ratios = [v / g for v, g in zip(values, gbs, strict=True)]
        ratio, rate, base_rate = median(ratios), args.rows / median(values), args.rows / median(bases)
        gb_ratio, gb_rate = median(gb_ratios), args.rows / median(gbs)
        print(
            f"ratio {ratio:.3f} (median of rounds {', '.join(f'{x:.3f}' for x in ratios)}; target >= 0.25); "
            f"peak memory {peak_mb:.0f} MB (target < 500; resident sizes summed {peak_rss_mb:.0f} MB)"
        )
        print(
            f"GB18030 CSV under Chinese headers: {gb_rate:,.0f} records/s, {gb_ratio:.3f} x the UTF-8 CSV "
            f"(median of rounds {', '.join(f'{x:.3f}' for x in gb_ratios)}; target >= 0.8)"
        )
        if xlsx_s:
            print(f"xlsx: {args.rows / median(xlsx_s):,.0f} records/s, peak memory {xlsx_peak:,.0f} MB")
        figures = {
            "bench": "ingest",
            "unit": "records/s",
            "value": round(rate),
            "baseline": round(base_rate),
            "ratio": round(ratio, 3),
            "ratios": [round(x, 3) for x in ratios],
            "peak_mb": round(peak_mb),
            "peak_rss_mb": round(peak_rss_mb),
            "rows": args.rows,
            "seconds": round(median(values), 2),
            "baseline_seconds": round(median(bases), 2),
            "gb18030_value": round(gb_rate),
            "gb18030_vs_utf8": round(gb_ratio, 3),
            "gb18030_ratios": [round(x, 3) for x in gb_ratios],
        }
        if args.pg_url:
            figures["postgresql"] = pg
        if xlsx_s:
            figures |= {"xlsx_value": round(args.rows / median(xlsx_s)), "xlsx_peak_mb": round(xlsx_peak)}
        print(json.dumps(figures))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
