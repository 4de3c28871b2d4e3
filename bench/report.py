"""Benchmark: credit reports per second (JSON and PDF) over the demo city, against reading the
same subjects' public file.

Generates the demo city with a fixed seed (default 5,000 residents and 1,000 companies), ingests
it into a fresh SQLite store as known two months ago, proposes, approves and publishes the
listings, then in alternated rounds (each round in the other order) over the same companies:

- value: `issue_report` of each company's public report as JSON (gather, sign with Ed25519,
  store with its audit event), reports per second;
- `pdf_per_s`: the same as a signed PDF (fpdf2 with the CJK font, pyHanko), on fewer companies;
- baseline: `public_subject`, the public file of each of the same companies, reads per second.

Prints the medians, and as its last line one JSON object (see BENCH.md): ratio = JSON reports
per second / public reads per second, `pdf_ratio` likewise for PDF. Cleans up after itself.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from xinyong.demo.city import generate_city
from xinyong.domain.catalog import Catalog, load_catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.identifiers import IdentifierVault
from xinyong.ingest.pipeline import ingest_file, plan_directory
from xinyong.reports.issue import issue_report
from xinyong.services import lists as lists_service
from xinyong.services.maintain import maintain
from xinyong.services.portal import public_subject
from xinyong.store.db import make_engine, upgrade
from xinyong.store.tables import list_entry_state, subjects

SEED = 20261207


def build(tmp: Path, persons: int, orgs: int) -> tuple[Engine, Catalog]:
    catalog = load_catalog()
    vault = IdentifierVault(bytes.fromhex("5a" * 32))
    then = datetime.now(UTC) - timedelta(days=60)
    generate_city(tmp / "city", persons, orgs, SEED, then.date())
    engine = make_engine(f"sqlite:///{tmp / 'store.db'}")
    upgrade(engine)
    CLOCK.set_to(then)  # the city's story happened in the past: its writes are stamped then
    for path, source in plan_directory(tmp / "city" / "departments", catalog):
        ingest_file(
            engine, catalog, vault, path, source=source, report_dir=tmp / "rejects", helper_min_bytes=None, now=then
        )
    maintain(engine, catalog, then)
    with engine.connect() as conn:
        proposed = list(conn.scalars(select(list_entry_state.c.entry_id).where(list_entry_state.c.state == "proposed")))
    for eid in proposed:
        lists_service.decide(engine, catalog, eid, approve_it=True, actor="reviewer:bench", reason="bench", now=then)
    CLOCK.set_to(then + timedelta(days=35))
    maintain(engine, catalog, then + timedelta(days=35))
    CLOCK.set_to(None)
    return engine, catalog


def rate(fn: Callable[[int], object], ids: list[int]) -> float:
    start = time.perf_counter()
    for sid in ids:
        fn(sid)
    return len(ids) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=5000)
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--json-reports", type=int, default=200, help="companies per round for JSON reports")
    parser.add_argument("--pdf-reports", type=int, default=10, help="companies per round for PDF reports")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="xinyong-bench-report-"))
    try:
        started = time.perf_counter()
        engine, catalog = build(tmp, args.persons, args.orgs)
        print(
            f"demo city of {args.persons} residents and {args.orgs} companies built "
            f"in {time.perf_counter() - started:.1f} s"
        )
        with engine.connect() as conn:
            orgs = [
                int(i)
                for i in conn.scalars(
                    select(subjects.c.id).where(subjects.c.kind == "organisation").order_by(subjects.c.id)
                )
            ]
        key = Ed25519PrivateKey.generate()

        def report(fmt: str) -> Callable[[int], object]:
            return lambda sid: issue_report(
                engine, catalog, key, subject_id=sid, requester="bench", by_subject=False, public=True, fmt=fmt
            )

        def public(sid: int) -> object:
            return public_subject(engine, catalog, sid)

        report("pdf")(orgs[0])  # the font is parsed once per process: not a cost of each report
        json_ids, pdf_ids = orgs[: args.json_reports], orgs[: args.pdf_reports]
        js, pdf, base, ratios, pdf_ratios = [], [], [], [], []
        for n in range(args.rounds):
            steps = [("json", json_ids, report("json")), ("pdf", pdf_ids, report("pdf")), ("public", json_ids, public)]
            measured = {name: rate(fn, ids) for name, ids, fn in (steps if n % 2 == 0 else steps[::-1])}
            js.append(measured["json"])
            pdf.append(measured["pdf"])
            base.append(measured["public"])
            ratios.append(measured["json"] / measured["public"])
            pdf_ratios.append(measured["pdf"] / measured["public"])
            print(
                f"round {n + 1}: JSON {measured['json']:.1f}/s, PDF {measured['pdf']:.2f}/s, "
                f"public file {measured['public']:.1f}/s"
            )
        value, baseline = statistics.median(js), statistics.median(base)
        print(
            f"JSON reports: {value:.1f}/s; PDF reports: {statistics.median(pdf):.2f}/s; "
            f"public file reads: {baseline:.1f}/s"
        )
        result = {
            "bench": "report",
            "unit": "reports/s",
            "value": round(value, 1),
            "baseline": round(baseline, 1),
            "ratio": round(statistics.median(ratios), 3),
            "pdf_per_s": round(statistics.median(pdf), 2),
            "pdf_ratio": round(statistics.median(pdf_ratios), 4),
            "companies": len(orgs),
        }
        engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
