"""Benchmark: batch, online and incremental scoring, each beside a plain baseline of the same run.

Generates, with a fixed seed and in bounded memory, a population of subjects (default 1,000,000:
about 85% organisations, 15% residents of whom about 10% hold a valid consent to scoring) and
their records (default 10,000,000) of the record types the shipped rulesets read, with values that
fit the catalog (enum members, non-negative amounts with two decimals), decided over the five
years before a fixed as_of; some have expired, a few are repaired or revoked. They are written
straight to Parquet: every record with its attributes as JSON (`stored.parquet`, what the store
holds, loaded into it for step 3), and, in the `records_in` and `subjects_in` layouts of the
scoring pipeline as the service's export writes them (`export_inputs` with the pipeline's
`inputs`), with the attributes the rules read as typed columns (`records.parquet`, which the
batch and Spark figures read).

1. Batch (value, baseline, ratio; seconds, lower is better, target ratio <= 3):
   - value: `run_duckdb(ScoringPipeline(catalog, as_of), records, subjects)`, the full pipeline
     with every contribution, fetched to Arrow;
   - baseline: one hand-written DuckDB query over the same Parquet that keeps the records valid
     on as_of and sums constant points per record type with a GROUP BY, fetched to Arrow;
   - spark_s: the same pipeline on Spark in local mode (`local_session`, `run_spark`); DuckDB and
     Spark must give the same number of scored subjects and the same sum of points.
   Value and baseline run in rounds (`--repeat`, default 3), each round in the other order; the
   figures are medians, the ratio the median of the rounds' ratios.
2. Online (online_p50_ms, online_p99_ms; target p99 < 1 ms): `score_subject` for each of 2,000
   organisations with 50 records, each call timed, beside a plain loop that sums constant points
   of the valid records.
3. Incremental (full_rescore_s, incremental_s, incremental_ratio; target ratio < 0.05): the same
   data bulk-loaded into a real SQLite store; a full `rescore` through the service (export,
   pipeline, writing the scores), then 10,000 new court records for existing organisations
   ingested with `ingest_file`, then `changed_subjects` + `rescore(mode="changed")` timed.

Prints what it measures, and as its last line one JSON object (see BENCH.md). Cleans up after itself.
"""

from __future__ import annotations

import argparse
import csv
import gc
import hashlib
import itertools
import json
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Engine, update
from stdnum.cn import ric, uscc

from xinyong.domain.catalog import Catalog, load_catalog
from xinyong.domain.catalog.models import AttributeSpec
from xinyong.domain.catalog.ruleset_models import ProportionalPoints
from xinyong.domain.clock import CLOCK
from xinyong.domain.identifiers import IdentifierVault, Scheme
from xinyong.domain.scoring import RecordFact, cp, ruleset_in_force, score_subject
from xinyong.domain.values import canonical_json
from xinyong.engines.embedded import run_duckdb
from xinyong.engines.scoring_sql import ScoringPipeline
from xinyong.services.exports import RECORD_SCHEMA, record_schema
from xinyong.services.scoring import changed_subjects, rescore
from xinyong.store import clock
from xinyong.store.bulk import insert_rows, timestamp
from xinyong.store.db import make_engine, upgrade
from xinyong.store.ingest_repo import RECORD_COLUMNS
from xinyong.store.tables import batches, identifiers, records, sources, subjects

AS_OF = date(2026, 9, 30)
RECORDED_AT = datetime(2026, 10, 1, tzinfo=UTC)  # when the bulk-loaded records became known
KEY = b"benchmark identifier key, not a secret: 0123456789"
YEARS = 5
CHUNK = 1_000_000  # records generated and written per step
STORE_CHUNK = 100_000  # rows per executemany when loading the store
PERSON_SHARE = 0.15
CONSENT_SHARE, GRANTED_SHARE = 0.12, 5 / 6  # residents with a consent record; of those, granted
OPEN_ENDED = 0.1  # records without an end of validity
OPTIONAL_ABSENT = 0.3  # optional attributes left out
STATUSES, STATUS_P = ("active", "repaired", "revoked"), (0.98, 0.015, 0.005)
ONLINE_SUBJECTS, ONLINE_RECORDS = 2_000, 50
NEW_RECORDS = 10_000
# Per cent of records by (record type, subject kind): the usual mix of a city's departments.
MIX = {
    ("court.defaulter", "person"): 6.0, ("court.defaulter", "organisation"): 5.0,
    ("tax.arrears", "person"): 6.0, ("tax.arrears", "organisation"): 19.0,
    ("tax.major_violation", "organisation"): 1.0, ("tax.a_grade", "organisation"): 4.5,
    ("market.penalty_general", "person"): 6.0, ("market.penalty_general", "organisation"): 15.0,
    ("market.penalty_serious", "organisation"): 2.0, ("market.licence_revoked", "organisation"): 1.0,
    ("market.abnormal_operations", "organisation"): 14.0, ("quality.recall", "organisation"): 1.5,
    ("env.violation", "organisation"): 4.0, ("labour.wage_arrears", "organisation"): 2.0,
    ("safety.violation", "organisation"): 4.0, ("customs.violation", "organisation"): 2.5,
    ("customs.aeo_certified", "organisation"): 0.5, ("gov.commendation", "person"): 2.5,
    ("gov.commendation", "organisation"): 1.5,
}  # fmt: skip
MEDIAN_CNY = {"amount_cny": 50_000.0, "fine_cny": 20_000.0}
LAWS = ("广告法第28条", "食品安全法第34条", "产品质量法第49条", "价格法第14条", "商标法第57条", "计量法第27条")
# The JSON text after the decimal point of an amount with `cents` hundredths, as json.dumps writes a float.
FRACTION = [".0" if c == 0 else "." + f"{c:02d}".rstrip("0") for c in range(100)]
EPOCH = date(1970, 1, 1)
# What the store holds: the records with all their attributes, as canonical JSON.
STORED_SCHEMA = pa.schema([*RECORD_SCHEMA, ("attributes", pa.binary())])

_start = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _start:7.1f} s] {message}", flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _join(*parts: Any) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


# -- data ---------------------------------------------------------------------------------------


class Generator:
    """Records of the types the shipped rulesets read, vectorised, a chunk at a time."""

    def __init__(self, catalog: Catalog, as_of: date) -> None:
        self.catalog = catalog
        self.as_of_day = (as_of - EPOCH).days
        self.mix: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.consent_type: str | None = None
        read: dict[str, set[str]] = {}
        for kind in ("organisation", "person"):
            rs = ruleset_in_force(catalog, kind, as_of)
            if rs is None:
                continue
            read[kind] = {r.record_type for r in rs.rules}
            if rs.requires_consent:
                self.consent_type = rs.requires_consent
        self.types = sorted(set().union(*read.values()) | ({self.consent_type} if self.consent_type else set()))
        self.code = {t: i for i, t in enumerate(self.types)}
        self.type_names = pa.array(self.types)
        for kind, types in read.items():
            ordered = sorted(t for t in types if kind in catalog.record_types[t].subject_kinds)
            weights = np.array([MIX.get((t, kind), 0.3) for t in ordered])
            self.mix[kind] = (np.array([self.code[t] for t in ordered]), weights / weights.sum())

    def records(
        self, rng: np.random.Generator, subject_ids: np.ndarray, person: np.ndarray, first_id: int
    ) -> pa.RecordBatch:
        """One record for each of `subject_ids` (person: whether that subject is a resident)."""
        n = len(subject_ids)
        codes = np.zeros(n, np.int64)
        for kind, mask in (("person", person), ("organisation", ~person)):
            k = int(mask.sum())
            if k:
                choices, p = self.mix[kind]
                codes[mask] = rng.choice(choices, size=k, p=p)
        valid_from = self.as_of_day - rng.integers(0, YEARS * 365 + 1, n)
        decided = valid_from - rng.integers(0, 21, n)
        until = valid_from + rng.integers(365, 6 * 365 + 1, n)
        open_ended = rng.random(n) < OPEN_ENDED
        status = rng.choice(len(STATUSES), size=n, p=STATUS_P)
        years = decided.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
        order = np.argsort(codes, kind="stable")
        ordered = codes[order]
        cuts = [0, *(np.flatnonzero(np.diff(ordered)) + 1).tolist(), n]
        parts = [
            self.attributes(rng, self.types[ordered[a]], years[order[a:b]])
            for a, b in itertools.pairwise(cuts)
            if b > a
        ]
        inverse = np.empty(n, np.int64)
        inverse[order] = np.arange(n)
        attributes = pa.concat_arrays(parts).take(pa.array(inverse)) if parts else pa.array([], pa.string())
        return self._batch(
            first_id, subject_ids, person, codes, decided, valid_from, until, open_ended, status, attributes
        )

    def consents(
        self, rng: np.random.Generator, subject_ids: np.ndarray, granted: np.ndarray, first_id: int
    ) -> pa.RecordBatch:
        """One consent record for each of `subject_ids` (residents), granting it or withdrawing it."""
        assert self.consent_type is not None
        n = len(subject_ids)
        rt = self.catalog.record_types[self.consent_type]
        others = sorted((name, spec.enum or []) for name, spec in rt.attributes.items() if name != "consent")
        combos = list(itertools.product(*(values for _, values in others)))
        templates = pa.array(
            [
                canonical_json({"consent": c, **dict(zip((name for name, _ in others), combo, strict=True))})
                for c in ("granted", "withdrawn")
                for combo in combos
            ]
        )
        pick = np.where(granted, 0, len(combos)) + rng.integers(0, len(combos), n)
        valid_from = self.as_of_day - rng.integers(0, YEARS * 365 + 1, n)
        return self._batch(
            first_id,
            subject_ids,
            np.ones(n, bool),
            np.full(n, self.code[self.consent_type]),
            valid_from,
            valid_from,
            valid_from,
            np.ones(n, bool),
            np.zeros(n, np.int64),
            templates.take(pa.array(pick)),
        )

    def _batch(
        self,
        first_id: int,
        subject_ids: np.ndarray,
        person: np.ndarray,
        codes: np.ndarray,
        decided: np.ndarray,
        valid_from: np.ndarray,
        until: np.ndarray,
        open_ended: np.ndarray,
        status: np.ndarray,
        attributes: pa.Array,
    ) -> pa.RecordBatch:
        n = len(subject_ids)
        day = pa.date32()
        return pa.record_batch(
            [
                pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
                pa.array(subject_ids.astype(np.int64)),
                pa.array(["organisation", "person"]).take(pa.array(person.astype(np.int8))),
                self.type_names.take(pa.array(codes)),
                pa.array(decided.astype(np.int32)).cast(day),
                pa.array(valid_from.astype(np.int32)).cast(day),
                pa.array(until.astype(np.int32), mask=open_ended).cast(day),
                pa.array(STATUSES).take(pa.array(status)),
                attributes.cast(pa.binary()),
            ],
            schema=STORED_SCHEMA,
        )

    def attributes(self, rng: np.random.Generator, type_id: str, years: np.ndarray) -> pa.Array:
        """Canonical JSON attributes (sorted keys, no spaces) of `len(years)` records of one type."""
        n = len(years)
        fragments = []
        for name, spec in sorted(self.catalog.record_types[type_id].attributes.items()):
            fragment = self._fragment(rng, name, spec, years)
            if not spec.required:
                absent = pa.array(rng.random(n) < OPTIONAL_ABSENT)
                fragment = pc.if_else(absent, pa.scalar(None, pa.string()), fragment)
            fragments.append(fragment)
        if not fragments:
            return pa.array(["{}"] * n)
        body = pc.binary_join_element_wise(*fragments, ",", null_handling="skip")
        return _join("{", body, "}")

    def _fragment(self, rng: np.random.Generator, name: str, spec: AttributeSpec, years: np.ndarray) -> pa.Array:
        """`"name":value` for each record, the value fitting the attribute's spec."""
        n = len(years)
        key = json.dumps(name) + ":"
        if spec.enum:
            choices = pa.array([canonical_json({name: v})[1:-1] for v in spec.enum])
            return choices.take(pa.array(rng.integers(0, len(spec.enum), n)))
        if spec.type == "decimal":
            lo = max(spec.minimum or 0.0, 0.0)
            hi = spec.maximum if spec.maximum is not None else 1e9
            amount = np.clip(rng.lognormal(np.log(MEDIAN_CNY.get(name, 10_000.0)), 1.1, n), lo, hi)
            cents = np.rint(amount * 100).astype(np.int64)
            whole_yuan = rng.random(n) < 0.6
            cents = np.where(whole_yuan & (cents >= 100), cents // 100 * 100, cents)
            fraction = pa.array(FRACTION).take(pa.array(cents % 100))
            return _join(key, pa.array(cents // 100).cast(pa.string()), fraction)
        if spec.type == "integer":
            lo = int(spec.minimum) if spec.minimum is not None else 0
            hi = int(spec.maximum) if spec.maximum is not None else lo + 999
            values = np.clip(years - 1, lo, hi) if name.endswith("_year") else rng.integers(lo, hi + 1, n)
            return _join(key, pa.array(values).cast(pa.string()))
        if spec.type == "boolean":
            return pa.array([key + "true", key + "false"]).take(pa.array(rng.integers(0, 2, n)))
        if spec.type == "date":
            return _join(key, '"', pa.array(years.astype(str)), '-06-30"')
        seq = pa.array(rng.integers(1, 100_000, n)).cast(pa.string())
        if name == "case_no":
            text = _join("(", pa.array(years).cast(pa.string()), ")浙01执", seq, "号")
        elif name == "article_violated":
            text = pa.array(LAWS).take(pa.array(rng.integers(0, len(LAWS), n)))
        else:
            text = _join(name[:3].upper(), seq)
        if spec.max_length:
            text = pc.utf8_slice_codeunits(text, 0, spec.max_length)
        return _join(key, '"', text, '"')


class Population:
    """Who the subjects are; subject ids are 1..n."""

    def __init__(self, n: int, rng: np.random.Generator) -> None:
        self.n = n
        self.person = np.zeros(n + 1, bool)  # by subject id; index 0 unused
        self.person[1 + rng.choice(n, round(n * PERSON_SHARE), replace=False)] = True
        self.person_ids = np.flatnonzero(self.person)
        self.org_ids = np.flatnonzero(~self.person[1:]) + 1

    def kinds(self) -> pa.Array:
        return pa.array(["organisation", "person"]).take(pa.array(self.person[1:].astype(np.int8)))


def generate(
    catalog: Catalog, work: Path, n_subjects: int, n_records: int, seed: int
) -> tuple[Population, str, str, Generator, str]:
    """(population, exported records, subjects, generator, stored records): paths of Parquet files."""
    rng = np.random.default_rng(seed)
    pop = Population(n_subjects, rng)
    gen = Generator(catalog, AS_OF)
    subjects_path, stored_path = str(work / "subjects.parquet"), str(work / "stored.parquet")
    pq.write_table(
        pa.table({"subject_id": pa.array(np.arange(1, n_subjects + 1, dtype=np.int64)), "subject_kind": pop.kinds()}),
        subjects_path,
    )
    consenting = rng.choice(pop.person_ids, min(round(len(pop.person_ids) * CONSENT_SHARE), n_records), replace=False)
    with pq.ParquetWriter(stored_path, STORED_SCHEMA) as writer:
        if len(consenting) and gen.consent_type:
            granted = rng.random(len(consenting)) < GRANTED_SHARE
            writer.write_batch(gen.consents(rng, np.sort(consenting), granted, 1))
        done = len(consenting)
        while done < n_records:
            n = min(CHUNK, n_records - done)
            ids = rng.integers(1, n_subjects + 1, n)
            writer.write_batch(gen.records(rng, ids, pop.person[ids], done + 1))
            done += n
            if done % (5 * CHUNK) == 0 or done == n_records:
                log(f"generated {done:,} / {n_records:,} records")
    return pop, export(catalog, work, stored_path), subjects_path, gen, stored_path


def export(catalog: Catalog, work: Path, stored_path: str) -> str:
    """The records as `export_inputs` writes them for the pipeline: the attributes it reads as
    typed columns, each on the records of the types it is read from, taken from the JSON as text
    and parsed by Arrow."""
    import duckdb

    inputs = ScoringPipeline(catalog, AS_OF).inputs
    schema = record_schema(inputs)
    typed = "".join(
        f", CASE WHEN record_type IN ({', '.join(repr(t) for t in sorted(inp.record_types))}) "
        f"THEN json_extract_string(decode(attributes), '$.{name}') END AS {inp.column}"
        for name, inp in sorted(inputs.items())
    )
    exported = str(work / "records.parquet")
    con = duckdb.connect(":memory:")
    try:
        rows = con.sql(f"SELECT {', '.join(RECORD_SCHEMA.names)}{typed} FROM read_parquet('{stored_path}')")
        with pq.ParquetWriter(exported, schema) as writer:
            for rb in rows.fetch_record_batch(CHUNK):
                writer.write_batch(
                    pa.record_batch([c.cast(f.type) for c, f in zip(rb.columns, schema, strict=True)], schema=schema)
                )
    finally:
        con.close()
    return exported


# -- batch --------------------------------------------------------------------------------------


def baseline_sql(catalog: Catalog, records_path: str) -> str:
    """Sum of constant points of the organisation ruleset per subject, over the records valid on as_of."""
    rs = ruleset_in_force(catalog, "organisation", AS_OF)
    assert rs is not None
    points: dict[str, int] = {}
    for rule in rs.rules:
        if not isinstance(rule.points, ProportionalPoints):
            points.setdefault(rule.record_type, cp(rule.points))
    cases = " ".join(f"WHEN '{t}' THEN {p}" for t, p in sorted(points.items()))
    day = f"DATE '{AS_OF.isoformat()}'"
    return (
        f"SELECT subject_id, SUM(CASE record_type {cases} ELSE 0 END) AS points_cp "
        f"FROM read_parquet('{records_path}') WHERE status = 'active' AND valid_from <= {day} "
        f"AND (valid_until IS NULL OR valid_until > {day}) GROUP BY subject_id"
    )


def run_baseline(sql: str) -> pa.Table:
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()


def summary(scores: pa.Table) -> tuple[int, int]:
    """(subjects scored, sum of their points in hundredths)."""
    scored = scores.filter(pc.equal(scores["status"], "scored"))
    return scored.num_rows, int(pc.sum(scored["points_cp"]).as_py() or 0)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def batch_figures(
    catalog: Catalog, records_path: str, subjects_path: str, repeat: int
) -> tuple[float, float, float, tuple[int, int]]:
    """(value, baseline, ratio, result): medians over `repeat` rounds, the ratio the median of the
    rounds' ratios, each round's two runs next to each other in time, in alternating order."""
    pipeline = ScoringPipeline(catalog, AS_OF)
    sql = baseline_sql(catalog, records_path)
    run_baseline(sql)  # warm the file cache for both
    values: list[float] = []
    bases: list[float] = []
    outcome: dict[str, Any] = {}

    def base_run() -> None:
        base_s, base = timed(lambda: run_baseline(sql))
        bases.append(base_s)
        log(f"baseline  hand-written GROUP BY query: {base_s:7.2f} s  ({base.num_rows:,} subjects)")

    def value_run() -> None:
        value_s, (scores, contributions) = timed(lambda: run_duckdb(pipeline, records_path, subjects_path))
        values.append(value_s)
        log(
            f"xinyong   run_duckdb(ScoringPipeline):  {value_s:7.2f} s  ({scores.num_rows:,} scores, "
            f"{contributions.num_rows:,} contributions)  peak RSS {peak_rss_mb():,.0f} MB"
        )
        outcome["result"] = summary(scores)
        outcome["grades"] = {
            f"{k['values']}": k["counts"] for k in pc.value_counts(pc.fill_null(scores["grade"], "-")).to_pylist()
        }
        del scores, contributions
        gc.collect()

    for r in range(repeat):
        for run in (base_run, value_run) if r % 2 == 0 else (value_run, base_run):
            run()
    result, grades = outcome["result"], outcome["grades"]
    print(f"          scored {result[0]:,} subjects, sum of points {result[1] / 100:,.2f}; grades {grades}")
    ratios = [v / b for v, b in zip(values, bases, strict=True)]
    if repeat > 1:
        print(f"          rounds' ratios {', '.join(f'{x:.2f}' for x in ratios)}")
    return median(values), median(bases), median(ratios), result


def spark_figures(catalog: Catalog, records_path: str, subjects_path: str, work: Path) -> tuple[float, tuple[int, int]]:
    from xinyong.engines.spark import local_session, run_spark

    # No console progress bars among the figures (before the JVM starts; an explicit setting wins).
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--conf spark.ui.showConsoleProgress=false pyspark-shell")
    pipeline = ScoringPipeline(catalog, AS_OF)
    t = time.perf_counter()
    with local_session() as spark:
        log(f"spark     local session started in {time.perf_counter() - t:.1f} s")
        spark_s, (scores_path, _) = timed(
            lambda: run_spark(spark, pipeline, records_path, subjects_path, str(work / "spark-out"))
        )
    result = summary(pq.read_table(scores_path))
    log(f"spark     run_spark(ScoringPipeline):   {spark_s:7.2f} s")
    return spark_s, result


# -- online -------------------------------------------------------------------------------------


def online_figures(catalog: Catalog, gen: Generator, seed: int) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed + 1)
    ids = np.repeat(np.arange(1, ONLINE_SUBJECTS + 1), ONLINE_RECORDS)
    rows = gen.records(rng, ids, np.zeros(len(ids), bool), 1).to_pylist()
    facts: dict[int, list[RecordFact]] = {}
    for r in rows:
        fact = RecordFact(
            r["record_id"],
            r["record_type"],
            r["decided_on"],
            r["valid_from"],
            r["valid_until"],
            json.loads(r["attributes"]),
            r["status"],
        )
        facts.setdefault(r["subject_id"], []).append(fact)
    rs = ruleset_in_force(catalog, "organisation", AS_OF)
    assert rs is not None
    constant = {}
    for rule in rs.rules:
        if not isinstance(rule.points, ProportionalPoints):
            constant.setdefault(rule.record_type, cp(rule.points))

    def plain(subject_facts: Sequence[RecordFact]) -> int:
        return cp(rs.base) + sum(constant.get(f.record_type, 0) for f in subject_facts if f.valid_on(AS_OF))

    subjects_facts = list(facts.values())
    for subject_facts in subjects_facts[:200]:  # warm up
        score_subject(catalog, "organisation", subject_facts, AS_OF)
        plain(subject_facts)
    ours, base = [], []
    for subject_facts in subjects_facts:
        t = time.perf_counter_ns()
        score_subject(catalog, "organisation", subject_facts, AS_OF)
        ours.append((time.perf_counter_ns() - t) / 1e6)
        t = time.perf_counter_ns()
        plain(subject_facts)
        base.append((time.perf_counter_ns() - t) / 1e6)
    return ours, base


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- store --------------------------------------------------------------------------------------


def org_uscc(subject_id: int) -> str:
    body = f"91330106{subject_id:09d}"
    return body + uscc.calc_check_digit(body)


def person_ric(ordinal: int) -> str:
    born = date(1985, 1, 1) + timedelta(days=ordinal // 1000)
    body = f"330106{born:%Y%m%d}{ordinal % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def build_store(catalog: Catalog, work: Path, pop: Population, records_path: str) -> Engine:
    engine = make_engine(f"sqlite:///{work / 'store.db'}")
    upgrade(engine)
    vault = IdentifierVault(KEY)
    ric_scheme = Scheme("cn.ric", "person", personal=True)
    source_of = {t: s.id for s in catalog.sources.values() for t in s.submits}
    submitting = sorted(set(source_of.values()))
    hashes: list[str] = [""] * (pop.n + 1)
    masks: list[str] = [""] * (pop.n + 1)
    names = {"organisation": "杭州某某科技有限公司", "person": "张伟"}
    counts = dict.fromkeys(submitting, 0)
    with engine.connect().execution_options(xinyong_write=True, xinyong_bulk=True) as conn, conn.begin():
        CLOCK.set_to(RECORDED_AT)  # when the bulk-loaded records became known
        at = timestamp(conn, clock.advance(conn))  # what a rescore is known at: see store.clock
        CLOCK.set_to(None)
        insert_rows(
            conn, sources, ("id", "name", "registered_at"), [(s.id, s.name, at) for s in catalog.sources.values()]
        )
        batch_of = {sid: i for i, sid in enumerate(submitting, 1)}
        insert_rows(
            conn,
            batches,
            (
                "id", "source_id", "file_name", "file_format", "file_sha256", "catalog_version", "started_at",
                "finished_at", "rows_read", "accepted", "new_versions", "unchanged", "rejected", "unresolved",
                "subjects_created",
            ),
            [
                (i, sid, f"{sid}.parquet", "parquet", "0" * 64, catalog.version, at, at, 0, 0, 0, 0, 0, 0, 0)
                for sid, i in batch_of.items()
            ],
        )  # fmt: skip
        ordinal = 0
        for start in range(1, pop.n + 1, STORE_CHUNK):
            subject_rows, identifier_rows = [], []
            for sid in range(start, min(start + STORE_CHUNK, pop.n + 1)):
                if pop.person[sid]:
                    kind, scheme, number = "person", "cn.ric", person_ric(ordinal)
                    ordinal += 1
                    masked, value = ric_scheme.mask(number), None
                else:
                    kind, scheme, number = "organisation", "cn.uscc", org_uscc(sid)
                    masked, value = number, number
                hashes[sid], masks[sid] = vault.digest(scheme, number), masked
                subject_rows.append((sid, kind, names[kind], at, 1))
                identifier_rows.append((sid, scheme, hashes[sid], masked, value, at))
            insert_rows(conn, subjects, ("id", "kind", "display_name", "created_at", "created_by_batch"), subject_rows)
            insert_rows(
                conn,
                identifiers,
                ("subject_id", "scheme", "value_hash", "masked", "value", "created_at"),
                identifier_rows,
            )
        log(f"store     {pop.n:,} subjects and identifiers loaded")
        done = 0
        for rb in pq.ParquetFile(records_path).iter_batches(batch_size=STORE_CHUNK):
            as_text = ("decided_on", "valid_from", "valid_until", "attributes")
            cols = [rb.column(c).cast(pa.string()) if c in as_text else rb.column(c) for c in STORED_SCHEMA.names]
            rows = []
            for rid, sid, kind, rtype, decided, vfrom, vuntil, status, attrs in zip(
                *(c.to_pylist() for c in cols), strict=True
            ):
                src = source_of[rtype]
                scheme = "cn.ric" if kind == "person" else "cn.uscc"
                doc = f"杭{src}〔{decided[:4]}〕{rid}号"  # noqa: RUF001 - the brackets official documents use
                content = "\x1f".join(
                    (rtype, scheme, hashes[sid], names[kind], decided, vfrom, vuntil or "", doc, attrs)
                )
                counts[src] += 1
                rows.append(
                    (
                        src, f"B{rid:010d}", 1, rtype, kind, sid, "identifier", names[kind], scheme, hashes[sid],
                        masks[sid], decided, vfrom, vuntil, doc, attrs, status,
                        hashlib.sha256(content.encode()).hexdigest(), batch_of[src], rid, at, None,
                    )
                )  # fmt: skip
            insert_rows(conn, records, RECORD_COLUMNS, rows)
            done += len(rows)
            if done % 1_000_000 < STORE_CHUNK or done == pq.ParquetFile(records_path).metadata.num_rows:
                log(f"store     {done:,} records loaded  peak RSS {peak_rss_mb():,.0f} MB")
        for sid, n in counts.items():
            conn.execute(
                update(batches)
                .where(batches.c.id == batch_of[sid])
                .values(rows_read=n, accepted=n, finished_at=RECORDED_AT)
            )
    return engine


def write_court_file(path: Path, pop: Population, seed: int) -> set[int]:
    """NEW_RECORDS new court decisions about existing organisations; returns the organisations."""
    rng = np.random.default_rng(seed + 2)
    orgs = rng.choice(pop.org_ids, NEW_RECORDS)
    columns = (
        "source_ref", "revision", "record_type", "subject_name", "id_scheme", "id_number", "decided_on",
        "valid_from", "valid_until", "document_no", "case_no", "amount_cny", "circumstance", "performance",
    )  # fmt: skip
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for i, sid in enumerate(orgs.tolist()):
            valid_from = AS_OF - timedelta(days=int(rng.integers(1, 90)))
            decided = valid_from - timedelta(days=int(rng.integers(0, 10)))
            case = f"({decided.year})浙01执{i + 1}号"
            w.writerow(
                (
                    f"NEW-{i:08d}", 1, "court.defaulter", "杭州某某科技有限公司", "cn.uscc", org_uscc(sid),
                    decided.isoformat(), valid_from.isoformat(), (valid_from + timedelta(days=730)).isoformat(),
                    case, case, f"{int(rng.integers(5_000, 2_000_000))}.00",
                    ("has_ability_refuses", "violates_declaration")[i % 2], ("none", "partial")[i % 3 == 0],
                )
            )  # fmt: skip
    return set(orgs.tolist())


def store_figures(catalog: Catalog, work: Path, pop: Population, records_path: str, seed: int) -> dict[str, Any]:
    from xinyong.ingest.pipeline import ingest_file

    t = time.perf_counter()
    engine = build_store(catalog, work, pop, records_path)
    build_s = time.perf_counter() - t
    size_mb = sum(p.stat().st_size for p in work.glob("store.db*")) / 1e6
    log(f"store     built in {build_s:.0f} s ({size_mb:,.0f} MB)")

    full_s, full = timed(lambda: rescore(engine, catalog, as_of=AS_OF, mode="all", engine_name="embedded"))
    log(
        f"xinyong   rescore(mode='all') through the service: {full_s:7.2f} s  ({full.subjects:,} subjects)  "
        f"peak RSS {peak_rss_mb():,.0f} MB"
    )
    print(f"          grades {full.grades}")

    path = work / "court.csv"
    touched = write_court_file(path, pop, seed)
    now = full.known_at + timedelta(seconds=1)
    ingest_s, batch = timed(
        lambda: ingest_file(engine, catalog, IdentifierVault(KEY), path, report_dir=work / "reports", now=now)
    )
    log(
        f"ingest    {batch.rows_read:,} new court records for {len(touched):,} organisations in {ingest_s:.2f} s: "
        f"accepted {batch.accepted:,}, rejected {batch.rejected:,}, unresolved {batch.unresolved:,}, "
        f"subjects created {batch.subjects_created:,}"
    )
    if batch.accepted != NEW_RECORDS or batch.subjects_created or batch.unresolved:
        print(f"          WARNING: the new records did not all link to existing organisations: {batch.problems_sample}")

    def incremental() -> tuple[list[int], str, Any]:
        ids, why = changed_subjects(engine, catalog, AS_OF, datetime.now(UTC))
        log(f"changed   {len(ids):,} subjects ({why})")
        return ids, why, rescore(engine, catalog, as_of=AS_OF, subject_ids=ids, mode="changed")

    inc_s, (ids, _, inc) = timed(incremental)
    extra = len(set(ids) - touched)
    log(
        f"xinyong   changed_subjects + rescore(mode='changed'): {inc_s:7.2f} s  ({inc.subjects:,} subjects: "
        f"{len(touched & set(ids)):,} with new records, {extra:,} others, e.g. records of decaying rules)"
    )
    engine.dispose()
    return {
        "full_rescore_s": full_s,
        "incremental_s": inc_s,
        "changed_subjects": len(ids),
        "store_build_s": build_s,
        "store_mb": size_mb,
    }


# -- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=1_000_000, help="subjects to generate (default 1,000,000)")
    parser.add_argument("--records", type=int, default=10_000_000, help="records to generate (default 10,000,000)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds of the batch value and baseline (figures are medians)"
    )
    parser.add_argument("--skip-spark", action="store_true", help="do not run the pipeline on Spark")
    parser.add_argument("--skip-store", action="store_true", help="do not build a store (no incremental figures)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()

    catalog = load_catalog()
    work = Path(tempfile.mkdtemp(prefix="xinyong-bench-score-"))
    try:
        gen_s, (pop, records_path, subjects_path, gen, stored_path) = timed(
            lambda: generate(catalog, work, args.subjects, args.records, args.seed)
        )
        size_mb = Path(records_path).stat().st_size / 1e6
        log(
            f"generated {args.subjects:,} subjects ({len(pop.person_ids):,} residents) and {args.records:,} records "
            f"({size_mb:,.0f} MB of Parquet) in {gen_s:.1f} s"
        )

        value, base, ratio, duck = batch_figures(catalog, records_path, subjects_path, max(args.repeat, 1))
        print(f"batch     ratio {ratio:.2f} (value / baseline, median of the rounds; target <= 3)")

        spark_s: float | None = None
        agree: bool | None = None
        if not args.skip_spark:
            spark_s, sparked = spark_figures(catalog, records_path, subjects_path, work)
            agree = sparked == duck
            print(
                f"          DuckDB: {duck[0]:,} scored, sum {duck[1] / 100:,.2f} points; "
                f"Spark: {sparked[0]:,} scored, sum {sparked[1] / 100:,.2f} points: "
                f"{'the same' if agree else 'DIFFERENT'}"
            )

        ours, plain = online_figures(catalog, gen, args.seed)
        p50, p99 = percentile(ours, 0.5), percentile(ours, 0.99)
        print(
            f"online    score_subject, {ONLINE_RECORDS} records: p50 {p50:.3f} ms  p99 {p99:.3f} ms "
            "(target p99 < 1 ms); "
            f"plain loop p50 {percentile(plain, 0.5):.3f} ms  p99 {percentile(plain, 0.99):.3f} ms"
        )

        store: dict[str, Any] = {}
        if not args.skip_store:
            store = store_figures(catalog, work, pop, stored_path, args.seed)
            print(
                f"incremental ratio {store['incremental_s'] / store['full_rescore_s']:.3f} "
                f"(incremental / full, target < 0.05)"
            )

        def r(x: float | None, digits: int = 3) -> float | None:
            return None if x is None else round(x, digits)

        full_s, inc_s = store.get("full_rescore_s"), store.get("incremental_s")
        print(
            json.dumps(
                {
                    "bench": "score",
                    "unit": "s",
                    "value": r(value, 2),
                    "baseline": r(base, 2),
                    "ratio": r(ratio, 2),
                    "spark_s": r(spark_s, 2),
                    "online_p50_ms": r(p50),
                    "online_p99_ms": r(p99),
                    "full_rescore_s": r(full_s, 2),
                    "incremental_s": r(inc_s, 2),
                    "incremental_ratio": r(inc_s / full_s if full_s and inc_s is not None else None),
                    "subjects": args.subjects,
                    "records": args.records,
                    "engines_agree": agree,
                    "scored": duck[0],
                    "points_sum": duck[1] / 100,
                    "online_baseline_p50_ms": r(percentile(plain, 0.5), 4),
                    "online_baseline_p99_ms": r(percentile(plain, 0.99), 4),
                    "changed_subjects": store.get("changed_subjects"),
                    "generate_s": r(gen_s, 1),
                    "store_build_s": r(store.get("store_build_s"), 1),
                    "peak_rss_mb": round(peak_rss_mb()),
                }
            )
        )
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
