"""Department exports as they really arrive, against the real store on SQLite and PostgreSQL.

The same court records are first stored from a UTF-8 CSV in xinyong's columns; then the department's
own export of them (GB18030 or UTF-16 text, a workbook under a title row, Chinese headers through the
catalog's mapping) is ingested on top, and must find every row already stored, unchanged: the same
records, to the content hash. Each encoding and format has a bad variant beside the good one.
"""

from __future__ import annotations

import codecs
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from builders import court_row, export_rows, make_ric, make_uscc, write_csv, write_xlsx
from xinyong.domain.errors import FileRefused
from xinyong.ingest.pipeline import BatchResult, ingest_file
from xinyong.ingest.readers import ReadOptions
from xinyong.store.tables import batches, identifiers, records, rejects, subjects, unresolved

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@pytest.fixture
def ingest(engine, catalog, vault, tmp_path):
    def run(path: Path, **kw) -> BatchResult:
        kw.setdefault("now", NOW)
        return ingest_file(engine, catalog, vault, path, report_dir=tmp_path / "rejects", **kw)

    return run


def court_rows(n: int = 12) -> list[dict]:
    """Residents and companies, with every attribute and core field filled, some optional ones empty."""
    rows = []
    for i in range(n):
        person = i % 3 != 0
        rows.append(
            court_row(
                f"C-{i:03d}",
                make_ric(i + 100) if person else make_uscc(i + 100),
                id_scheme="cn.ric" if person else "cn.uscc",
                subject_name="张伟" if person else "杭州某某科技有限公司",
                amount_cny=f"{1000 + 37 * i}.50",
                circumstance=("has_ability_refuses", "violates_declaration", "breaches_settlement")[i % 3],
                performance=("none", "partial")[i % 2],
                valid_until="" if i % 4 == 0 else "2026-03-05",
            )
        )
    return rows


@pytest.fixture
def stored(ingest, tmp_path) -> list[dict]:
    """The court's records stored once from UTF-8 CSV in xinyong's columns."""
    rows = court_rows()
    result = ingest(write_csv(tmp_path / "court.csv", rows))
    assert (result.accepted, result.rejected, result.reading) == (len(rows), 0, {"encoding": "utf-8"})
    return rows


def same_records(result: BatchResult, n: int) -> None:
    assert (result.accepted, result.new_versions, result.rejected, result.unchanged) == (0, 0, 0, n), result


def chinese_csv(path: Path, rows: list[dict], encoding: str, dropped: list[str] | None = None) -> Path:
    headers, data = export_rows("court.defaulter_list", rows, dropped)
    return write_csv(path, data, columns=headers, encoding=encoding)


def test_gb18030_csv_under_chinese_headers_gives_the_same_records(ingest, tmp_path, stored):
    dropped = ["法定代表人或者负责人姓名", "生效法律文书确定的义务", "性别"]
    result = ingest(chinese_csv(tmp_path / "court.gb.csv", stored, "gb18030", dropped))
    same_records(result, len(stored))
    reading = result.reading
    assert reading["encoding"] == "gb18030 (detected)" and reading["mapping"] == "court.defaulter_list"
    # Names filled only for companies are counted as they are filled; the free text for every row.
    assert reading["dropped"]["生效法律文书确定的义务"] == len(stored)
    assert set(reading["dropped"]) == set(dropped)


@pytest.mark.parametrize(
    ("encoding", "declared", "label"),
    [
        ("gbk", "GBK", "gbk (declared)"),
        ("gb2312", None, "gb18030 (detected)"),
        ("utf-16", None, "utf-16 (byte-order mark)"),
        ("utf-16-le", None, "utf-16-le (detected)"),
        ("utf-16-be", "utf-16-be", "utf-16-be (declared)"),
        ("utf-8-sig", None, "utf-8 (byte-order mark)"),
    ],
)
def test_every_encoding_a_department_saves_in_gives_the_same_records(
    ingest, tmp_path, stored, encoding, declared, label
):
    path = chinese_csv(tmp_path / "court.x.csv", stored, encoding)
    result = ingest(path, options=ReadOptions(encoding=declared))
    same_records(result, len(stored))
    assert result.reading["encoding"] == label


def test_a_declared_encoding_the_bytes_are_not_is_refused_at_the_line(ingest, tmp_path, engine, stored):
    path = chinese_csv(tmp_path / "court.gb.csv", stored, "gb18030")
    with pytest.raises(FileRefused, match=r"court.gb.csv: line 1: not valid UTF-8 \(byte 0x[0-9a-f]{2}") as info:
        ingest(path, options=ReadOptions(encoding="utf-8"))
    assert "look like GB18030" in str(info.value) and "--encoding" in str(info.value)
    with pytest.raises(
        FileRefused, match="encoding 'latin-1' is not one xinyong reads; declare one of: utf-8, gb18030"
    ):
        ingest(path, options=ReadOptions(encoding="latin-1"))
    with engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(batches)) == 1  # the first file's alone


def test_a_file_that_turns_into_another_encoding_late_is_refused_whole(ingest, tmp_path, engine, stored):
    """UTF-8 for its first megabyte, then GB18030: nothing of it is stored, and the line is named."""
    rows = [court_row(f"L-{i:05d}", make_ric(i % 900), subject_name="张伟") for i in range(9000)]
    path = write_csv(tmp_path / "court.late.csv", rows)
    assert path.stat().st_size > 1 << 20
    tail = f"L-late,1,court.defaulter,李娜,cn.ric,{make_ric(5)},2024-03-01,,,(2024)浙01执1号,x,1,none,none\n"
    path.write_bytes(path.read_bytes() + tail.encode("gb18030"))
    with pytest.raises(FileRefused, match=r"line 9002: not valid UTF-8 .* look like GB18030"):
        ingest(path)
    with engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(records)) == len(stored)


def test_a_workbook_under_a_title_row_gives_the_same_records(ingest, tmp_path, stored):
    path = write_xlsx(tmp_path / "court.xlsx", stored, title="市中级人民法院失信被执行人名单（2026年11月）")
    result = ingest(path)
    same_records(result, len(stored))
    assert result.reading == {"sheet": "Sheet1", "header_line": 2}


def test_title_lines_above_a_csv_header_are_skipped_and_a_file_without_a_header_refused(ingest, tmp_path, stored):
    path = chinese_csv(tmp_path / "court.gb.csv", stored, "gb18030")
    text = path.read_bytes().decode("gb18030")
    titled = "失信被执行人名单,,,\n填报单位：市中级人民法院,填报日期：2026-11-28,,\n" + text
    path.write_bytes(titled.encode("gb18030"))
    result = ingest(path)
    same_records(result, len(stored))
    assert result.reading["header_line"] == 3
    headless = tmp_path / "court.h.csv"
    headless.write_bytes("\n".join(text.splitlines()[1:]).encode("gb18030"))
    with pytest.raises(FileRefused, match=r"court\.h\.csv: line 1: no header line; .* or the headers of a mapping"):
        ingest(headless)


def test_a_workbook_in_chinese_headers_on_a_named_sheet(ingest, tmp_path, stored):
    headers, data = export_rows("court.defaulter_list", stored)
    path = write_xlsx(tmp_path / "court.xlsx", data, headers, title="失信被执行人名单", sheet="名单")
    result = ingest(path, options=ReadOptions(sheet="名单"))
    same_records(result, len(stored))
    assert result.reading["mapping"] == "court.defaulter_list" and result.reading["sheet"] == "名单"
    with pytest.raises(FileRefused, match="no sheet '公示'; the workbook's sheets are: 名单"):
        ingest(path, options=ReadOptions(sheet="公示"))


def test_parquet_under_chinese_headers_gives_the_same_records_and_its_types_are_checked(ingest, tmp_path, stored):
    headers, data = export_rows("court.defaulter_list", stored)
    typed = [{h: int(v) if h == "版本号" else (str(v) if v is not None else None) for h, v in r.items()} for r in data]
    table = pa.Table.from_pylist(typed)
    pq.write_table(table, tmp_path / "court.parquet")
    same_records(ingest(tmp_path / "court.parquet"), len(stored))
    wrong = table.set_column(headers.index("决定日期"), "决定日期", pa.array([20240301.0] * len(data)))
    pq.write_table(wrong, tmp_path / "court.w.parquet")
    with pytest.raises(FileRefused, match="column '决定日期' has type double; expected date32 or string"):
        ingest(tmp_path / "court.w.parquet")


def test_workbook_cells_typed_as_numbers_and_serials(ingest, tmp_path, engine):
    """A date typed as its Excel serial reads as the date; an 18-digit identifier typed as a number
    has lost its last digits, and its row is refused with the reason."""
    rows = [
        court_row("X-1", make_uscc(1), id_scheme="cn.uscc", decided_on=45352, valid_from="", valid_until=""),
        court_row("X-2", int(make_ric(2)), decided_on="2024-03-01"),
        court_row("X-3", make_ric(3), decided_on="2024-03-01", amount_cny=12000.5),
    ]
    result = ingest(write_xlsx(tmp_path / "court.xlsx", rows))
    assert (result.accepted, result.rejected) == (2, 1)
    assert result.reading["normalised"]["date_forms"] == 1
    with engine.connect() as c:
        got = dict(c.execute(select(records.c.source_ref, records.c.decided_on)).all())
        [(line, field, message)] = c.execute(select(rejects.c.line, rejects.c.field, rejects.c.message)).all()
    assert got["X-1"].isoformat() == "2024-03-01"
    assert (line, field) == (3, "id_number") and "keeps only 15 digits" in message and make_ric(2) not in message


def test_workbooks_that_cannot_be_read(ingest, tmp_path):
    (tmp_path / "court.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(FileRefused, match=r"court\.xlsx: not a readable workbook"):
        ingest(tmp_path / "court.xlsx")
    header_only = write_xlsx(tmp_path / "court.h.xlsx", [], list(court_row("a", None)), title="标题")
    with pytest.raises(FileRefused, match="the sheet has a header but no records"):
        ingest(header_only)
    (tmp_path / "court.e.xlsx").write_bytes(b"")
    with pytest.raises(FileRefused, match="empty"):
        ingest(tmp_path / "court.e.xlsx")


def penalty_rows() -> list[dict]:
    base = {
        "record_type": "market.penalty_general",
        "decided_on": "2025-06-01",
        "valid_from": "",
        "valid_until": "2025-12-01",
        "penalty_kind": "fine",
        "article_violated": "《食品安全法》第一百二十四条",
        "revision": 1,
    }
    return [
        {**base, "source_ref": "杭市监罚〔2025〕1号", "document_no": "杭市监罚〔2025〕1号", "subject_name": "杭州某某食品有限公司",
         "id_scheme": "cn.uscc", "id_number": make_uscc(7), "fine_cny": "12345.6"},
        {**base, "source_ref": "杭市监罚〔2025〕2号", "document_no": "杭市监罚〔2025〕2号", "subject_name": "王芳",
         "id_scheme": "cn.ric", "id_number": make_ric(8), "fine_cny": "", "penalty_kind": "warning"},
    ]  # fmt: skip


def test_the_national_penalty_template_drops_what_may_not_be_held(ingest, tmp_path, engine):
    """The legal representative's ID is read and dropped, never stored; the summary names it."""
    rows = penalty_rows()
    representative = make_ric(9, "19700101")
    headers, data = export_rows(
        "samr.penalty_template", rows, ["法定代表人", "法定代表人证件号码", "违法事实", "处罚机关"]
    )
    for d in data:
        d["法定代表人证件号码"] = representative
    data[0]["罚款金额（万元）"] = "1.23456"  # 12,345.60 yuan, exactly
    result = ingest(write_csv(tmp_path / "samr.csv", data, columns=headers, encoding="gb18030"))
    assert (result.accepted, result.rejected) == (2, 0)
    assert result.reading["dropped"] == {"法定代表人": 2, "法定代表人证件号码": 2, "违法事实": 2}
    assert result.reading["normalised"] == {"units": 1}
    with engine.connect() as c:
        fines = dict(c.execute(select(records.c.source_ref, records.c.attributes)).all())
        kinds = dict(c.execute(select(subjects.c.display_name, subjects.c.kind)).all())
        everything = " ".join(
            str(v)
            for t in (records, subjects, identifiers, unresolved, rejects)
            for row in c.execute(select(t))
            for v in row
        )
    assert fines["杭市监罚〔2025〕1号"]["fine_cny"] == 12345.6 and "fine_cny" not in fines["杭市监罚〔2025〕2号"]
    assert set(kinds.values()) == {"organisation", "person"}
    assert representative not in everything and representative[:6] + "********" + representative[-4:] not in everything


def test_a_mapped_file_with_a_column_the_mapping_does_not_read_is_refused(ingest, tmp_path):
    headers, data = export_rows("samr.penalty_template", penalty_rows())
    for d in data:
        d["信用承诺"] = "已承诺"
    path = write_csv(tmp_path / "samr.csv", data, columns=[*headers, "信用承诺"])
    with pytest.raises(
        FileRefused, match=r"samr.csv: line 1: unknown column\(s\): 信用承诺; mapping 'samr.penalty_template'"
    ):
        ingest(path)
    missing = write_csv(tmp_path / "samr.m.csv", data, columns=[h for h in headers if h != "处罚决定日期"])
    with pytest.raises(
        FileRefused, match=r"missing required column\(s\) of mapping 'samr.penalty_template': 处罚决定日期"
    ):
        ingest(missing)


def test_mapped_values_that_cannot_be_read_reject_their_row_with_the_raw_text(ingest, tmp_path, engine):
    headers, data = export_rows("samr.penalty_template", penalty_rows())
    data[0]["处罚类别"] = "=吊销许可证"
    data[1]["证件类型"] = "护照"
    extra = dict(
        data[0], **{"行政处罚决定书文号": "杭市监罚〔2025〕3号", "处罚类别": "罚款", "罚款金额（万元）": "1,5"}
    )
    result = ingest(write_csv(tmp_path / "samr.csv", [*data, extra], columns=headers))
    assert (result.accepted, result.rejected) == (0, 3)
    with engine.connect() as c:
        got = {
            line: (field, message)
            for line, field, message in c.execute(select(rejects.c.line, rejects.c.field, rejects.c.message))
        }
    assert (
        got[2][0] == "处罚类别"
        and "'=吊销许可证' is not one of the values mapping 'samr.penalty_template' reads" in got[2][1]
    )
    assert got[3][0] == "证件类型" and "'护照' is not one of the kinds of ID" in got[3][1]
    assert (
        got[4][0] == "罚款金额（万元）"
        and "'1,5' is not a number; group thousands by three (the column is in 万元)" in got[4][1]
    )
    report = Path(result.report or "").read_text(encoding="utf-8")
    assert "=吊销许可证" in report


def test_codecs_named_in_messages_are_those_python_reads():
    for name in ("utf-8", "gb18030", "gbk", "gb2312", "utf-16", "utf-16-le", "utf-16-be"):
        assert codecs.lookup(name)


def test_the_catalogs_encoding_for_a_source_yields_to_utf8_text(ingest, tmp_path):
    """The environment bureau's mapping says its files are GB18030: its export is read so, and a
    file of its in xinyong's own UTF-8 columns is still read as UTF-8."""
    env = {"record_type": "env.violation", "violation": "excess_emission", "fine_cny": "50000", "case_no": None}
    rows = [
        court_row(f"ENV-{i}", make_uscc(40 + i), id_scheme="cn.uscc", subject_name="杭州某某化工有限公司", **env)
        for i in range(3)
    ]
    for r in rows:
        for k in ("case_no", "amount_cny", "circumstance", "performance"):
            r.pop(k)
    utf8 = ingest(write_csv(tmp_path / "env.csv", rows))
    assert (utf8.accepted, utf8.reading["encoding"]) == (3, "utf-8")
    headers, data = export_rows("env.case_export", rows)
    exported = ingest(write_csv(tmp_path / "env.gb.csv", data, columns=headers, encoding="gb18030"))
    same_records(exported, 3)
    assert exported.reading["encoding"] == "gb18030 (declared in the catalog)"
    assert exported.reading["normalised"] == {"units": 3}
