"""Name normalisation: one resident or company written many ways gives the same comparable forms."""

from __future__ import annotations

import pyarrow as pa
import pytest

from xinyong.resolve.features import normalise_document_no, prepare_subjects
from xinyong.resolve.fragment_tables import FRAGMENTS_SCHEMA
from xinyong.resolve.names import org_name, person_name, to_simplified


@pytest.mark.parametrize(
    "written",
    ["张晓明", "張曉明", "张 晓明", "Zhang Xiaoming", "ZHANG Xiaoming", "Xiaoming Zhang", "Zhang, Xiaoming",
     "Zhang Xiao-ming", "Zhāng Xiǎomíng", "Ｚｈａｎｇ　Ｘｉａｏｍｉｎｇ"],
)  # fmt: skip
def test_every_way_of_writing_a_name_has_the_same_pinyin_key(written: str) -> None:
    name = person_name(written)
    assert name.pinyin_key == "xiaoming zhang"
    assert name.pinyin == "zhangxiaoming"
    assert name.surname == "zhang"


def test_traditional_characters_fold_to_simplified_and_keep_tones() -> None:
    assert to_simplified("張偉") == "张伟"
    simplified, traditional = person_name("张伟"), person_name("張偉")
    assert simplified == traditional
    assert simplified.hanzi == "张伟"
    assert simplified.pinyin_tone == "zhang1 wei3"


def test_homophones_share_toneless_pinyin_but_not_characters() -> None:
    a, b = person_name("李伟"), person_name("黎伟")
    assert a.pinyin == b.pinyin == "liwei"
    assert a.hanzi != b.hanzi
    assert a.pinyin_tone != b.pinyin_tone  # li3 against li2


@pytest.mark.parametrize(
    ("hanzi", "romanised", "surname"),
    [("欧阳娜娜", "Ouyang Nana", "ouyang"), ("曾国强", "Zeng Guoqiang", "zeng"), ("单雪", "Shan Xue", "shan"),
     ("吕欣", "Lyu Xin", "lyu"), ("吕欣", "Lü Xin", "lyu"), ("司马光", "Sima Guang", "sima")],
)  # fmt: skip
def test_family_names_are_read_as_family_names(hanzi: str, romanised: str, surname: str) -> None:
    assert person_name(hanzi).surname == surname
    assert person_name(hanzi).pinyin_key == person_name(romanised).pinyin_key


@pytest.mark.parametrize("hostile", [None, "", "   ", "!!!", "\x00\x1f", "🙂" * 50])
def test_names_without_letters_give_no_forms_and_no_error(hostile: str | None) -> None:
    assert person_name(hostile).pinyin_key is None
    assert person_name(hostile).hanzi is None


def test_a_name_that_looks_like_sql_is_only_letters_after_folding() -> None:
    name = person_name("'; DROP TABLE subjects; --")
    assert name.pinyin is not None and name.pinyin.isalpha()


def test_characters_without_a_reading_are_skipped_not_fatal() -> None:
    name = person_name("张\U0002a6a5\u3402")  # a rare extension-B character and an extension-A one
    assert name.hanzi is not None and name.hanzi.startswith("张")
    assert name.surname == "zhang"


def test_a_very_long_name_is_normalised_not_refused() -> None:
    name = person_name("张" + "伟" * 5000)
    assert name.hanzi is not None and len(name.hanzi) == 5001
    assert name.surname == "zhang"


@pytest.mark.parametrize(
    "written",
    ["杭州华鑫科技有限公司", "华鑫科技有限责任公司", "杭州  华鑫科技 有限公司", "华鑫科技（杭州）有限公司",
     "浙江省杭州市华鑫科技有限公司", "華鑫科技有限公司", "華鑫科技【杭州】有限公司"],
)  # fmt: skip
def test_company_names_share_their_core_and_legal_form(written: str) -> None:
    org = org_name(written)
    assert org.core == "华鑫科技"
    assert org.legal_form == "co_ltd"


def test_legal_forms_are_canonical_and_distinguish_joint_stock() -> None:
    assert org_name("华鑫科技股份公司").full == org_name("华鑫科技股份有限公司").full == "华鑫科技股份有限公司"
    assert org_name("华鑫科技股份有限公司").legal_form == "joint_stock"
    assert org_name("华鑫科技有限责任公司").full == org_name("华鑫科技有限公司").full
    assert org_name("华鑫科技公司").legal_form == "company"
    assert org_name("华鑫合伙企业").legal_form == "partnership"


def test_full_width_letters_and_brackets_are_folded() -> None:
    assert org_name("ＡＢＣ（中国）科技有限公司").full == "ABC(中国)科技有限公司"
    assert org_name("ＡＢＣ（中国）科技有限公司").core == org_name("abc科技有限公司").core == "ABC科技"


@pytest.mark.parametrize("hostile", [None, "", " ", "有限公司", "()", "（（（）", "\u200b"])
def test_degenerate_company_names_do_not_fail(hostile: str | None) -> None:
    org = org_name(hostile)
    assert org.core is None or isinstance(org.core, str)


def test_document_numbers_fold_brackets_and_widths() -> None:
    assert normalise_document_no("〔2023〕浙0106执123号") == normalise_document_no("(2023)浙0106执123号")
    assert normalise_document_no("（２０２３）浙0106执123号") == "(2023)浙0106执123号"
    assert normalise_document_no("  ") is None


def test_set_based_preparation_equals_the_pure_functions() -> None:
    names = ["張偉", "Wang Fang", "杭州华鑫科技有限公司", None, "张伟"]
    kinds = ["person", "person", "organisation", "person", "person"]
    frags = FRAGMENTS_SCHEMA.empty_table().to_pydict()
    n = len(names)
    table = pa.table(
        {
            "subject_id": pa.array(range(n), pa.int64()),
            "kind": kinds,
            "name": names,
            "document_nos": pa.nulls(n, pa.list_(pa.string())),
            "sources": pa.nulls(n, pa.list_(pa.string())),
            **{c: pa.nulls(n, FRAGMENTS_SCHEMA.field(c).type) for c in frags},
        }
    )
    rows = prepare_subjects(table).to_pylist()
    for row, name, kind in zip(rows, names, kinds, strict=True):
        if kind == "person":
            expected = person_name(name)
            assert (row["name_hanzi"], row["name_pinyin_tone"], row["name_pinyin_key"]) == (
                expected.hanzi, expected.pinyin_tone, expected.pinyin_key,
            )  # fmt: skip
            assert row["org_core"] is None
        else:
            assert (row["org_full"], row["org_core"], row["org_form"]) == tuple(org_name(name))
            assert row["name_pinyin"] is None
