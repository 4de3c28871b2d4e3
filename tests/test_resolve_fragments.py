"""Identifier fragments: a mistyped number keeps its other parts, and no part is ever stored in plain."""

from __future__ import annotations

import importlib
import random
from datetime import date

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from builders import make_ric as ric_of
from builders import make_uscc as uscc_of
from xinyong.demo.population import make_ric, make_uscc, mistype
from xinyong.domain.identifiers import IdentifierVault
from xinyong.resolve.features import prepare_records
from xinyong.resolve.fragment_tables import fragments_table
from xinyong.resolve.fragments import fragment_hash, fragments, one_edit_corrections

NUMBER = "330106198503121231"  # checksum-valid (ISO 7064 MOD 11-2)
USCC = "91330106MA2H1B2C3D"


def _valid_ric(rng: random.Random) -> str:
    born = date.fromordinal(rng.randint(date(1940, 1, 1).toordinal(), date(2005, 12, 31).toordinal()))
    return make_ric(rng, rng.choice(["330102", "330106", "330109"]), born, rng.random() < 0.5, set())


def test_the_test_numbers_are_valid() -> None:
    assert ric.is_valid(NUMBER)
    assert uscc.is_valid(make_uscc(random.Random(1), "330106", date(2020, 1, 1), set()))


def test_a_mistyped_digit_keeps_region_and_birth_fragments(vault: IdentifierVault) -> None:
    right = fragments(vault, "cn.ric", NUMBER)
    typo = NUMBER[:15] + ("7" if NUMBER[15] != "7" else "8") + NUMBER[16:]  # a digit of the sequence
    assert not ric.is_valid(typo)
    wrong = fragments(vault, "cn.ric", typo)
    assert wrong.region == right.region
    assert wrong.birth == right.birth
    assert wrong.region_birth == right.region_birth
    assert wrong.seq != right.seq
    assert wrong.whole != right.whole
    assert right.whole in wrong.corrections  # the one-edit corrections find the true number


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_every_single_typo_has_the_true_number_among_its_corrections(seed: int) -> None:
    rng = random.Random(seed)
    number = _valid_ric(rng)
    typo = mistype(rng, number, ric.is_valid)
    assert number in one_edit_corrections("cn.ric", typo)
    assert typo not in one_edit_corrections("cn.ric", typo)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_a_mistyped_uscc_is_corrected_and_keeps_most_parts(seed: int) -> None:
    rng = random.Random(seed)
    number = make_uscc(rng, "330106", date(2020, 1, 1), set())
    typo = mistype(rng, number, uscc.is_valid)
    assert number in one_edit_corrections("cn.uscc", typo)


def test_a_dropped_or_added_digit_is_corrected_too() -> None:
    assert NUMBER in one_edit_corrections("cn.ric", NUMBER[:7] + NUMBER[8:])
    assert NUMBER in one_edit_corrections("cn.ric", NUMBER[:7] + "5" + NUMBER[7:])


def test_fragments_depend_on_the_key(vault: IdentifierVault) -> None:
    other = IdentifierVault(b"\x01" * 32)
    assert fragments(vault, "cn.ric", NUMBER).birth != fragments(other, "cn.ric", NUMBER).birth


def test_parts_are_separated_by_domain(vault: IdentifierVault) -> None:
    # The same eight digits as a birth date and as a region-and-sequence must not collide.
    assert fragment_hash(vault, "cn.ric", "birth", "19850312") != fragment_hash(vault, "cn.ric", "seq", "19850312")
    assert fragment_hash(vault, "cn.ric", "whole", NUMBER) != fragment_hash(vault, "cn.uscc", "whole", NUMBER)


@pytest.mark.parametrize("raw", [None, "", "   ", "abc", "1" * 200, "３３０１０６", "'; DROP TABLE x; --", "\x00"])
def test_unusable_numbers_give_no_parts_and_no_error(vault: IdentifierVault, raw: str | None) -> None:
    frags = fragments(vault, "cn.ric", raw)
    assert frags.birth is None and frags.region is None
    assert (frags.whole is None) == (raw is None or not raw.strip())


def test_no_scheme_means_no_fragment(vault: IdentifierVault) -> None:
    assert not fragments(vault, None, NUMBER).any


def test_the_table_form_equals_the_pure_function_and_checks_lengths(vault: IdentifierVault) -> None:
    numbers = [NUMBER, None, NUMBER[:-1] + "1", USCC]
    schemes = ["cn.ric", "cn.ric", "cn.ric", "cn.uscc"]
    table = fragments_table(vault, schemes, numbers)
    for row, scheme, number in zip(table.to_pylist(), schemes, numbers, strict=True):
        frags = fragments(vault, scheme, number)
        assert row["id_whole"] == frags.whole and row["id_birth"] == frags.birth
        assert row["id_corrections"] == list(frags.corrections)
    with pytest.raises(ValueError, match="2 schemes for 1 numbers"):
        fragments_table(vault, ["cn.ric", "cn.ric"], [NUMBER])


def test_no_plain_fragment_appears_in_any_output(vault: IdentifierVault) -> None:
    numbers = [NUMBER, NUMBER[:15] + "9" + NUMBER[16:], NUMBER[:7] + NUMBER[8:]]
    frags = fragments_table(vault, ["cn.ric"] * 3, numbers)
    records = pa.table(
        {
            "record_key": ["a", "b", "c"],
            "kind": ["person"] * 3,
            "name": ["张伟"] * 3,
            "document_nos": pa.nulls(3, pa.list_(pa.string())),
            "source": ["court"] * 3,
        }
    )
    records = pa.Table.from_arrays(records.columns + frags.columns, names=records.column_names + frags.column_names)
    text = str(frags.to_pydict()) + str(prepare_records(records).to_pydict())
    # Region, birth date and their combinations: six digits or more, never found in a hash by chance here.
    secrets = {NUMBER[:6], NUMBER[6:14], NUMBER[6:17], NUMBER[:14], NUMBER[:6] + NUMBER[14:17]}
    for secret in secrets:
        assert secret not in text, f"plain fragment {secret} in output"


def test_corrections_found_from_the_weighted_sum_are_those_the_full_check_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The one-step check-character shortcut for changed characters drops no correction and adds
    none: every typo of generated numbers, of each kind of edit, gives the same corrections with
    and without it."""
    frag = importlib.import_module("xinyong.resolve.fragments")
    rng = random.Random(7)
    typos = []
    for n in range(1, 120):
        for scheme, number in (("cn.ric", ric_of(n)), ("cn.uscc", uscc_of(n))):
            i = rng.randrange(18)
            typos += [(scheme, number[:i] + rng.choice("0123456789AX") + number[i + 1 :]), (scheme, number)]
            typos.append((scheme, number[:5] + "X" + number[6:]))  # not all digits: the generic path
            typos.append((scheme, number[:i] + number[i + 1 :]))  # one dropped: candidates by insertion
            typos.append((scheme, number[:i] + rng.choice("0123456789") + number[i:]))  # one added
            typos.append((scheme, number[:i] + number[i + 1 : i + 2] + number[i] + number[i + 2 :]))  # swapped
    for n in range(1, 12):  # every swap, the check character's too
        for scheme, number in (("cn.ric", ric_of(n)), ("cn.uscc", uscc_of(n))):
            typos += [(scheme, number[:i] + number[i + 1] + number[i] + number[i + 2 :]) for i in range(17)]
    fast = [frag.one_edit_corrections(s, t) for s, t in typos]
    monkeypatch.setattr(frag, "_WEIGHTED", {})
    assert fast == [frag.one_edit_corrections(s, t) for s, t in typos]
    assert sum(map(len, fast)) > len(typos)  # corrections were found, not only agreed on emptiness
