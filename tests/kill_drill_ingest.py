"""The ingestion kill drill: `xinyong ingest` of a department file large enough to be validated by
the helper process, killed with SIGKILL (the writer and its helper) at a random moment.

Each trial writes a new file: new records, new revisions of the previous trial's, rows to reject
and numbers that fail their checksum (stored unresolved), so that the batch writes records,
subjects, identifiers, superseded versions, rejects, the unresolved queue and a reject report.
After the kill the store holds the batch whole or not at all: every batch's records, rejects and
queue match its counts, no record lacks its batch, no subject its identifier, no reference has two
current versions, every final reject report is its batch's and complete, and the audit chain
holds. The same command then stores the file (or finds it stored), and once more adds nothing.
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from builders import make_ric, mistype
from kill_drill_support import (
    SPREAD,
    Drill,
    Timing,
    audited_targets,
    chain_intact,
    killed_after,
    startup,
    timed_run,
    xy,
)
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.ingest.pipeline import HELPER_MIN_BYTES

COLUMNS = (
    "source_ref", "revision", "record_type", "subject_name", "id_scheme", "id_number", "decided_on", "valid_from",
    "valid_until", "document_no", "case_no", "amount_cny", "circumstance", "performance",
)  # fmt: skip
REJECTED_ROWS_EXIT = 3  # `xinyong ingest` stored the file and rejected some of its rows
PEOPLE = [make_ric(n % 1000, birth=f"19{85 + n // 1000}0101") for n in range(14_000)]


@dataclass(frozen=True)
class Planned:
    """What a file holds, and so what its batch must count."""

    path: Path
    rows: int
    new: int
    revised: int
    rejected: int
    unresolved: int


def _row(ref: str, revision: int, number: str, amount: int, decided: str = "2024-02-20") -> list[Any]:
    return [ref, revision, "court.defaulter", "张伟", "cn.ric", number, decided, "2024-02-25", "",
            f"(2024)浙01执{amount % 9973}号", f"(2024)浙01执{amount % 9973}号", f"{amount}.00",
            "has_ability_refuses", "none"]  # fmt: skip


def write_file(folder: Path, tag: str, rows: int, previous: str | None, rng: random.Random) -> Planned:
    """A court file of `rows` rows: 1% new revisions of `previous`'s records, 1% rejected (a date
    that is none), 1% with a mistyped number (stored unresolved), the rest new records."""
    folder.mkdir(parents=True)
    path = folder / "court.csv"
    counts = Counter[str]()
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i in range(rows):
            number, amount = rng.choice(PEOPLE), rng.randrange(1000, 2_000_000)
            kind = "new" if i % 100 > 2 else ("revised", "rejected", "unresolved")[i % 100]
            if kind == "revised" and (previous is None or i + 3 >= rows):
                kind = "new"  # a revision of the previous file's row i + 3, always a new record there
            counts[kind] += 1
            if kind == "revised":
                w.writerow(_row(f"IG-{previous}-{i + 3:06d}", 2, number, amount))
            elif kind == "rejected":
                w.writerow(_row(f"IG-{tag}-{i:06d}", 1, number, amount, decided="no date"))
            else:
                w.writerow(_row(f"IG-{tag}-{i:06d}", 1, mistype(number) if kind == "unresolved" else number, amount))
    return Planned(path, rows, counts["new"] + counts["unresolved"], counts["revised"], counts["rejected"],
                   counts["unresolved"])  # fmt: skip


def batch_of(engine: Engine, path: Path) -> int | None:
    """The batch that stored this file, if one committed."""
    with engine.connect() as conn:
        found = conn.execute(text("SELECT id FROM batches WHERE file_name = :f"), {"f": str(path.resolve())[-500:]})
        ids = [int(i) for (i,) in found]
    assert len(ids) <= 1, f"{path} is stored as {len(ids)} batches: {ids}"
    return ids[0] if ids else None


_WHOLE = {
    "records": "SELECT b.id, b.accepted + b.new_versions, (SELECT count(*) FROM records r WHERE r.batch_id = b.id) "
    "FROM batches b",
    "rejects": "SELECT b.id, b.rejected, (SELECT count(DISTINCT j.line) FROM rejects j WHERE j.batch_id = b.id) "
    "FROM batches b",
    "unresolved records": "SELECT b.id, b.unresolved, (SELECT count(*) FROM unresolved u JOIN records r "
    "ON r.id = u.record_id WHERE r.batch_id = b.id) FROM batches b",
}
_NONE = {
    "records without their batch": "SELECT count(*) FROM records r WHERE NOT EXISTS "
    "(SELECT 1 FROM batches b WHERE b.id = r.batch_id)",
    "subjects without an identifier": "SELECT count(*) FROM subjects s WHERE NOT EXISTS "
    "(SELECT 1 FROM identifiers i WHERE i.subject_id = s.id)",
    "identifiers of no subject": "SELECT count(*) FROM identifiers i WHERE NOT EXISTS "
    "(SELECT 1 FROM subjects s WHERE s.id = i.subject_id)",
    "unlinked records outside the queue": "SELECT count(*) FROM records r WHERE r.subject_id IS NULL AND NOT EXISTS "
    "(SELECT 1 FROM unresolved u WHERE u.record_id = r.id)",
    "references with two current versions": "SELECT count(*) FROM (SELECT source_ref FROM records WHERE "
    "superseded_at IS NULL GROUP BY source_id, source_ref HAVING count(*) > 1) d",
}


def batches_whole(engine: Engine, reports: Path, *, report_owed: bool = False) -> dict[int, int]:
    """Every batch holds what it counts and its reject report whole; nothing outside a batch; each
    batch audited once. The batches and their stored records.

    `report_owed`: right after a kill, a batch that committed as its process died may still hold
    its report under its partial name, whole (written before the commit); the next batch in the
    same directory gives it its final name (`ingest.rejects.settle_reports`)."""
    with engine.connect() as conn:
        for what, sql in _WHOLE.items():
            for batch_id, counted, held in conn.execute(text(sql)):
                assert counted == held, f"batch {batch_id} counts {counted} {what}, the store holds {held}"
        for what, sql in _NONE.items():
            n = conn.scalar(text(sql))
            assert n == 0, f"{n} {what}"
        named = {
            int(b): (path, int(lines))
            for b, path, lines in conn.execute(
                text(
                    "SELECT b.id, b.report_path, b.unresolved + (SELECT count(*) FROM rejects j WHERE j.batch_id = b.id) "
                    "FROM batches b"
                )
            )
        }
        stored = {int(b): int(n) for b, n in conn.execute(text("SELECT id, accepted + new_versions FROM batches"))}
    for batch_id, (path, lines) in named.items():
        if path is None:
            assert lines == 0, f"batch {batch_id} has {lines} report lines and no report"
            continue
        final = Path(path)
        if report_owed and not final.is_file() and final.with_name(final.name + ".partial").is_file():
            final = final.with_name(final.name + ".partial")  # owed: checked whole below
        assert final.is_file(), f"batch {batch_id} committed, its reject report {path} is missing"
        with final.open(encoding="utf-8", newline="") as f:
            written = sum(1 for _ in csv.reader(f)) - 1
        assert written == lines, f"batch {batch_id}: its reject report holds {written} lines of {lines}"
    finals = {str(p) for p in reports.glob("*.rejects.csv")}
    strays = finals - {p for p, _ in named.values() if p is not None}
    assert not strays, f"final reject reports of no stored batch: {sorted(strays)}"
    audited = Counter(audited_targets(engine, "submit_records"))
    assert audited == Counter(f"batch:{b}" for b in named), f"batches and their audit events differ: {audited}"
    return stored


def ingest_drill(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, env: dict[str, str], tmp: Path,
    *, trials: int, rows: int, rng: random.Random, spread: tuple[float, float] = SPREAD,
    helper_min_bytes: int = HELPER_MIN_BYTES, chunk_rows: int = 5000,
) -> Drill:  # fmt: skip
    """New department files, each ingested by `xinyong ingest` killed at random; then run again."""
    drill = Drill("ingest")
    env = {
        **env,
        "XINYONG_INGEST_HELPER_MIN_BYTES": str(helper_min_bytes),
        "XINYONG_INGEST_CHUNK_ROWS": str(chunk_rows),
    }
    reports = tmp / "ingest-rejects"

    def command(p: Planned) -> tuple[str, ...]:
        assert p.path.stat().st_size >= helper_min_bytes, f"{p.path} is too small for the helper process"
        return ("ingest", str(p.path), "--no-rescore", "--json", "--report-dir", str(reports))

    codes = (0, REJECTED_ROWS_EXIT)
    base = write_file(tmp / "ingest-base", "base", rows, None, rng)
    timing = Timing(startup(env, tmp), timed_run(env, tmp, *command(base), codes=codes))
    previous, rolled_back, committed, helpers = "base", 0, 0, 0
    for trial in range(trials):
        tag = f"{trial:02d}"
        planned = write_file(tmp / f"ingest-{tag}", tag, rows, previous, rng)
        before = batches_whole(engine, reports)
        delay = timing.delay(rng, spread)
        drill.delays.append(delay)
        run = killed_after(env, tmp, delay, *command(planned), codes=codes)
        drill.killed += run.killed
        drill.finished += not run.killed
        helpers += run.children > 0
        timing = timing if run.killed else timing.ran(run.seconds)
        after = batches_whole(engine, reports, report_owed=True)
        stored = batch_of(engine, planned.path)
        if stored is None:
            rolled_back += 1
            assert after == before, f"trial {trial}: a batch that did not commit left {set(after) - set(before)}"
        else:
            committed += run.killed
        chain_intact(engine)
        again = json.loads(xy(env, tmp, *command(planned), codes=codes).stdout)[0]
        if again["same_as"] is None:
            assert stored is None, f"trial {trial}: the run again stored batch {stored} a second time: {again}"
            got = {k: again[k] for k in ("rows_read", "accepted", "new_versions", "rejected", "unresolved")}
            want = dict(zip(got, (planned.rows, planned.new, planned.revised, planned.rejected, planned.unresolved),
                            strict=True))  # fmt: skip
            assert got == want, f"trial {trial}: the run again stored {got}, the file holds {want}"
            stored = int(again["batch_id"])
        else:
            # None before: the killed run's COMMIT reached the server as it was killed, and the server
            # finished it after the store was looked at (PostgreSQL).
            assert stored in (None, again["same_as"]), f"trial {trial}: batch {stored}, the run again found {again}"
            committed += stored is None
            stored = int(again["same_as"])
        whole = batches_whole(engine, reports)
        once_more = json.loads(xy(env, tmp, *command(planned), codes=codes).stdout)[0]
        assert once_more["same_as"] == stored, f"trial {trial}: once more stored again: {once_more}"
        assert batches_whole(engine, reports) == whole, f"trial {trial}: once more added to the store"
        with engine.connect() as conn:
            owed = {int(b) for (b,) in conn.execute(text("SELECT batch_id FROM owed_rescores"))}
        assert set(whole) <= owed, f"trial {trial}: batches {sorted(set(whole) - owed)} do not owe their rescore"
        chain_intact(engine)
        previous = tag
    drill.notes = [f"{rolled_back} rolled back, {committed} killed after commit, helper killed in {helpers}"]
    return drill
