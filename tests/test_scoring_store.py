"""Scoring against the real store, on SQLite and PostgreSQL, and through the real `xinyong` command.

The store is filled the way departments fill it: files written with `builders`, ingested with an
injected `now`. Scores are then computed three ways that must agree: `score_online` (the
reference), `rescore` on the embedded engine and `rescore` on the online engine, both of which
append to the score history. Time is always injected: `now` for ingestion, `as_of` and
`known_at` for scoring.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from sqlalchemy import Engine, func, select

from builders import court_row, make_ric, make_uscc, mistype, ok, write_csv, xy
from builders import stored as ingested_ok
from process_story import hold
from xinyong.domain.catalog import Catalog, load_catalog
from xinyong.domain.catalog.loader import default_catalog_dir
from xinyong.domain.scoring import Score
from xinyong.engines.embedded import run_duckdb
from xinyong.engines.scoring_sql import AttributeInput, ScoringPipeline, merge_inputs
from xinyong.ingest.pipeline import BatchResult, ingest_file
from xinyong.services.exports import RECORD_SCHEMA, export_inputs
from xinyong.services.scoring import changed_subjects, rescore, score_online
from xinyong.services.subjects import resolve_subject
from xinyong.services.whatif import ruleset_diff
from xinyong.store.tables import records, score_runs, scores

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
AS_OF = date(2026, 6, 1)
LATER = "2027-03-05"  # a valid_until after every as_of used here
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


# --- department rows ----------------------------------------------------------------------------------


def org_court(ref: str, n: int, **over: Any) -> dict[str, Any]:
    over.setdefault("valid_until", LATER)
    return court_row(ref, make_uscc(n), id_scheme="cn.uscc", subject_name=f"杭州某某{n}科技有限公司", **over)


def person_court(ref: str, n: int, **over: Any) -> dict[str, Any]:
    over.setdefault("valid_until", LATER)
    return court_row(ref, make_ric(n), **over)


def tax_row(ref: str, number: str, amount: str, scheme: str = "cn.uscc", **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source_ref": ref,
        "revision": 1,
        "record_type": "tax.arrears",
        "subject_name": "纳税人",
        "id_scheme": scheme,
        "id_number": number,
        "decided_on": "2025-06-01",
        "valid_from": "",
        "valid_until": LATER,  # in force on every as_of used here (not left to the publication period)
        "document_no": f"(2025)杭税欠{ref}号",
        "amount_cny": amount,
        "tax_kind": "vat",
    }
    row.update(over)
    return row


def consent_row(
    ref: str, n: int, consent: str, decided_on: str, channel: str = "online", **over: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source_ref": ref,
        "revision": 1,
        "record_type": "consent.scoring",
        "subject_name": "居民",
        "id_scheme": "cn.ric",
        "id_number": make_ric(n),
        "decided_on": decided_on,
        "consent": consent,
        "channel": channel,
    }
    row.update(over)
    return row


def penalty_row(ref: str, number: str, scheme: str = "cn.uscc", fine: str | None = None, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source_ref": ref,
        "revision": 1,
        "record_type": "market.penalty_general",
        "subject_name": "当事人",
        "id_scheme": scheme,
        "id_number": number,
        "decided_on": "2025-09-01",
        "valid_from": "2025-09-05",
        "valid_until": LATER,
        "document_no": f"杭市监罚(2025){ref}号",
        "penalty_kind": "fine" if fine else "warning",
        "fine_cny": fine or "",
        "article_violated": "Art. 12",
    }
    row.update(over)
    return row


# --- store helpers ------------------------------------------------------------------------------------


@pytest.fixture
def ingest(engine, catalog, vault, tmp_path):
    def run(path: Path, now: datetime = NOW) -> BatchResult:
        result = ingest_file(engine, catalog, vault, path, report_dir=tmp_path / "rejects", now=hold(now))
        assert result.rejected == 0, result.problems_sample
        return result

    return run


def sid_of(engine: Engine, catalog, vault, number: str) -> int:
    return resolve_subject(engine, catalog, vault, number)[0]


def row_of(score: Score) -> dict[str, Any]:
    """A score as `rescore` stores it: contributions as [rule, points_cp, record_id, kind]."""
    contributions = sorted(
        ([c.rule_id, c.points_cp, c.record_id, c.kind] for c in score.contributions),
        key=lambda c: (c[0], c[3], c[2] or 0),
    )
    return {
        "subject_kind": score.subject_kind,
        "status": score.status,
        "ruleset_id": score.ruleset_id,
        "ruleset_version": score.ruleset_version,
        "points_cp": score.points_cp,
        "grade": score.grade,
        "contributions": contributions,
    }


def stored(engine: Engine, run_id: int) -> dict[int, dict[str, Any]]:
    cols = (
        scores.c.subject_id,
        scores.c.subject_kind,
        scores.c.status,
        scores.c.ruleset_id,
        scores.c.ruleset_version,
        scores.c.points_cp,
        scores.c.grade,
        scores.c.contributions,
    )
    with engine.connect() as c:
        rows = c.execute(select(*cols).where(scores.c.run_id == run_id)).mappings().all()
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        d = dict(r)
        sid = int(d.pop("subject_id"))
        assert sid not in out, f"subject {sid} scored twice in run {run_id}"
        contribs = d["contributions"]
        d["contributions"] = json.loads(contribs) if isinstance(contribs, str) else contribs
        out[sid] = d
    return out


def record_ids(engine: Engine, source_ref: str) -> list[int]:
    with engine.connect() as c:
        q = (
            select(records.c.id)
            .where(records.c.source_ref == source_ref)
            .order_by(records.c.revision, records.c.version)
        )
        return [int(i) for i in c.scalars(q)]


# --- a population of every kind -----------------------------------------------------------------------

# Hand-computed expectations, as of AS_OF (organisations: base 100, floor 0; persons: base 1000).
EXPECTED = {
    # defaulter -40, arrears 35,000 -> -3.50, one penalty -5
    ("org", 1): ("scored", 5150, "C"),
    # arrears 250,000 -> -20 (per record cap) and 50,000 -> -5, rule cap 20; four penalties -20, rule cap 15
    ("org", 2): ("scored", 6500, "C"),
    # an expired defaulter, one penalty (warning, no fine)
    ("org", 3): ("scored", 9500, "A"),
    # two defaulters -80, arrears -20, three penalties -15: -115, limited at the floor 0
    ("org", 4): ("scored", 0, "D"),
    # a penalty that is in force only after AS_OF
    ("org", 5): ("scored", 10000, "A"),
    # consent; defaulter -100, arrears 3,000 -> -15, penalty -20
    ("person", 1): ("scored", 86500, "B"),
    # consent; arrears 20,000 -> -50 (per record cap) and 2,000 -> -10, rule cap 50
    ("person", 2): ("scored", 95000, "A"),
    # consent granted, then withdrawn
    ("person", 3): ("not_opted_in", None, None),
    # never consented
    ("person", 4): ("not_opted_in", None, None),
    # consent only
    ("person", 5): ("scored", 100000, "AA"),
    # withdrawn, then granted again; defaulter -100
    ("person", 6): ("scored", 90000, "B"),
}


def number_of(kind: str, n: int) -> str:
    return make_uscc(n) if kind == "org" else make_ric(n)


@pytest.fixture
def population(ingest, tmp_path, engine, catalog, vault) -> dict[tuple[str, int], int]:
    """Ingest court, tax, credit office and market regulator files; return subject ids by (kind, n)."""
    court = [
        org_court("C-O1", 1),
        org_court("C-O3", 3, valid_until="2026-03-05"),
        org_court("C-O4a", 4),
        org_court("C-O4b", 4, case_no="(2024)浙01执124号", amount_cny="5000"),
        person_court("C-P1", 1),
        person_court("C-P3", 3),
        person_court("C-P4", 4),
        person_court("C-P6", 6, performance="partial"),
        court_row("C-BAD", mistype(make_ric(9))),  # stored unresolved: no subject, never scored
    ]
    tax = [
        tax_row("T-O1", make_uscc(1), "35000.00"),
        tax_row("T-O2a", make_uscc(2), "250000", valid_until="2027-06-01"),
        tax_row("T-O2b", make_uscc(2), "50000.00", tax_kind="stamp"),
        tax_row("T-O4", make_uscc(4), "300000", tax_kind="corporate_income"),
        tax_row("T-P1", make_ric(1), "3000", scheme="cn.ric", tax_kind="individual_income"),
        tax_row("T-P2a", make_ric(2), "20000", scheme="cn.ric", tax_kind="property"),
        tax_row("T-P2b", make_ric(2), "2000.00", scheme="cn.ric", tax_kind="other"),
    ]
    consent = [
        consent_row("K-P1", 1, "granted", "2025-01-10"),
        consent_row("K-P2", 2, "granted", "2025-01-10", channel="counter"),
        consent_row("K-P3a", 3, "granted", "2025-01-01"),
        consent_row("K-P3b", 3, "withdrawn", "2025-06-01"),
        consent_row("K-P5", 5, "granted", "2025-02-01"),
        consent_row("K-P6a", 6, "withdrawn", "2025-01-01"),
        consent_row("K-P6b", 6, "granted", "2025-03-01", channel="counter"),
    ]
    samr = [
        penalty_row("S-O1", make_uscc(1), fine="20000"),
        *(penalty_row(f"S-O2-{i}", make_uscc(2), fine="1000" if i % 2 else None) for i in range(4)),
        penalty_row("S-O3", make_uscc(3)),
        *(penalty_row(f"S-O4-{i}", make_uscc(4), fine="300") for i in range(3)),
        penalty_row("S-O5", make_uscc(5), decided_on="2026-07-20", valid_from="2026-08-01"),
        penalty_row("S-P1", make_ric(1), scheme="cn.ric", fine="500"),
    ]
    results = [
        ingest(write_csv(tmp_path / "court.csv", court)),
        ingest(write_csv(tmp_path / "tax.csv", tax)),
        ingest(write_csv(tmp_path / "credit_office.csv", consent)),
        ingest(write_csv(tmp_path / "samr.csv", samr)),
    ]
    assert sum(r.accepted for r in results) == len(court) + len(tax) + len(consent) + len(samr)
    assert results[0].unresolved == 1
    return {key: sid_of(engine, catalog, vault, number_of(*key)) for key in EXPECTED}


KNOWN = NOW + timedelta(hours=1)


def test_population_scores_as_computed_by_hand(engine, catalog, population):
    for key, sid in population.items():
        s = score_online(engine, catalog, sid, AS_OF, KNOWN)
        assert (s.status, s.points_cp, s.grade) == EXPECTED[key], key
        assert s.subject_kind == ("organisation" if key[0] == "org" else "person")
    # the population exercises rule caps and the floor, not only plain records
    kinds = {
        c.kind for sid in population.values() for c in score_online(engine, catalog, sid, AS_OF, KNOWN).contributions
    }
    assert kinds == {"record", "rule_cap", "score_limit"}


def test_embedded_and_online_rescore_store_identical_rows_equal_to_score_online(engine, catalog, population):
    embedded = rescore(engine, catalog, as_of=AS_OF, known_at=KNOWN, engine_name="embedded")
    online = rescore(engine, catalog, as_of=AS_OF, known_at=KNOWN, engine_name="online")
    assert embedded.run_id != online.run_id
    assert embedded.subjects == online.subjects == len(population) == 11
    by_engine = {"embedded": stored(engine, embedded.run_id), "online": stored(engine, online.run_id)}
    assert set(by_engine["embedded"]) == set(by_engine["online"]) == set(population.values())
    for key, sid in population.items():
        reference = row_of(score_online(engine, catalog, sid, AS_OF, KNOWN))
        assert by_engine["embedded"][sid] == by_engine["online"][sid], key
        assert by_engine["embedded"][sid] == reference, key
    expected_grades = {
        "organisation": {"C": 2, "A": 2, "D": 1},
        "person": {"B": 2, "A": 1, "AA": 1, "not_opted_in": 2},
    }
    assert embedded.grades == online.grades == expected_grades


def test_the_export_carries_the_attributes_a_pipeline_reads_as_typed_columns(engine, catalog, population, tmp_path):
    pipeline = ScoringPipeline(catalog, AS_OF)
    assert {name: (inp.type, inp.record_types) for name, inp in pipeline.inputs.items()} == {
        "amount_cny": ("decimal", {"tax.arrears"}),
        "consent": ("string", {"consent.scoring"}),
        "recall_class": ("string", {"quality.recall"}),
    }  # the shipped rulesets
    with engine.connect() as conn:
        rec_path, _ = export_inputs(conn, KNOWN, None, tmp_path, pipeline.inputs)
        stored = {row.id: row.attributes for row in conn.execute(select(records.c.id, records.c.attributes))}
    table = pq.read_table(rec_path)
    assert table.column_names == [*RECORD_SCHEMA.names, "a_amount_cny", "a_consent", "a_recall_class"]
    rows = table.to_pylist()
    assert 0 < sum(r["a_amount_cny"] is not None for r in rows) < len(rows)
    assert any(r["a_consent"] for r in rows)
    for row in rows:
        for name, inp in pipeline.inputs.items():
            kept = stored[row["record_id"]].get(name) if row["record_type"] in inp.record_types else None
            assert row[inp.column] == kept, (row, name)


def test_the_export_gives_each_attribute_value_exactly_as_stored(engine, population, tmp_path):
    """The store extracts the values; Arrow parses the digits stored, as Python's JSON reader
    does for the online scoring: no rounding through the database's own numbers."""
    inputs = {
        name: AttributeInput(name, kind, frozenset({"tax.arrears"}))
        for name, kind in (
            ("amount", "decimal"),
            ("count", "integer"),
            ("flag", "boolean"),
            ("due", "date"),
            ("note", "string"),
        )
    }
    values: list[dict[str, Any]] = [
        {"amount": 0.30000000000000004, "count": 9007199254740993, "flag": True, "due": "2024-02-29", "note": 'a"\\执'},
        {"amount": 1e22, "count": -1, "flag": False, "due": "1999-12-31", "note": ""},
        {"amount": 12345.67, "count": 0, "flag": None, "due": None, "note": None},
        {"amount": 50000, "other": 1},
        # values of another JSON type than the attribute's (a catalog may retype an attribute):
        # left out, as the online scorer counts none of them, and the batch still runs
        {"amount": "12.5", "count": 12.5, "flag": "true", "due": 20240229, "note": 3},
        {"amount": True, "count": "7", "flag": 1, "due": ["2024-02-29"], "note": {"a": 1}},
    ]
    with engine.begin() as conn:
        ids = conn.scalars(select(records.c.id).where(records.c.record_type == "tax.arrears").order_by(records.c.id))
        chosen = list(ids)[: len(values)]
        assert len(chosen) == len(values)
        for record_id, attrs in zip(chosen, values, strict=True):
            conn.execute(records.update().where(records.c.id == record_id).values(attributes=attrs))
    with engine.connect() as conn:
        rec_path, _ = export_inputs(conn, KNOWN, None, tmp_path, inputs)
    got = {r["record_id"]: r for r in pq.read_table(rec_path).to_pylist()}
    expected = [*values[:4], {}, {}]
    for record_id, attrs, want_of in zip(chosen, values, expected, strict=True):
        for name in inputs:
            want = want_of.get(name)
            want = date.fromisoformat(want) if name == "due" and want else want
            assert got[record_id][f"a_{name}"] == want, (attrs, name)
    assert all(r["a_amount"] is None for r in got.values() if r["record_type"] != "tax.arrears")


def test_a_what_if_across_a_retyped_attribute_exports_for_each_side(engine, catalog, population, tmp_path):
    """When the new catalog types an attribute the rules read differently (arrears in whole yuan),
    one export cannot serve both sides: each side reads its own, and the comparison still runs."""
    retyped = tmp_path / "catalog"
    shutil.copytree(default_catalog_dir(), retyped)
    path = retyped / "record_types.yaml"
    text_ = path.read_text(encoding="utf-8")
    old = "amount_cny: {type: decimal, minimum: 0, unit: CNY}\n      tax_kind:"
    assert text_.count(old) == 1
    path.write_text(text_.replace(old, old.replace("decimal", "integer")), encoding="utf-8")
    whole_yuan = load_catalog(retyped)
    with pytest.raises(ValueError, match="attribute 'amount_cny' is decimal in one catalog and integer"):
        merge_inputs(ScoringPipeline(catalog, AS_OF), ScoringPipeline(whole_yuan, AS_OF))
    diff = ruleset_diff(
        engine, catalog, whole_yuan, "org.supervision", "org.supervision", as_of=AS_OF, known_at=KNOWN, examples=0
    )
    orgs = [sid for (kind, _), sid in population.items() if kind == "org"]
    assert diff.subjects == len(orgs)


def test_one_export_for_two_pipelines_reads_each_attribute_from_the_types_of_either():
    old = SimpleNamespace(inputs={"amount": AttributeInput("amount", "decimal", frozenset({"tax.arrears"}))})
    new = SimpleNamespace(
        inputs={
            "amount": AttributeInput("amount", "decimal", frozenset({"court.defaulter"})),
            "kind": AttributeInput("kind", "string", frozenset({"tax.arrears"})),
        }
    )
    assert merge_inputs(old, new) == {  # type: ignore[arg-type]
        "amount": AttributeInput("amount", "decimal", frozenset({"tax.arrears", "court.defaulter"})),
        "kind": AttributeInput("kind", "string", frozenset({"tax.arrears"})),
    }
    retyped = SimpleNamespace(inputs={"amount": AttributeInput("amount", "string", frozenset({"tax.arrears"}))})
    with pytest.raises(ValueError, match="attribute 'amount' is decimal in one catalog and string in the other"):
        merge_inputs(old, retyped)  # type: ignore[arg-type]


def test_a_pipeline_refuses_records_without_the_columns_it_reads(catalog, tmp_path):
    pipeline = ScoringPipeline(catalog, AS_OF)
    table = pa.table({f.name: pa.array([], f.type) for f in RECORD_SCHEMA})
    subjects = pa.table({"subject_id": pa.array([], pa.int64()), "subject_kind": pa.array([], pa.string())})
    with pytest.raises(ValueError, match="lack the columns a_amount_cny, a_consent, a_recall_class"):
        run_duckdb(pipeline, table, subjects)


def test_rescore_of_chosen_subjects_scores_only_those(engine, catalog, population):
    chosen = [population[("org", 2)], population[("person", 1)]]
    for engine_name in ("embedded", "online"):
        run = rescore(engine, catalog, as_of=AS_OF, known_at=KNOWN, subject_ids=chosen, engine_name=engine_name)
        rows = stored(engine, run.run_id)
        assert sorted(rows) == sorted(chosen) and run.subjects == 2
        for sid in chosen:
            assert rows[sid] == row_of(score_online(engine, catalog, sid, AS_OF, KNOWN))


def test_before_any_ruleset_both_engines_store_no_ruleset(engine, catalog, population):
    day = date(2023, 12, 31)  # both shipped rulesets take effect on 2024-01-01
    embedded = rescore(engine, catalog, as_of=day, known_at=KNOWN, engine_name="embedded")
    online = rescore(engine, catalog, as_of=day, known_at=KNOWN, engine_name="online")
    rows = stored(engine, embedded.run_id)
    assert rows == stored(engine, online.run_id)
    assert {r["status"] for r in rows.values()} == {"no_ruleset"}
    for sid in population.values():
        assert rows[sid] == row_of(score_online(engine, catalog, sid, day, KNOWN))


def test_an_enormous_accepted_amount_does_not_break_the_batch_rescore(ingest, tmp_path, engine, catalog, vault):
    """The catalog sets no maximum for amount_cny and validation accepts any amount below 10^15 CNY.
    The per-record cap makes such an amount cost exactly the cap; one such record must not stop
    the embedded engine from scoring everybody."""
    tax = [
        tax_row("BIG-O", make_uscc(51), "999999999999999.99"),
        tax_row("BIG-P", make_ric(51), "200000000000000", scheme="cn.ric", tax_kind="individual_income"),
        tax_row("SMALL-O", make_uscc(52), "10000"),
    ]
    assert ingest(write_csv(tmp_path / "tax.csv", tax)).accepted == 3
    ingest(write_csv(tmp_path / "credit_office.csv", [consent_row("K-51", 51, "granted", "2025-01-01")]))
    ids = {
        n: sid_of(engine, catalog, vault, x)
        for n, x in (("O", make_uscc(51)), ("P", make_ric(51)), ("S", make_uscc(52)))
    }
    assert score_online(engine, catalog, ids["O"], AS_OF, KNOWN).points_cp == 8000  # the cap of 20 points
    assert score_online(engine, catalog, ids["P"], AS_OF, KNOWN).points_cp == 95000  # the cap of 50 points
    online = stored(engine, rescore(engine, catalog, as_of=AS_OF, known_at=KNOWN, engine_name="online").run_id)
    embedded = stored(engine, rescore(engine, catalog, as_of=AS_OF, known_at=KNOWN, engine_name="embedded").run_id)
    assert embedded == online


# --- bitemporal replay --------------------------------------------------------------------------------

T1 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
DAY = date(2026, 11, 1)


@pytest.fixture
def corrected(ingest, tmp_path, engine, catalog, vault) -> dict[str, Any]:
    """An organisation's arrears of 50,000 CNY at T1, corrected to 150,000 at T2; a consenting
    resident's defaulter record at T1, reported performed at T2."""
    # One moment a file: the knowledge clock would stamp a second file at the same moment a tick later.
    ingest(write_csv(tmp_path / "tax.csv", [tax_row("T-9", make_uscc(9), "50000")]), now=T1 - 2 * SECOND)
    ingest(write_csv(tmp_path / "credit_office.csv", [consent_row("K-9", 9, "granted", "2025-01-01")]), now=T1 - SECOND)
    ingest(write_csv(tmp_path / "court.csv", [person_court("C-9", 9)]), now=T1)
    fix = ingest(
        write_csv(tmp_path / "tax.fix.csv", [tax_row("T-9", make_uscc(9), "150000", revision=2)]), now=T2 - SECOND
    )
    court_fix = [person_court("C-9", 9, revision=2, performance="performed")]
    fix2 = ingest(write_csv(tmp_path / "court.fix.csv", court_fix), now=T2)
    assert fix.new_versions == fix2.new_versions == 1
    return {
        "org": sid_of(engine, catalog, vault, make_uscc(9)),
        "person": sid_of(engine, catalog, vault, make_ric(9)),
        "tax": record_ids(engine, "T-9"),
        "court": record_ids(engine, "C-9"),
    }


def test_score_online_replays_what_was_known(engine, catalog, corrected):
    org, person = corrected["org"], corrected["person"]
    tax1, tax2 = corrected["tax"]
    court1, court2 = corrected["court"]

    before = score_online(engine, catalog, org, DAY, T1 - MINUTE)
    assert (before.status, before.points_cp, before.grade, before.contributions) == ("scored", 10000, "A", ())
    assert score_online(engine, catalog, person, DAY, T1 - MINUTE).status == "not_opted_in"

    for known in (T1, T1 + MINUTE, T2 - MINUTE):
        s = score_online(engine, catalog, org, DAY, known)
        assert (s.points_cp, s.grade) == (9500, "A"), known
        assert [(c.rule_id, c.points_cp, c.record_id) for c in s.contributions] == [("arrears", -500, tax1)]
        p = score_online(engine, catalog, person, DAY, known)
        assert (p.points_cp, [c.record_id for c in p.contributions]) == (90000, [court1])

    for known in (T2, T2 + MINUTE, NOW):
        s = score_online(engine, catalog, org, DAY, known)
        assert (s.points_cp, s.grade) == (8500, "B"), known
        assert [(c.rule_id, c.points_cp, c.record_id) for c in s.contributions] == [("arrears", -1500, tax2)]
        p = score_online(engine, catalog, person, DAY, known)
        # the scale has no condition on performance: same points, now explained by revision 2
        assert (p.points_cp, [c.record_id for c in p.contributions]) == (90000, [court2])


def test_known_at_in_another_time_zone_is_the_same_moment(engine, catalog, corrected):
    beijing = timezone(timedelta(hours=8))
    # T2 - 1 minute, written in Beijing time: still before the correction
    just_before = (T2 - MINUTE).astimezone(beijing)
    assert score_online(engine, catalog, corrected["org"], DAY, just_before).points_cp == 9500
    assert score_online(engine, catalog, corrected["org"], DAY, T2.astimezone(beijing)).points_cp == 8500
    run = rescore(engine, catalog, as_of=DAY, known_at=just_before, engine_name="embedded")
    assert stored(engine, run.run_id)[corrected["org"]]["points_cp"] == 9500


@pytest.mark.parametrize("engine_name", ["embedded", "online"])
def test_rescore_replays_what_was_known(engine, catalog, corrected, engine_name):
    org, person = corrected["org"], corrected["person"]
    want = {T1 - MINUTE: (10000, "A"), T1 + MINUTE: (9500, "A"), T2 + MINUTE: (8500, "B")}
    for known, (points_cp, grade) in want.items():
        run = rescore(engine, catalog, as_of=DAY, known_at=known, engine_name=engine_name)
        rows = stored(engine, run.run_id)
        assert (rows[org]["points_cp"], rows[org]["grade"]) == (points_cp, grade), known
        for sid in (org, person):
            assert rows[sid] == row_of(score_online(engine, catalog, sid, DAY, known)), (sid, known)
    before = stored(engine, rescore(engine, catalog, as_of=DAY, known_at=T1 - MINUTE, engine_name=engine_name).run_id)
    assert before[org]["contributions"] == [] and before[person]["status"] == "not_opted_in"


# --- validity by as_of --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "points_cp"),
    [
        (date(2024, 3, 4), 10000),  # the day before valid_from
        (date(2024, 3, 5), 6000),  # valid_from: counts
        (date(2025, 9, 1), 6000),  # inside the period
        (date(2026, 3, 4), 6000),  # the last day
        (date(2026, 3, 5), 10000),  # valid_until: no longer counts
        (date(2026, 11, 29), 10000),  # long after
    ],
)
def test_a_record_counts_only_inside_its_validity(ingest, tmp_path, engine, catalog, vault, day, points_cp):
    row = court_row("V-1", make_uscc(7), id_scheme="cn.uscc", subject_name="杭州某某有限公司")
    assert (row["valid_from"], row["valid_until"]) == ("2024-03-05", "2026-03-05")
    ingest(write_csv(tmp_path / "court.csv", [row]))
    sid = sid_of(engine, catalog, vault, make_uscc(7))
    assert score_online(engine, catalog, sid, day, KNOWN).points_cp == points_cp
    for engine_name in ("embedded", "online"):
        run = rescore(engine, catalog, as_of=day, known_at=KNOWN, engine_name=engine_name)
        assert stored(engine, run.run_id)[sid]["points_cp"] == points_cp


# --- which subjects changed ---------------------------------------------------------------------------


def test_changed_subjects(ingest, tmp_path, engine, catalog, vault):
    day1 = date(2026, 11, 29)
    ingest(
        write_csv(
            tmp_path / "court.csv",
            [
                org_court("A-1", 21),
                org_court("B-1", 22),
                org_court("C-1", 23, valid_until="2026-12-10"),
                org_court("D-1", 24, valid_until="2026-11-29"),  # already out of force on day1
            ],
        ),
        now=NOW,
    )
    a, b, c, d = (sid_of(engine, catalog, vault, make_uscc(n)) for n in (21, 22, 23, 24))

    ids, why = changed_subjects(engine, catalog, day1, NOW + MINUTE)
    assert sorted(ids) == sorted([a, b, c, d]) and "no earlier run" in why

    rescore(engine, catalog, as_of=day1, known_at=NOW + MINUTE, mode="all", engine_name="embedded")
    assert changed_subjects(engine, catalog, day1, NOW + 2 * MINUTE)[0] == []

    later = NOW + timedelta(days=1)
    ingest(write_csv(tmp_path / "tax.csv", [tax_row("T-B", make_uscc(22), "10000")]), now=later)
    assert changed_subjects(engine, catalog, day1, later + MINUTE)[0] == [b]
    # what was recorded after `now` is not yet counted
    assert changed_subjects(engine, catalog, day1, later - MINUTE)[0] == []

    # C's record ends on 2026-12-10: changed for an as_of on or after that day, not before
    assert changed_subjects(engine, catalog, date(2026, 12, 9), later + MINUTE)[0] == [b]
    assert changed_subjects(engine, catalog, date(2026, 12, 10), later + MINUTE)[0] == sorted([b, c])
    assert changed_subjects(engine, catalog, date(2026, 12, 20), later + MINUTE)[0] == sorted([b, c])

    # a correction counts as a change of its subject
    rescore(engine, catalog, as_of=day1, known_at=later + MINUTE, mode="changed", engine_name="online")
    assert changed_subjects(engine, catalog, day1, later + 2 * MINUTE)[0] == []
    fix_at = later + timedelta(hours=2)
    ingest(write_csv(tmp_path / "court.fix.csv", [org_court("A-1", 21, revision=2, amount_cny="1.00")]), now=fix_at)
    assert changed_subjects(engine, catalog, day1, fix_at + MINUTE)[0] == [a]


def test_changed_subjects_keep_a_decaying_record_changed_until_it_has_faded(ingest, tmp_path, engine, catalog, vault):
    row = {
        "source_ref": "E-1",
        "revision": 1,
        "record_type": "env.violation",
        "subject_name": "某某化工有限公司",
        "id_scheme": "cn.uscc",
        "id_number": make_uscc(31),
        "decided_on": "2026-01-10",
        "valid_from": "2026-01-10",
        "valid_until": "",
        "document_no": "杭环罚(2026)1号",
        "violation": "excess_emission",
        "fine_cny": "50000",
    }
    ingest(write_csv(tmp_path / "env.csv", [row]))
    sid = sid_of(engine, catalog, vault, make_uscc(31))
    day = date(2026, 11, 29)
    rescore(engine, catalog, as_of=day, known_at=NOW + MINUTE, engine_name="embedded")
    assert changed_subjects(engine, catalog, day + timedelta(days=1), NOW + MINUTE)[0] == [sid]
    faded = date(2027, 1, 10)  # 365 days after valid_from: the points are gone
    assert score_online(engine, catalog, sid, faded, NOW + MINUTE).points_cp == 10000
    rescore(engine, catalog, as_of=faded, known_at=NOW + MINUTE, engine_name="embedded")
    assert changed_subjects(engine, catalog, faded + timedelta(days=1), NOW + MINUTE)[0] == []


def edited_catalog(directory: Path, edit) -> Catalog:
    """The shipped catalog with its rulesets edited by `edit` (a function of the parsed YAML list)."""
    shutil.copytree(default_catalog_dir(), directory)
    path = directory / "rulesets.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rulesets"] = edit(data["rulesets"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_catalog(directory)


def defaulter_points(points: int):
    def edit(rulesets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for rs in rulesets:
            if rs["id"] == "org.supervision":
                rs["rules"] = [{**r, "points": points} if r["id"] == "defaulter" else r for r in rs["rules"]]
        return rulesets

    return edit


def successor_from(day: date, points: int):
    """org.supervision ends on `day`; org.supervision_next (defaulter `points`) follows."""

    def edit(rulesets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        [old] = [rs for rs in rulesets if rs["id"] == "org.supervision"]
        old["effective_until"] = day
        new = {k: v for k, v in old.items() if k != "effective_until"}
        new.update(id="org.supervision_next", version="2.0", effective_from=day)
        new["rules"] = [{**r, "points": points} if r["id"] == "defaulter" else r for r in old["rules"]]
        return [*rulesets, new]

    return edit


def stale_subjects(engine: Engine, catalog: Catalog, as_of: date, known_at: datetime) -> list[int]:
    """Subjects whose latest stored score differs from what `score_online` gives now."""
    latest = select(func.max(scores.c.id)).group_by(scores.c.subject_id)
    with engine.connect() as c:
        run_ids = {
            int(s): int(r)
            for s, r in c.execute(select(scores.c.subject_id, scores.c.run_id).where(scores.c.id.in_(latest)))
        }
    stale = []
    for sid, run_id in sorted(run_ids.items()):
        if stored(engine, run_id)[sid] != row_of(score_online(engine, catalog, sid, as_of, known_at)):
            stale.append(sid)
    return stale


def test_changed_subjects_include_those_a_new_ruleset_rescores(ingest, tmp_path, engine, vault):
    """A ruleset taking effect between the last run's as_of and the new as_of changes the score of
    every subject of its kind that a changed rule applies to."""
    switch = date(2026, 12, 1)
    catalog = edited_catalog(tmp_path / "catalog", successor_from(switch, -60))
    ingest(write_csv(tmp_path / "court.csv", [org_court("R-1", 61)]))
    sid = sid_of(engine, catalog, vault, make_uscc(61))
    rescore(engine, catalog, as_of=date(2026, 11, 29), known_at=KNOWN, mode="all", engine_name="embedded")
    day = date(2026, 12, 2)
    assert score_online(engine, catalog, sid, day, KNOWN).points_cp == 4000  # 6000 under the old ruleset
    assert stale_subjects(engine, catalog, day, KNOWN) == [sid]
    assert sid in changed_subjects(engine, catalog, day, KNOWN + MINUTE)[0]


def test_changed_subjects_after_the_catalog_changed(ingest, tmp_path, engine, catalog, vault):
    """Scores stored under another catalog version may all differ under the current one."""
    ingest(write_csv(tmp_path / "court.csv", [org_court("R-2", 62)]))
    sid = sid_of(engine, catalog, vault, make_uscc(62))
    day = date(2026, 11, 29)
    rescore(engine, catalog, as_of=day, known_at=KNOWN, mode="all", engine_name="embedded")
    stricter = edited_catalog(tmp_path / "catalog", defaulter_points(-50))
    assert stricter.version != catalog.version
    assert stale_subjects(engine, stricter, day, KNOWN) == [sid]
    assert sid in changed_subjects(engine, stricter, day, KNOWN + MINUTE)[0]


def test_a_what_if_exports_the_attributes_either_side_reads(engine, catalog, population, tmp_path):
    """One export serves both sides of a what-if: it keeps the attributes the old rules read
    even where the new ones read none."""

    def without_arrears(rulesets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for rs in rulesets:
            rs["rules"] = [r for r in rs["rules"] if r["id"] != "arrears"]
        return rulesets

    lenient = edited_catalog(tmp_path / "catalog", without_arrears)
    assert "amount_cny" in ScoringPipeline(catalog, AS_OF).inputs
    assert "amount_cny" not in ScoringPipeline(lenient, AS_OF).inputs
    diff = ruleset_diff(
        engine, catalog, lenient, "org.supervision", "org.supervision", as_of=AS_OF, known_at=KNOWN, examples=0
    )
    orgs = [sid for (kind, _), sid in population.items() if kind == "org"]
    grades = [
        (score_online(engine, catalog, s, AS_OF, KNOWN).grade, score_online(engine, lenient, s, AS_OF, KNOWN).grade)
        for s in orgs
    ]
    moves = Counter(f"{old} -> {new}" for old, new in grades if old != new)
    assert moves, "dropping the arrears rule changes some organisation's grade"
    assert (diff.subjects, diff.transitions) == (len(orgs), dict(moves))


# --- score history ------------------------------------------------------------------------------------


def test_two_runs_append_history_and_the_latest_row_is_current(engine, catalog, population):
    k1, k2 = KNOWN, KNOWN + timedelta(days=2)
    run1 = rescore(engine, catalog, as_of=AS_OF, known_at=k1, engine_name="embedded")
    later_day = date(2026, 11, 29)  # by then O5's penalty is in force
    run2 = rescore(engine, catalog, as_of=later_day, known_at=k2, mode="changed", engine_name="online")
    with engine.connect() as c:
        per_subject = Counter(int(s) for s in c.scalars(select(scores.c.subject_id)))
        latest_ids = select(func.max(scores.c.id)).group_by(scores.c.subject_id)
        current = {
            int(r.subject_id): r
            for r in c.execute(
                select(
                    scores.c.subject_id, scores.c.run_id, scores.c.as_of, scores.c.known_at, scores.c.points_cp
                ).where(scores.c.id.in_(latest_ids))
            )
        }
        runs = c.execute(
            select(
                score_runs.c.id,
                score_runs.c.mode,
                score_runs.c.engine,
                score_runs.c.as_of,
                score_runs.c.known_at,
                score_runs.c.catalog_version,
                score_runs.c.subjects,
            ).order_by(score_runs.c.id)
        ).all()
        versions = set(c.scalars(select(scores.c.catalog_version)))
    assert per_subject == Counter(dict.fromkeys(population.values(), 2))
    assert {sid: r.run_id for sid, r in current.items()} == dict.fromkeys(population.values(), run2.run_id)
    assert all(r.as_of == later_day and r.known_at == k2 for r in current.values())
    o5 = population[("org", 5)]
    assert current[o5].points_cp == score_online(engine, catalog, o5, later_day, k2).points_cp == 9500
    assert [tuple(r) for r in runs] == [
        (run1.run_id, "all", "embedded", AS_OF, k1, catalog.version, 11),
        (run2.run_id, "changed", "online", later_day, k2, catalog.version, 11),
    ]
    assert versions == {catalog.version}


# --- the command line ---------------------------------------------------------------------------------


def failed(result: subprocess.CompletedProcess[str]) -> str:
    """The one-line message of a command that must fail with exit status 1 and no traceback."""
    assert result.returncode == 1, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return " ".join(result.stderr.split())


def one_line(s: str) -> str:
    return " ".join(s.split())


def cli_files(directory: Path) -> Path:
    """An organisation and two residents with defaulter records in force today; one resident consents."""
    directory.mkdir(parents=True, exist_ok=True)
    until = "2099-12-31"
    write_csv(
        directory / "court.csv",
        [
            court_row("CLI-O", make_uscc(41), id_scheme="cn.uscc", subject_name="杭州某某有限公司", valid_until=until),
            court_row("CLI-R1", make_ric(41), valid_until=until),
            court_row("CLI-R2", make_ric(42), valid_until=until),
        ],
    )
    write_csv(directory / "credit_office.csv", [consent_row("CLI-K1", 41, "granted", "2025-01-01")])
    return directory


def score_run_count(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.scalar(select(func.count()).select_from(score_runs)) or 0)


def test_cli_ingest_rescore_and_score(db_env, engine, catalog, vault, tmp_path):
    files = cli_files(tmp_path / "in")
    ingested = one_line(ingested_ok(xy(db_env, "ingest", str(files), cwd=tmp_path)).stdout)
    assert "rescored 3 subject(s) whose records changed" in ingested
    assert "Grades" in ingested and "organisation" in ingested and "not_opted_in" in ingested
    assert score_run_count(engine) == 1

    run = json.loads(ok(xy(db_env, "rescore", "--all", "--json", cwd=tmp_path)).stdout)
    assert {"run_id", "engine", "subjects", "grades"} <= set(run)
    assert run["engine"] == "embedded" and run["subjects"] == 3
    assert run["grades"] == {"organisation": {"C": 1}, "person": {"B": 1, "not_opted_in": 1}}
    assert score_run_count(engine) == 2

    org = sid_of(engine, catalog, vault, make_uscc(41))
    report = json.loads(ok(xy(db_env, "score", str(org), "--json", cwd=tmp_path)).stdout)
    assert report["subject_id"] == org
    assert (report["status"], report["points"], report["grade"]) == ("scored", 60.0, "C")
    [contribution] = report["contributions"]
    rt = catalog.record_types["court.defaulter"]
    assert contribution["points"] == -40.0 and contribution["record_type"] == "court.defaulter"
    reason = contribution["reason"]
    assert rt.name in reason and "court.defaulter" in reason and rt.legal_basis.cite() in reason
    assert "CLI-O" in reason and "-40.00" in reason

    by_uscc = ok(xy(db_env, "score", make_uscc(41), cwd=tmp_path)).stdout
    assert f"Subject {org} (organisation" in one_line(by_uscc) and "grade C" in one_line(by_uscc)


def test_cli_score_of_a_resident_never_prints_the_number(db_env, engine, catalog, vault, tmp_path):
    ingested_ok(xy(db_env, "ingest", "--no-rescore", str(cli_files(tmp_path / "in")), cwd=tmp_path))
    assert score_run_count(engine) == 0
    number = make_ric(41)
    resident = sid_of(engine, catalog, vault, number)
    masked = number[:6] + "*" * 8 + number[-4:]

    text_out = ok(xy(db_env, "score", number, cwd=tmp_path))
    assert f"Subject {resident} (person" in one_line(text_out.stdout) and masked in text_out.stdout
    assert "grade B" in one_line(text_out.stdout)
    json_out = ok(xy(db_env, "score", number, "--json", cwd=tmp_path))
    report = json.loads(json_out.stdout)
    assert report["subject_id"] == resident and report["found_by"] == f"cn.ric {masked}"
    assert (report["status"], report["points"], report["grade"]) == ("scored", 900.0, "B")
    for out in (text_out, json_out):
        assert number not in out.stdout and number not in out.stderr
        assert number[6:14] not in out.stdout  # not even the birth date in the middle

    without_consent = ok(xy(db_env, "score", make_ric(42), cwd=tmp_path))
    said = one_line(without_consent.stdout)
    assert "Not scored" in said and "opted in" in said
    assert make_ric(42) not in without_consent.stdout
    assert score_run_count(engine) == 0  # scoring one subject does not write a run


def test_cli_score_of_an_unknown_subject_says_what_to_give(db_env, tmp_path):
    ingested_ok(xy(db_env, "ingest", "--no-rescore", str(cli_files(tmp_path / "in")), cwd=tmp_path))
    stranger = make_ric(99)  # checksum-valid, never received
    for ref in (stranger, "not-an-identifier", "999999"):
        result = xy(db_env, "score", ref, cwd=tmp_path)
        message = failed(result)
        assert "no subject matches" in message, ref
        assert "internal subject id" in message and "cn.uscc" in message and "cn.ric" in message
        assert stranger not in result.stdout + result.stderr


def test_cli_rejects_bad_arguments_before_touching_a_store(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env["XINYONG_DATA_DIR"] = str(tmp_path / "data")
    message = failed(xy(env, "score", "1", "--as-of", "not-a-date", cwd=tmp_path))
    assert "--as-of 'not-a-date' is not a date" in message and "YYYY-MM-DD" in message
    message = failed(xy(env, "score", "1", "--known-at", "yesterday", cwd=tmp_path))
    assert "--known-at 'yesterday' is not a timestamp" in message
    assert "--all or --changed" in failed(xy(env, "rescore", cwd=tmp_path))
    assert "--all or --changed" in failed(xy(env, "rescore", "--all", "--changed", cwd=tmp_path))
    assert not (tmp_path / "data" / "xinyong.db").exists()
