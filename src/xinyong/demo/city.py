"""The synthetic demo city: residents, companies, and the files its departments send in.

`generate_city` writes one file per department in the formats departments really use, with the
noise that real submissions carry (names in pinyin, mistyped and missing identifiers, corrections,
a few broken rows), and beside them a ground truth that says who each record is really about and
what the platform should do with it. Everything follows from the seed and the anchor date: the
same pair gives the same bytes in every file.
"""

from __future__ import annotations

import calendar
import heapq
import random
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

from stdnum.cn import ric, uscc

from xinyong.demo.exports import export_writer, full_width
from xinyong.demo.names import org_variant, person_variant
from xinyong.demo.population import DISTRICTS, Org, Person, make_orgs, make_persons, mistype
from xinyong.demo.subjects import Subjects
from xinyong.demo.values import Numbering, Value, attribute_values, correction, document_no, spoil
from xinyong.demo.writers import Column, ColumnKind, MonthlyWriter, RowWriter, open_writer
from xinyong.domain.catalog import Catalog, load_catalog
from xinyong.domain.catalog.models import CORE_FIELDS, Polarity, RecordType

DEFAULT_PERSONS, DEFAULT_ORGS = 50_000, 10_000
DEFAULT_RECORDS = 200_000  # at the default size; scales with the number of subjects of each kind
FORMATS = {
    "court": "csv", "tax": "jsonl", "samr": "xlsx", "env": "csv", "labour": "jsonl",
    "safety": "csv", "customs": "parquet", "gov_office": "jsonl", "credit_office": "csv",
}  # fmt: skip
# Departments that deliver their own exports: the environment bureau its case system's CSV (GB18030,
# Chinese headers, read through the catalog's mapping), market regulation a workbook with a title
# row. Both type some identifiers in full-width digits.
EXPORTS = {"env": ("env.case_export", "gb18030", ["违法事实", "法定代表人"])}
TITLES = {"samr": "市市场监督管理局行政处罚及经营异常名录信息"}
FULL_WIDTH_SOURCES = ("env", "samr")
FULL_WIDTH_SHARE = 10  # one identifier in this many, chosen by a checksum of the reference (no draw of the generator)
REF_PREFIX = {"gov_office": "GOV", "credit_office": "CREDIT"}
# Per cent of all records, by record type and subject kind. Types the table does not know get a small share.
MIX: dict[tuple[str, str], float] = {
    ("court.defaulter", "person"): 6.0, ("court.defaulter", "organisation"): 5.0,
    ("tax.arrears", "person"): 6.0, ("tax.arrears", "organisation"): 19.0,
    ("tax.major_violation", "person"): 0.3, ("tax.major_violation", "organisation"): 1.0,
    ("tax.a_grade", "organisation"): 4.5,
    ("market.penalty_general", "person"): 6.0, ("market.penalty_general", "organisation"): 15.0,
    ("market.penalty_serious", "person"): 0.3, ("market.penalty_serious", "organisation"): 2.0,
    ("market.licence_revoked", "organisation"): 1.0, ("market.abnormal_operations", "organisation"): 14.0,
    ("quality.recall", "organisation"): 1.5, ("env.violation", "organisation"): 4.0,
    ("labour.wage_arrears", "organisation"): 2.0, ("safety.violation", "organisation"): 4.0,
    ("customs.violation", "organisation"): 2.5, ("customs.aeo_certified", "organisation"): 0.5,
    ("gov.commendation", "person"): 2.5, ("gov.commendation", "organisation"): 1.5,
}  # fmt: skip
UNKNOWN_SHARE = 0.3
CONSENT_RATE = 0.05  # residents who opt in to personal scoring
WITHDRAW_RATE = 0.08  # of those, who later withdraw (sent as a correction)
CORRECTION_RATE = 0.011
MISSING_RATE, MISTYPED_RATE = 0.008, 0.012
BAD_ROW_RATE = 0.0005
BAD_ROW_SOURCES = ("court", "tax")
PINYIN_SHARE = {"court": 0.06, "tax": 0.1, "samr": 0.08, "gov_office": 0.04, "credit_office": 0.12}
ORG_VARIANT_SHARE = 0.12
TRUTH_COLUMNS: list[Column] = [
    (c, "text")
    for c in (
        "source", "file", "source_ref", "revision", "record_type", "true_subject_key", "subject_kind",
        "true_identifier", "identifier_noise", "name_variant", "expected", "defect", "correction",
    )
]  # fmt: skip
POPULATION_COLUMNS: list[Column] = [
    (c, "text")
    for c in ("key", "kind", "name", "identifier", "sex", "born_or_registered", "district", "district_name", "industry")
]


@dataclass(frozen=True, slots=True)
class FileCount:
    path: Path
    rows: int


@dataclass(frozen=True, slots=True)
class CitySummary:
    """What `generate_city` wrote."""

    out: Path
    seed: int
    anchor: date
    persons: int
    orgs: int
    files: tuple[FileCount, ...]
    records: int  # first revisions, in the main department files
    corrections: int  # second revisions, in the update files
    bad_rows: int  # rows made invalid on purpose (expected: rejected)
    noisy: int  # rows with a missing or mistyped identifier (expected: unresolved)
    truth: Path
    population: Path


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def plan_counts(catalog: Catalog, persons: int, orgs: int) -> dict[str, list[tuple[str, str, int]]]:
    """Records to generate per source: (record type, subject kind, count) in catalog order."""
    plan: dict[str, list[tuple[str, str, int]]] = {}
    for sid, source in catalog.sources.items():
        items: list[tuple[str, str, int]] = []
        for tid in source.submits:
            rt = catalog.record_types[tid]
            for kind, n in (("person", persons), ("organisation", orgs)):
                if kind not in rt.subject_kinds or n == 0:
                    continue
                if rt.category == "consent":
                    count = round(CONSENT_RATE * n) if kind == "person" else 0
                else:
                    default = DEFAULT_PERSONS if kind == "person" else DEFAULT_ORGS
                    share = MIX.get((tid, kind), UNKNOWN_SHARE)
                    count = round(share / 100 * DEFAULT_RECORDS * n / default)
                if count:
                    items.append((tid, kind, count))
        if items:
            plan[sid] = items
    return plan


def progress_total(persons: int, orgs: int) -> int:
    """Units of work `generate_city` reports through its progress callback."""
    plan = plan_counts(load_catalog(), persons, orgs)
    return persons + orgs + sum(n for items in plan.values() for *_, n in items)


def _columns(catalog: Catalog, sid: str) -> list[Column]:
    kinds: dict[str, ColumnKind] = {}
    by_type: dict[str, ColumnKind] = {"decimal": "float", "integer": "int", "boolean": "bool", "date": "date"}
    for tid in catalog.sources[sid].submits:
        for name, spec in catalog.record_types[tid].attributes.items():
            kind = by_type.get(spec.type, "text")
            kinds[name] = kind if kinds.get(name, kind) == kind else "text"
    core: dict[str, ColumnKind] = {"revision": "int", "decided_on": "date", "valid_from": "date", "valid_until": "date"}
    return [(c, core.get(c, "text")) for c in CORE_FIELDS] + list(kinds.items())


def _ascending_days(rng: random.Random, n: int, first: int, last: int) -> Iterator[int]:
    """n uniform days in [first, last] in ascending order, in constant memory.

    The largest of i uniforms below c is c * U ** (1 / i); walking down from the largest gives the
    order statistics one by one, and mirroring them gives them in ascending order.
    """
    span, top = last - first + 1, 1.0
    for i in range(n, 0, -1):
        top *= rng.random() ** (1.0 / i)
        yield first + min(int((1.0 - top) * span), span - 1)


@dataclass
class _Department:
    sid: str
    main: MonthlyWriter
    update: MonthlyWriter
    truth: RowWriter
    numbering: Numbering
    noisy: int = 0
    bad: int = 0


def _emit(
    rng: random.Random,
    dep: _Department,
    *,
    rt: RecordType,
    subject: Person | Org,
    day: int,
    anchor: date,
    spoil_it: bool,
) -> None:
    """One record of one department: the main row, its truth, and perhaps a correction."""
    decided = date.fromordinal(day)
    person = isinstance(subject, Person)
    kind = "person" if person else "organisation"
    values = attribute_values(rng, rt, kind, subject.industry if isinstance(subject, Org) else None, decided)
    valid_from = min(date.fromordinal(day + (0 if rng.random() < 0.6 else rng.randint(1, 15))), anchor)
    valid_until = None
    if rt.publication_months > 0 and (rt.polarity == Polarity.ADVERSE or rng.random() < 0.5):
        valid_until = add_months(valid_from, rt.publication_months)
    true_id = subject.ric if isinstance(subject, Person) else subject.uscc
    is_valid = ric.is_valid if person else uscc.is_valid
    r = rng.random()
    noise = "missing" if r < MISSING_RATE else "mistyped" if r < MISSING_RATE + MISTYPED_RATE else "none"
    written_id = None if noise == "missing" else mistype(rng, true_id, is_valid) if noise == "mistyped" else true_id
    if isinstance(subject, Person):
        name, variant = person_variant(rng, subject.surname, subject.given, PINYIN_SHARE.get(dep.sid, 0.1))
    else:
        name, variant = org_variant(rng, subject.name, ORG_VARIANT_SHARE)
    prefix = REF_PREFIX.get(dep.sid, dep.sid.upper())
    ref = f"{prefix}-{decided.year}-{dep.numbering.next('ref', decided.year):06d}"
    if written_id and dep.sid in FULL_WIDTH_SOURCES and zlib.crc32(ref.encode()) % FULL_WIDTH_SHARE == 0:
        written_id = full_width(written_id)
    row: dict[str, Value] = {
        "source_ref": ref,
        "revision": 1,
        "record_type": rt.id,
        "subject_name": name,
        "id_scheme": "cn.ric" if person else "cn.uscc",
        "id_number": written_id,
        "decided_on": decided,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "document_no": document_no(dep.numbering, rt, decided.year) if rt.requires_document else None,
        **values,
    }
    defect = spoil(rng, rt, row) if spoil_it else ""
    expected = "rejected" if spoil_it else "unresolved" if noise != "none" else "accepted"
    dep.noisy += noise != "none"
    dep.bad += spoil_it
    truth = {
        "source": dep.sid, "file": dep.main.file_of(row).name, "source_ref": row["source_ref"], "revision": 1,
        "record_type": rt.id, "true_subject_key": subject.key, "subject_kind": kind, "true_identifier": true_id,
        "identifier_noise": noise, "name_variant": variant, "expected": expected, "defect": defect, "correction": "",
    }  # fmt: skip
    dep.main.write(row)
    dep.truth.write(truth)
    rate = WITHDRAW_RATE if rt.category == "consent" else CORRECTION_RATE
    if spoil_it or rng.random() >= rate:
        return
    fixed = correction(rng, rt, values)
    if fixed is None:
        return
    new_values, what = fixed
    update = {**row, **new_values, "revision": 2}
    if what == "consent_withdrawn":  # a withdrawal is a new decision of the resident, effective at once
        withdrawn = min(date.fromordinal(day + rng.randint(30, 700)), anchor)
        update.update(decided_on=withdrawn, valid_from=withdrawn, valid_until=None)
    dep.update.write(update)
    dep.truth.write({**truth, "file": dep.update.file_of(update).name, "revision": 2, "correction": what})


def _write_population(path: Path, persons: list[Person], orgs: list[Org]) -> int:
    with open_writer(path, POPULATION_COLUMNS) as w:
        for p in persons:
            w.write({
                "key": p.key, "kind": "person", "name": p.name, "identifier": p.ric, "sex": "M" if p.male else "F",
                "born_or_registered": p.birth, "district": p.district, "district_name": DISTRICTS[p.district],
            })  # fmt: skip
        for o in orgs:
            w.write({
                "key": o.key, "kind": "organisation", "name": o.name, "identifier": o.uscc,
                "born_or_registered": o.registered, "district": o.district, "district_name": DISTRICTS[o.district],
                "industry": o.industry,
            })  # fmt: skip
        return w.rows


def generate_city(
    out: Path,
    persons: int,
    orgs: int,
    seed: int,
    anchor: date,
    *,
    progress: Callable[[int], None] | None = None,
    history_months: int = 0,
) -> CitySummary:
    """Generate the demo city into `out` (departments/ and ground_truth/), deterministically.

    Args:
        out: Directory to write into; existing files of the same names are replaced.
        persons: Number of residents.
        orgs: Number of companies.
        seed: Seed of the one random generator all choices come from.
        anchor: The day the city is seen from: no decision is dated after it.
        progress: Called with the number of units done since the last call (see `progress_total`).
        history_months: Split the last this many months (from the first of the month) into monthly
            files per department (see `MonthlyWriter`), for the demo's history to replay.
    """
    tick = progress or (lambda n: None)
    catalog = load_catalog()
    master = random.Random(seed)
    stage_seeds = [master.getrandbits(64) for _ in range(3)]
    people = make_persons(random.Random(stage_seeds[0]), persons, anchor)
    tick(persons)
    companies = make_orgs(random.Random(stage_seeds[1]), orgs, anchor)
    tick(orgs)
    subjects = Subjects(random.Random(stage_seeds[2]), people, companies, catalog)

    departments_dir, truth_dir = out / "departments", out / "ground_truth"
    departments_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    plan = plan_counts(catalog, len(people), len(companies))
    total = sum(n for items in plan.values() for *_, n in items)
    bad_total = max(2, round(BAD_ROW_RATE * total)) if total else 0
    bad_pool = sum(n for sid in BAD_ROW_SOURCES if sid in plan for *_, n in plan[sid])
    first, last = add_months(anchor, -60).toordinal(), anchor.toordinal()
    since = add_months(anchor, -history_months).replace(day=1) if history_months > 0 else None
    files: list[FileCount] = []
    records = corrections = bad = noisy = 0
    truth_path = truth_dir / "truth.csv"
    with open_writer(truth_path, TRUTH_COLUMNS) as truth:
        for sid, items in plan.items():
            rng = random.Random(master.getrandbits(64))
            ext = FORMATS.get(sid, "csv")
            columns = _columns(catalog, sid)
            n_source = sum(n for *_, n in items)
            n_bad = round(bad_total * n_source / bad_pool) if sid in BAD_ROW_SOURCES and bad_pool else 0
            spoilt = set(rng.sample(range(n_source), min(n_bad, n_source)))
            opener = partial(_writer, catalog, sid=sid, columns=columns)
            main = MonthlyWriter(departments_dir / f"{sid}.{ext}", columns, since, opener)
            update = MonthlyWriter(departments_dir / f"{sid}.update-1.{ext}", columns, since, opener)
            dep = _Department(sid, main, update, truth, Numbering())
            with main, update:
                schedule = _schedule(rng, catalog, subjects, items, days=(first, last))
                for pos, (rt, subject, day) in enumerate(schedule):
                    _emit(rng, dep, rt=rt, subject=subject, day=day, anchor=anchor, spoil_it=pos in spoilt)
                    if pos % 1000 == 999:
                        tick(1000)
                tick(n_source % 1000)
            # A file is written from its first row: an empty one, which ingestion rightly refuses, never.
            files += [FileCount(path, rows) for path, rows in (*main.parts(), *update.parts())]
            records, corrections = records + main.rows, corrections + update.rows
            bad, noisy = bad + dep.bad, noisy + dep.noisy
        truth_rows = truth.rows
    population_path = truth_dir / "population.csv"
    population_rows = _write_population(population_path, people, companies)
    files += [FileCount(truth_path, truth_rows), FileCount(population_path, population_rows)]
    return CitySummary(
        out, seed, anchor, persons, orgs, tuple(files), records, corrections, bad, noisy, truth_path, population_path
    )


def _writer(catalog: Catalog, path: Path, *, sid: str, columns: list[Column]) -> RowWriter:
    """The writer of one department's file: its own export where it has one (EXPORTS, TITLES)."""
    if sid in EXPORTS:
        mapping_id, encoding, dropped = EXPORTS[sid]
        return export_writer(path, catalog.mappings[mapping_id], [n for n, _ in columns], dropped, encoding)
    return open_writer(path, columns, title=TITLES.get(sid))


def _schedule(
    rng: random.Random,
    catalog: Catalog,
    subjects: Subjects,
    items: list[tuple[str, str, int]],
    days: tuple[int, int],
) -> Iterator[tuple[RecordType, Person | Org, int]]:
    """Every record of one source as (type, subject, decision day), in decision order, lazily."""
    first, last = days
    consent = [(tid, n) for tid, kind, n in items if catalog.record_types[tid].category == "consent"]
    others = [(tid, kind, n) for tid, kind, n in items if catalog.record_types[tid].category != "consent"]
    opted: list[tuple[int, int]] = []  # (day, resident); each resident opts in at most once
    for _, n in consent:
        for idx in rng.sample(range(len(subjects.persons)), n):
            start = max(first, subjects.persons[idx].start)
            opted.append((start + int(rng.random() * (last - start + 1)), idx))
    opted.sort()
    consent_rt = catalog.record_types[consent[0][0]] if consent else None

    def consents() -> Iterator[tuple[RecordType, Person | Org, int]]:
        for day, idx in opted:
            if consent_rt is not None:
                yield consent_rt, subjects.persons[idx], day

    def decisions() -> Iterator[tuple[RecordType, Person | Org, int]]:
        remaining = [n for *_, n in others]
        for day in _ascending_days(rng, sum(remaining), first, last):
            k = rng.choices(range(len(others)), weights=remaining)[0]
            remaining[k] -= 1
            rt = catalog.record_types[others[k][0]]
            subject = subjects.draw(rng, rt, others[k][1], day)
            yield rt, subject, max(day, subject.start)

    return heapq.merge(consents(), decisions(), key=lambda x: x[2])
