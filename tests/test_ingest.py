"""Ingestion against the real store, on SQLite and PostgreSQL: good files, corrections, bad input.

Every bad-input test first stores a good batch, then offers the bad file, and checks that what
was accepted before is still there, whole.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import func, select

from builders import court_row, make_ric, make_uscc, mistype, write_csv, write_jsonl, write_parquet
from conftest import pg_url
from process_story import hold
from xinyong.domain.errors import FileRefused
from xinyong.ingest import pipeline
from xinyong.ingest.pipeline import BatchResult, ingest_file, plan_directory
from xinyong.store import clock
from xinyong.store.db import make_engine
from xinyong.store.tables import batches, identifiers, records, rejects, subjects, unresolved

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@pytest.fixture
def ingest(engine, catalog, vault, tmp_path):
    def run(path: Path, **kw) -> BatchResult:
        kw.setdefault("now", NOW)
        hold(kw["now"])  # the batch is stamped with the clock, held at the moment it arrives
        return ingest_file(engine, catalog, vault, path, report_dir=tmp_path / "rejects", **kw)

    return run


def counts(engine) -> dict[str, int]:
    with engine.connect() as c:
        return {
            "records": c.scalar(select(func.count()).select_from(records).where(records.c.superseded_at.is_(None))),
            "versions": c.scalar(select(func.count()).select_from(records)),
            "subjects": c.scalar(select(func.count()).select_from(subjects)),
            "identifiers": c.scalar(select(func.count()).select_from(identifiers)),
            "batches": c.scalar(select(func.count()).select_from(batches)),
        }


@pytest.fixture
def baseline(ingest, tmp_path, engine):
    """A good batch already in the store; bad-input tests check it survives intact."""
    rows = [court_row(f"OK-{i}", make_ric(i)) for i in range(5)]
    result = ingest(write_csv(tmp_path / "court.csv", rows))
    assert result.accepted == 5 and result.rejected == 0
    return counts(engine)


def assert_untouched(engine, before: dict[str, int], batches_added: int = 0) -> None:
    after = counts(engine)
    assert after == {**before, "batches": before["batches"] + batches_added}


def test_csv_ingest_links_subjects(ingest, tmp_path, engine):
    rows = [court_row("A-1", make_ric(1)), court_row("A-2", make_ric(1)), court_row("A-3", make_ric(2))]
    result = ingest(write_csv(tmp_path / "court.csv", rows))
    assert (result.accepted, result.rejected, result.unresolved, result.subjects_created) == (3, 0, 0, 2)
    with engine.connect() as c:
        linked = c.execute(select(records.c.source_ref, records.c.subject_id, records.c.link_method)).all()
        ids = c.execute(select(identifiers.c.scheme, identifiers.c.masked, identifiers.c.value)).all()
    by_ref = {r[0]: r[1] for r in linked}
    assert by_ref["A-1"] == by_ref["A-2"] != by_ref["A-3"]
    assert {r[2] for r in linked} == {"identifier"}
    assert all(m.startswith("330106") and "********" in m and v is None for _, m, v in ids)


def test_jsonl_and_parquet(ingest, tmp_path, engine):
    rows = [court_row(f"J-{i}", make_ric(i), revision=1) for i in range(3)]
    r1 = ingest(write_jsonl(tmp_path / "court.jsonl", rows))
    prow = [court_row(f"P-{i}", make_ric(i)) for i in range(3)]
    r2 = ingest(write_parquet(tmp_path / "court.parquet", prow))
    assert (r1.accepted, r2.accepted) == (3, 3)
    assert r2.subjects_created == 0  # the same three residents
    assert counts(engine)["records"] == 6


def test_organisation_identifier_is_kept_plain(ingest, tmp_path, engine):
    row = court_row("O-1", make_uscc(5), id_scheme="cn.uscc", subject_name="杭州某某科技有限公司")
    ingest(write_csv(tmp_path / "court.csv", [row]))
    with engine.connect() as c:
        value, kind = c.execute(select(identifiers.c.value, subjects.c.kind).join(subjects)).one()
    assert value == make_uscc(5) and kind == "organisation"


def test_same_file_twice_adds_nothing(ingest, tmp_path, engine, baseline):
    """The same bytes again: rolled back whole, no second batch and no second set of rejects; the
    result names the batch that stored them."""
    again = ingest(tmp_path / "court.csv")
    assert (again.accepted, again.unchanged, again.rejected, again.report) == (0, 0, 0, None)
    assert again.same_as is not None and again.batch_id == again.same_as
    assert_untouched(engine, baseline, batches_added=0)


def test_higher_revision_is_a_new_version(ingest, tmp_path, engine, baseline):
    fixed = court_row("OK-1", make_ric(1), revision=2, performance="performed")
    result = ingest(write_csv(tmp_path / "court.update.csv", [fixed]))
    assert (result.new_versions, result.accepted) == (1, 0)
    with engine.connect() as c:
        hist = c.execute(
            select(records.c.revision, records.c.superseded_at, records.c.attributes)
            .where(records.c.source_ref == "OK-1")
            .order_by(records.c.revision)
        ).all()
    assert [h[0] for h in hist] == [1, 2]
    # Both files are ingested at NOW: the knowledge clock stamps the second a tick later.
    assert hist[0][1] == NOW + clock.TICK and hist[1][1] is None
    assert hist[0][2]["performance"] == "none" and hist[1][2]["performance"] == "performed"
    after = counts(engine)
    assert after["records"] == baseline["records"] and after["versions"] == baseline["versions"] + 1


def test_same_revision_different_content_is_a_conflict(ingest, tmp_path, engine, baseline):
    changed = court_row("OK-1", make_ric(1), amount_cny="99.00")
    result = ingest(write_csv(tmp_path / "court.csv", [changed]))
    assert result.rejected == 1
    assert "already stored with different content" in result.problems_sample[0]
    assert "revision 2" in result.problems_sample[0]
    assert_untouched(engine, baseline, batches_added=1)


def test_older_revision_is_stale(ingest, tmp_path, engine, baseline):
    ingest(write_csv(tmp_path / "court.v3.csv", [court_row("OK-2", make_ric(2), revision=3)]))
    result = ingest(write_csv(tmp_path / "court.v2.csv", [court_row("OK-2", make_ric(2), revision=2)]))
    assert result.rejected == 1 and "older than the stored revision 3" in result.problems_sample[0]


def test_invalid_checksum_is_stored_unresolved(ingest, tmp_path, engine, baseline):
    rows = [court_row("BAD-1", mistype(make_ric(7))), court_row("BAD-2", None, subject_name="李娜")]
    result = ingest(write_csv(tmp_path / "court.csv", rows))
    assert (result.accepted, result.unresolved, result.subjects_created) == (2, 2, 0)
    with engine.connect() as c:
        queue = dict(c.execute(select(records.c.source_ref, unresolved.c.reason).join(unresolved)).all())
        unlinked = c.scalar(select(func.count()).select_from(records).where(records.c.subject_id.is_(None)))
    assert "check digit" in queue["BAD-1"] and "330107********" in queue["BAD-1"]
    assert queue["BAD-2"] == "missing identifier"
    assert unlinked == 2
    report = Path(result.report or "").read_text()
    assert "stored_unresolved" in report and mistype(make_ric(7)) not in report


def test_correction_closes_unresolved_entry(ingest, tmp_path, engine):
    ingest(write_csv(tmp_path / "court.csv", [court_row("U-1", mistype(make_ric(3)))]))
    ingest(write_csv(tmp_path / "court.fix.csv", [court_row("U-1", make_ric(3), revision=2)]))
    with engine.connect() as c:
        rows = c.execute(select(unresolved.c.resolved_at, unresolved.c.resolution)).all()
        linked = c.scalar(select(records.c.subject_id).where(records.c.superseded_at.is_(None)))
    assert rows == [(NOW + clock.TICK, "superseded")] and linked is not None  # the second file: a tick later


# ---- bad input: whole files refused ------------------------------------------------------------


def test_an_encoding_that_cannot_be_told_refuses_the_file_with_candidates(ingest, tmp_path, engine, baseline):
    doc = {"document_no": "(2024) Zhe 01 Zhi 1", "case_no": "(2024) Zhe 01 Zhi 1"}
    rows = [court_row(f"G-{i}", make_ric(i + 10), subject_name="Müller Straße Ça", **doc) for i in range(3)]
    path = write_csv(tmp_path / "court.csv", rows, encoding="latin-1")
    with pytest.raises(FileRefused) as info:
        ingest(path)
    message = str(info.value)
    assert message.startswith("court.csv: line 2: not valid UTF-8 (byte 0xfc)")
    assert "cannot be told with confidence: it could be" in message and "--encoding" in message
    assert_untouched(engine, baseline)


def test_encoding_error_late_in_file_keeps_nothing_of_it(ingest, tmp_path, engine, baseline):
    rows = [court_row(f"L-{i}", make_ric(i % 900 + 10)) for i in range(3000)]
    path = write_csv(tmp_path / "court.csv", rows)
    path.write_bytes(path.read_bytes() + "L-x,1,court.defaulter,张伟\n".encode("gbk"))
    with pytest.raises(FileRefused, match="not valid UTF-8"):
        ingest(path, chunk_rows=500)
    assert_untouched(engine, baseline)


def test_missing_header(ingest, tmp_path, engine, baseline):
    path = tmp_path / "court.csv"
    write_csv(path, [court_row("H-1", make_ric(1))])
    path.write_text("\n".join(path.read_text().splitlines()[1:]) + "\n")
    with pytest.raises(FileRefused, match="line 1: no header line"):
        ingest(path)
    assert_untouched(engine, baseline)


def test_unknown_column(ingest, tmp_path, engine, baseline):
    row = court_row("X-1", make_ric(1), behaviour="rude")
    with pytest.raises(FileRefused, match=r"unknown column\(s\): behaviour"):
        ingest(write_csv(tmp_path / "court.csv", [row]))
    assert_untouched(engine, baseline)


def test_missing_required_column(ingest, tmp_path, engine, baseline):
    row = court_row("X-1", make_ric(1))
    cols = [c for c in row if c != "decided_on"]
    with pytest.raises(FileRefused, match=r"missing required column\(s\): decided_on"):
        ingest(write_csv(tmp_path / "court.csv", [row], columns=cols))
    assert_untouched(engine, baseline)


def test_empty_file(ingest, tmp_path, engine, baseline):
    (tmp_path / "court.csv").write_bytes(b"")
    with pytest.raises(FileRefused, match="empty"):
        ingest(tmp_path / "court.csv")
    (tmp_path / "court.jsonl").write_text("\n\n")
    with pytest.raises(FileRefused, match="no records"):
        ingest(tmp_path / "court.jsonl")
    write_csv(tmp_path / "court.h.csv", [], columns=list(court_row("a", None)))
    with pytest.raises(FileRefused, match="header but no records"):
        ingest(tmp_path / "court.h.csv")
    assert_untouched(engine, baseline)


def test_parquet_with_wrong_schema(ingest, tmp_path, engine, baseline):
    rows = [court_row("PQ-1", make_ric(1))]
    types = {"decided_on": pa.float64(), "revision": pa.int64(), "amount_cny": pa.float64()}
    types |= {"valid_from": pa.date32(), "valid_until": pa.date32()}
    schema = pa.schema([(k, types.get(k, pa.string())) for k in rows[0]])
    data = [{**r, "decided_on": 20240301.0} for r in rows]
    with pytest.raises(FileRefused, match="column 'decided_on' has type double; expected date32 or string"):
        ingest(write_parquet(tmp_path / "court.parquet", data, schema=schema))
    (tmp_path / "court.broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(FileRefused, match="not a readable Parquet file"):
        ingest(tmp_path / "court.broken.parquet")
    assert_untouched(engine, baseline)


def test_directory_with_unknown_source(catalog, tmp_path):
    (tmp_path / "court.csv").write_text("x")
    (tmp_path / "police.csv").write_text("x")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(FileRefused) as info:
        plan_directory(tmp_path, catalog)
    msg = str(info.value)
    assert "nothing ingested" in msg and "police.csv (unknown source 'police')" in msg and "notes.txt" in msg
    assert "court.csv" not in msg.split("Not accepted:")[1]


def test_unknown_source_from_file_name(ingest, tmp_path):
    with pytest.raises(FileRefused, match="unknown source 'police'"):
        ingest(write_csv(tmp_path / "police.csv", [court_row("A", make_ric(1))]))


# ---- bad input: rows rejected, the rest of the file accepted -----------------------------------


def rejected(result: BatchResult, engine) -> dict[int, list[tuple[str | None, str, str]]]:
    with engine.connect() as c:
        rows = c.execute(
            select(rejects.c.line, rejects.c.field, rejects.c.code, rejects.c.message).where(
                rejects.c.batch_id == result.batch_id
            )
        ).all()
    out: dict[int, list[tuple[str | None, str, str]]] = {}
    for line, field, code, message in rows:
        out.setdefault(line, []).append((field, code, message))
    return out


@pytest.mark.parametrize(
    ("override", "field", "code", "text"),
    [
        ({"decided_on": "2024-02-30"}, "decided_on", "invalid_date", "not a real date"),
        ({"decided_on": "March 2024"}, "decided_on", "invalid_date", "use YYYY-MM-DD"),
        (
            {"decided_on": "2027-01-01", "valid_from": "", "valid_until": ""},
            "decided_on",
            "future_date",
            "in the future",
        ),
        ({"valid_from": "2026-12-24"}, "valid_from", "future_date", "in the future"),
        ({"valid_until": "2024-03-01"}, "valid_until", "invalid_period", "not after valid_from 2024-03-05"),
        ({"record_type": "tax.arrears"}, "record_type", "not_authorised", "may not submit 'tax.arrears'"),
        ({"record_type": "court.gossip"}, "record_type", "unknown_type", "unknown record type"),
        ({"case_no": "x" * 41}, "case_no", "invalid", "at most 40 allowed"),
        ({"subject_name": "张" * 201}, "subject_name", "too_long", "at most 200"),
        ({"source_ref": "R" * 65}, "source_ref", "too_long", "at most 64"),
        ({"circumstance": "rude"}, "circumstance", "invalid", "is not one of"),
        ({"amount_cny": "-5"}, "amount_cny", "invalid", "below the minimum"),
        ({"amount_cny": "a lot"}, "amount_cny", "invalid", "is not a number"),
        ({"document_no": ""}, "document_no", "missing", "needs the decision document number"),
        ({"id_scheme": "cn.uscc"}, "id_scheme", None, None),
        ({"id_scheme": "us.ssn"}, "id_scheme", "unknown_scheme", "unknown identifier scheme"),
        ({"revision": "first"}, "revision", "invalid", "not a revision number"),
    ],
)
def test_bad_row_is_rejected_with_line_and_field(ingest, tmp_path, engine, baseline, override, field, code, text):
    rows = [court_row("N-1", make_ric(20)), court_row("N-2", make_ric(21), **override), court_row("N-3", make_ric(22))]
    result = ingest(write_csv(tmp_path / "court.csv", rows))
    if code is None:  # an organisation code scheme on a valid resident number: stored, not linked
        assert (result.accepted, result.unresolved) == (3, 1)
        return
    assert (result.accepted, result.rejected) == (2, 1)
    problems = rejected(result, engine)
    assert list(problems) == [3]  # header is line 1, N-2 is line 3
    [(_, c, message)] = [p for p in problems[3] if p[0] == field]
    assert c == code and text in message
    report = Path(result.report or "").read_text()
    assert f"3,N-2,{field}," in report if field != "source_ref" else ",source_ref," in report
    after = counts(engine)
    assert after["records"] == baseline["records"] + 2


def test_duplicate_source_ref_in_one_file(ingest, tmp_path, engine, baseline):
    rows = [court_row("D-1", make_ric(30)), court_row("D-2", make_ric(31)), court_row("D-1", make_ric(32))]
    result = ingest(write_csv(tmp_path / "court.csv", rows))
    assert (result.accepted, result.rejected) == (2, 1)
    assert "already appears at line 2 of this file" in result.problems_sample[0]


def test_duplicate_source_ref_across_chunks(ingest, tmp_path, engine):
    rows = [court_row(f"C-{i}", make_ric(i % 500)) for i in range(250)] + [court_row("C-3", make_ric(3))]
    result = ingest(write_csv(tmp_path / "court.csv", rows), chunk_rows=100)
    assert (result.accepted, result.rejected) == (250, 1)
    assert "already appears at line 5 of this file" in result.problems_sample[0]


def test_an_identifier_met_again_links_to_one_subject_in_a_first_load_and_after_it(ingest, tmp_path, engine):
    """A first load (the store holds no identifier) asks the store about none: the batch knows the
    subjects it creates, across its chunks. The next batch finds them in the store."""
    first = [court_row(f"F-{i}", make_ric(i % 120)) for i in range(300)]
    result = ingest(write_csv(tmp_path / "court.csv", first), chunk_rows=50)
    assert (result.accepted, result.subjects_created) == (300, 120)
    again = [court_row(f"G-{i}", make_ric(i % 150)) for i in range(300)]
    result = ingest(write_csv(tmp_path / "court.2.csv", again), chunk_rows=50)
    assert (result.accepted, result.subjects_created) == (300, 30)
    with engine.connect() as conn:
        per_subject = conn.execute(select(records.c.subject_id, func.count()).group_by(records.c.subject_id)).all()
        assert conn.scalar(select(func.count()).select_from(identifiers)) == 150
    assert len(per_subject) == 150
    assert sorted(n for _, n in per_subject) == sorted([5] * 60 + [4] * 60 + [2] * 30)


def test_malformed_lines(ingest, tmp_path, engine, baseline):
    path = write_csv(tmp_path / "court.csv", [court_row("M-1", make_ric(40))])
    with path.open("a", encoding="utf-8") as f:
        f.write("M-2,1,court.defaulter\n")  # too few fields
    result = ingest(path)
    assert (result.accepted, result.rejected) == (1, 1)
    assert "has 3 fields; the header has 14" in result.problems_sample[0]
    jl = tmp_path / "court.jsonl"
    jl.write_text('{"source_ref": "M-3"\n[1, 2]\n' + __import__("json").dumps(court_row("M-4", make_ric(41))) + "\n")
    result = ingest(jl)
    assert (result.accepted, result.rejected) == (1, 2)
    assert [p.split(":")[0] for p in result.problems_sample] == ["line 1", "line 2"]


def test_huge_field_is_rejected_not_fatal(ingest, tmp_path, engine, baseline):
    rows = [court_row("F-1", make_ric(50), case_no="y" * 2_000_000), court_row("F-2", make_ric(51))]
    result = ingest(write_csv(tmp_path / "court.csv", rows))
    assert result.accepted == 1 and result.rejected == 1
    assert "field larger than field limit" in result.problems_sample[0]


def test_date_forms_are_normalised(ingest, tmp_path, engine):
    rows = [
        court_row("T-1", make_ric(60), decided_on="2024/03/01", valid_from="20240305", valid_until="2026年3月5日"),
    ]
    ingest(write_csv(tmp_path / "court.csv", rows))
    with engine.connect() as c:
        got = c.execute(select(records.c.decided_on, records.c.valid_from, records.c.valid_until)).one()
    assert [d.isoformat() for d in got] == ["2024-03-01", "2024-03-05", "2026-03-05"]


def test_rejected_report_and_table_hold_no_raw_identifier(ingest, tmp_path, engine):
    raw = make_ric(70)
    rows = [court_row("P-1", raw, decided_on="bad"), court_row("P-2", mistype(raw))]
    result = ingest(write_csv(tmp_path / "court.csv", rows))
    text = Path(result.report or "").read_text()
    with engine.connect() as c:
        messages = " ".join(c.scalars(select(rejects.c.message)))
        reasons = " ".join(c.scalars(select(unresolved.c.reason)))
    for blob in (text, messages, reasons):
        assert raw not in blob and mistype(raw) not in blob


def test_resident_number_labelled_as_organisation_code_is_not_stored_plain(ingest, tmp_path, engine):
    raw = make_ric(80)
    rows = [court_row("L-1", raw, id_scheme="cn.uscc"), court_row("L-2", mistype(make_uscc(3)), id_scheme="cn.uscc")]
    result = ingest(write_csv(tmp_path / "court.csv", rows))
    assert (result.accepted, result.unresolved, result.subjects_created) == (2, 2, 0)
    with engine.connect() as c:
        stored = " ".join(str(v) for row in c.execute(select(records)).all() for v in row)
        reasons = dict(c.execute(select(records.c.source_ref, unresolved.c.reason).join(unresolved)).all())
    assert raw not in stored and raw not in " ".join(reasons.values())
    assert reasons["L-1"].startswith("looks like a cn.ric number, not cn.uscc")
    assert "check digit" in reasons["L-2"] and mistype(make_uscc(3)) not in reasons["L-2"]


def test_lone_surrogate_in_jsonl_is_a_rejected_row(ingest, tmp_path, engine):
    path = tmp_path / "court.jsonl"
    good = court_row("S-1", make_ric(81))
    bad = court_row("S-2", make_ric(82), subject_name="\ud800")
    path.write_text(
        "\n".join(__import__("json").dumps(r) for r in (good, bad)) + "\n", encoding="utf-8"
    )  # json.dumps escapes the surrogate as \\ud800, which json.loads turns back into one
    result = ingest(path)
    assert (result.accepted, result.rejected) == (1, 1)
    assert "not valid Unicode" in result.problems_sample[0]


def test_on_postgresql_a_large_batch_analyses_the_tables_it_filled(pg_schema, catalog, vault, tmp_path):
    """Statistics are taken once a batch of at least `analyze_after_rows` versions commits, not
    for a smaller one (the autovacuum daemon may be late, or off)."""
    url = pg_url(*pg_schema)
    engine = make_engine(url)

    def analysed() -> dict[str, object]:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT relname, last_analyze FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                "AND relname IN ('records', 'identifiers', 'subjects', 'unresolved')"
            ).all()
        return dict(rows)

    try:
        small = tmp_path / "court.csv"
        write_csv(small, [court_row("AN-1", make_ric(901)), court_row("AN-2", make_uscc(902))])
        before = analysed()
        ingest_file(engine, catalog, vault, small, report_dir=tmp_path / "r", now=NOW, analyze_after_rows=3)
        assert analysed() == before  # two versions: below the bound, nothing analysed
        large = tmp_path / "court.2.csv"
        write_csv(large, [court_row(f"AN-{i}", make_ric(910 + i)) for i in range(3, 6)])
        ingest_file(engine, catalog, vault, large, report_dir=tmp_path / "r", now=NOW, analyze_after_rows=3)
        after = analysed()
        assert set(after) == {"records", "identifiers", "subjects", "unresolved"}
        assert all(after[t] is not None and after[t] != before.get(t) for t in after)
    finally:
        engine.dispose()


def test_on_postgresql_a_failed_analyse_after_a_batch_leaves_the_batch_stored_and_says_so(
    pg_schema, catalog, vault, tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(pipeline, "_ANALYZE", "ANALYZE no_such_table")  # fails as a lost server would
    engine = make_engine(pg_url(*pg_schema))
    try:
        path = tmp_path / "court.csv"
        write_csv(path, [court_row("AF-1", make_ric(931)), court_row("AF-2", make_ric(932))])
        with caplog.at_level("WARNING", logger="xinyong.ingest.pipeline"):
            result = ingest_file(engine, catalog, vault, path, report_dir=tmp_path / "r", now=NOW, analyze_after_rows=1)
        assert result.accepted == 2
        assert f"batch {result.batch_id} is stored; analysing its tables failed" in caplog.text
        with engine.connect() as conn:
            stored = conn.scalar(select(func.count()).select_from(records).where(records.c.batch_id == result.batch_id))
        assert stored == 2
    finally:
        engine.dispose()


def test_the_identifier_memory_forgetting_changes_nothing_stored(ingest, tmp_path, engine, monkeypatch):
    """The validator remembers each scheme's numbers up to IDENTIFY_CACHE and then forgets them
    all at once: with a memory of two numbers, a file that names six subjects over and again
    (persons and organisations, a number written once in lower case) links every row as with
    the full memory: one subject per identifier, the same masks and plain numbers."""
    from xinyong.domain import records as validation

    monkeypatch.setattr(validation, "IDENTIFY_CACHE", 2)
    with_x = next(n for n in map(make_ric, range(100, 400)) if n.endswith("X"))
    persons = [with_x, make_ric(1), make_ric(2)]
    orgs = [make_uscc(i) for i in range(3)]
    rows = []
    for n in range(24):
        if n % 2:
            rows.append(court_row(f"F-{n}", orgs[n % 3], id_scheme="cn.uscc", subject_name="杭州某某科技有限公司"))
        else:
            rows.append(court_row(f"F-{n}", persons[n % 3]))
    rows.append(court_row("F-lower", with_x[:-1] + "x"))
    result = ingest(write_csv(tmp_path / "court.csv", rows))
    assert (result.accepted, result.unresolved, result.subjects_created) == (25, 0, 6)
    with engine.connect() as c:
        mine = records.c.batch_id == result.batch_id
        linked = dict(c.execute(select(records.c.source_ref, records.c.subject_id).where(mine)).all())
        theirs = identifiers.c.subject_id.in_(select(records.c.subject_id).where(mine))
        ids = c.execute(select(identifiers.c.subject_id, identifiers.c.scheme, identifiers.c.value).where(theirs)).all()
    assert len(set(linked.values())) == 6 and len(ids) == 6
    for n in range(24):  # every row of the same number on the same subject, however often it was forgotten
        assert linked[f"F-{n}"] == linked[f"F-{n % 6}"]
    assert linked["F-lower"] == linked["F-0"]
    assert sorted(v for _, s, v in ids if s == "cn.uscc") == sorted(orgs)


def test_a_report_left_partial_by_a_death_after_commit_is_settled_by_the_next_batch(ingest, tmp_path, engine):
    """A batch's reject report is whole on disk before its batch commits and takes its final name
    after: a process killed between the two leaves the committed batch's report under its partial
    name. The next batch written into the same directory renames it, removes the partial report
    of a batch that never committed, and leaves alone a file it did not name, a batch number past
    any store's keys and a folder."""
    reports = tmp_path / "rejects"
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    bad = court_row("R-2", make_ric(2), decided_on="not a date")
    first = ingest(write_csv(tmp_path / "a" / "court.csv", [court_row("R-1", make_ric(1)), bad]))
    final = Path(first.report or "")
    assert first.rejected == 1 and final.is_file() and f"-batch{first.batch_id}-court-court.csv" in final.name
    whole = final.read_bytes()
    final.replace(final.with_name(final.name + ".partial"))  # as if the process died before the rename
    dead = reports / f"20240301T090000-batch{first.batch_id + 50}-court-court.csv.rejects.csv.partial"
    dead.write_text("line,source_ref,field,outcome,code,message\n", encoding="utf-8")  # a batch that never committed
    foreign = reports / "kept-by-hand.rejects.csv.partial"
    foreign.write_text("not ours\n", encoding="utf-8")
    huge = reports / "20240301T090000-batch99999999999999999999-court-x.csv.rejects.csv.partial"
    huge.write_text("a batch number no store holds\n", encoding="utf-8")
    folder = reports / f"20240301T090000-batch{first.batch_id + 60}-court-x.csv.rejects.csv.partial"
    folder.mkdir()

    second = ingest(write_csv(tmp_path / "b" / "court.csv", [court_row("R-3", make_ric(3))]))
    assert second.rejected == 0 and second.report is None
    assert final.read_bytes() == whole, "the committed batch's report has its final name, whole"
    assert not final.with_name(final.name + ".partial").exists() and not dead.exists()
    assert foreign.read_text(encoding="utf-8") == "not ours\n"
    assert huge.is_file() and folder.is_dir(), "names no batch can have, and folders, are left alone"
