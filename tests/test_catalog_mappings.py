"""The catalog's column mappings: the shipped ones load, and each mapping a careless or hostile
catalog might write is refused with file, line, the mapping and what to fix."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from xinyong.domain.catalog import CatalogError, default_catalog_dir, load_catalog
from xinyong.domain.catalog.mappings import header_key, never_held


@pytest.fixture
def cat_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "catalog"
    shutil.copytree(default_catalog_dir(), copy)
    return copy


GOOD = """
mappings:
  - id: labour.test_export
    source: labour
    record_type: labour.wage_arrears
    columns:
      案件编号: source_ref
      决定日期: decided_on
      决定书文号: document_no
      拖欠金额（万元）: {to: amount_cny, unit: 万元}
      涉及人数: workers_affected
    identifiers:
      - header: 统一社会信用代码
        scheme: cn.uscc
    drop:
      违法事实: free text is not held
"""


def refuse(cat_dir: Path, text: str, rule: str) -> list:
    """Add `text` as its own file; assert the loader refuses it for `rule`, naming file and line."""
    (cat_dir / "extra.yaml").write_text(textwrap.dedent(text).lstrip())
    with pytest.raises(CatalogError) as info:
        load_catalog(cat_dir)
    hits = [p for p in info.value.problems if p.rule == rule]
    assert hits, f"expected rule {rule}, got {[str(p) for p in info.value.problems]}"
    assert all(p.file == "extra.yaml" and p.line and "labour.test_export" in p.entry for p in hits)
    return hits


def test_the_shipped_mappings_load_and_cover_the_penalty_template_and_the_defaulter_list(catalog):
    maps = catalog.mappings
    assert {"samr.penalty_template", "court.defaulter_list", "env.case_export"} <= set(maps)
    penalty = maps["samr.penalty_template"]
    headers = {header_key(h) for h in penalty.headers()}
    for column in ("行政相对人名称", "统一社会信用代码", "证件类型", "证件号码", "行政处罚决定书文号", "处罚决定日期"):
        assert header_key(column) in headers
    # What the platform must never hold is read and dropped, never mapped.
    for column in ("法定代表人证件号码", "法定代表人", "违法事实", "处罚内容", "备注"):
        assert column in penalty.drop and column not in penalty.columns
    assert penalty.specs()["罚款金额（万元）"].unit == "万元"


def test_a_good_mapping_loads(cat_dir):
    (cat_dir / "extra.yaml").write_text(textwrap.dedent(GOOD).lstrip())
    assert load_catalog(cat_dir).mappings["labour.test_export"].record_types() == ["labour.wage_arrears"]


def test_mapping_for_an_unknown_source(cat_dir):
    [p] = refuse(cat_dir, GOOD.replace("source: labour", "source: police"), "unknown-reference")
    assert "unknown source 'police'" in p.message


def test_mapping_of_a_record_type_the_source_may_not_submit(cat_dir):
    text = GOOD.replace("record_type: labour.wage_arrears", "record_type: court.defaulter")
    hits = refuse(cat_dir, text, "not-authorised")
    assert "does not submit 'court.defaulter'" in hits[0].message


def test_mapping_onto_an_unknown_attribute(cat_dir):
    [p] = refuse(cat_dir, GOOD.replace("workers_affected", "behaviour"), "unknown-attribute")
    assert "maps onto 'behaviour'" in p.message and "workers_affected" in p.message


def test_two_headers_onto_one_attribute(cat_dir):
    text = GOOD.replace(
        "      涉及人数: workers_affected\n", "      涉及人数: workers_affected\n      人数: workers_affected\n"
    )
    [p] = refuse(cat_dir, text, "duplicate-target")
    assert "'涉及人数' and '人数' both map onto 'workers_affected'" in p.message


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("违法事实", "document_no"),
        ("主要违法事实", "source_ref"),
        ("备注", "document_no"),
        ("法定代表人", "source_ref"),
    ],
)
def test_free_text_or_a_representative_mapped_onto_a_field(cat_dir, header, target):
    """A hostile mapping smuggles free text (or a legal representative's name) into a bounded field."""
    text = GOOD.replace("      决定书文号: document_no\n", f"      决定书文号: document_no\n      {header}: {target}\n")
    text = text.replace("      违法事实: free text is not held\n", "      其他: not held\n")
    hits = refuse(cat_dir, text, "least-data")
    assert any(f"column '{header}'" in p.message and "list it under 'drop'" in p.message for p in hits)


def test_a_representatives_id_as_the_subjects_identifier(cat_dir):
    text = GOOD.replace("      - header: 统一社会信用代码\n", "      - header: 法定代表人证件号码\n").replace(
        "        scheme: cn.uscc\n", "        scheme: cn.uscc\n", 1
    )
    [p] = refuse(cat_dir, text, "least-data")
    assert "法定代表人证件号码" in p.message and "measures bind the subject alone" in p.message


def test_a_required_field_left_unmapped_or_dropped(cat_dir):
    text = GOOD.replace("      决定日期: decided_on\n", "").replace(
        "      违法事实: free text is not held\n",
        "      违法事实: free text is not held\n      决定日期: dropped on purpose\n",
    )
    hits = refuse(cat_dir, text, "required-unmapped")
    assert any("no column maps onto 'decided_on'" in p.message and "决定日期" in p.message for p in hits)
    text = GOOD.replace("      涉及人数: workers_affected\n", "")
    [p] = refuse(cat_dir, text, "required-unmapped")
    assert "'workers_affected', a required attribute of 'labour.wage_arrears'" in p.message


def test_identifier_mapped_as_a_plain_column(cat_dir):
    text = GOOD.replace(
        "      涉及人数: workers_affected\n", "      涉及人数: workers_affected\n      代码: id_number\n"
    )
    [p] = refuse(cat_dir, text, "identifiers")
    assert "list identifier columns under 'identifiers'" in p.message


def test_identifier_of_a_scheme_the_record_type_cannot_concern(cat_dir):
    [p] = refuse(cat_dir, GOOD.replace("scheme: cn.uscc", "scheme: cn.ric"), "subject-kind")
    assert "'cn.ric' identifies persons" in p.message


def test_a_value_table_onto_codes_the_attribute_does_not_have(cat_dir):
    text = GOOD.replace(
        "      涉及人数: workers_affected\n",
        "      涉及人数: {to: workers_affected, values: {很多: many}}\n",
    )
    [p] = refuse(cat_dir, text, "invalid-value")
    assert "a value table translates codes" in p.message


def test_a_unit_on_a_column_that_is_no_amount(cat_dir):
    text = GOOD.replace("      涉及人数: workers_affected\n", "      涉及人数: {to: workers_affected, unit: 万元}\n")
    [p] = refuse(cat_dir, text, "invalid-value")
    assert "a unit applies to one amount attribute" in p.message


def test_two_mappings_for_one_source_and_record_type(cat_dir):
    second = GOOD.split("mappings:\n", 1)[1].replace("labour.test_export", "labour.test_export_2")
    second = second.replace("涉及人数", "人数")
    hits = refuse(cat_dir, GOOD + second, "duplicate-mapping")
    assert "one mapping per source and record type" in hits[0].message


def test_an_encoding_xinyong_does_not_read(cat_dir):
    text = GOOD.replace(
        "    record_type: labour.wage_arrears\n", "    record_type: labour.wage_arrears\n    encoding: latin-1\n"
    )
    [p] = refuse(cat_dir, text, "invalid-value")
    assert "encoding" in p.message


def test_no_record_type_at_all(cat_dir):
    [p] = refuse(cat_dir, GOOD.replace("    record_type: labour.wage_arrears\n", ""), "record-type")
    assert "say which record type the rows are" in p.message


@pytest.mark.parametrize(
    ("header", "held"),
    [("法定代表人证件号码", False), ("违法事实及处罚依据", False), ("备注（其他）", False), ("行政相对人名称", True)],
)
def test_never_held_reads_headers_as_provinces_write_them(header, held):
    assert (never_held(header) is None) == held
