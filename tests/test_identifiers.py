"""Identifier schemes: validation agrees with python-stdnum, masking hides, hashing is keyed.

`Scheme.check` takes a fast path for plain cn.ric numbers; the property tests hold it, and the
general path, to python-stdnum's own answers on random, near-valid and valid numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import pickle
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import lei
from stdnum.cn import ric, uscc
from stdnum.iso7064 import mod_97_10

from xinyong.domain.identifiers import IdentifierVault, Scheme, _uscc_check_digit, load_scheme_module

RIC = Scheme("cn.ric", "person", True)
USCC = Scheme("cn.uscc", "organisation", False)
LEI = Scheme("lei", "organisation", False)

PROPERTY = settings(
    max_examples=400, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Regions with and without a history: 110101 always existed, 330106 exists from 1983, 110103 until
# 2010, 330108 from 1996; 330113 and 330199 are unknown counties of known prefectures (stdnum
# raised KeyError for them), 999999 is no region at all.
REGIONS = ["110101", "330106", "110103", "330108", "440305", "330100", "110000", "330113", "330199", "999999"]


def ric_number(region: str, birth: str, seq: int) -> str:
    body = f"{region}{birth}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def uscc_number(body: str) -> str:
    return body + uscc.calc_check_digit(body)


def lei_number(body: str) -> str:
    return body + mod_97_10.calc_check_digits(body)


def reference_valid(module: ModuleType, s: str) -> bool:
    """python-stdnum's answer; an unknown county makes cn.ric raise KeyError, which means invalid."""
    try:
        return bool(module.is_valid(s))
    except KeyError:
        return False


def agrees(scheme: Scheme, module: ModuleType, s: str) -> None:
    checked = scheme.check(s)
    expected = reference_valid(module, s)
    assert checked.valid == expected, (s, checked)
    if expected:
        assert checked.compact == module.compact(s)
        assert checked.problem is None
    else:
        assert checked.problem and checked.problem.startswith(scheme.id)


# --- cn.ric examples ---------------------------------------------------------------------------


def test_ric_valid_numbers():
    for number in (
        ric_number("110101", "19900101", 1),
        ric_number("330106", "19830101", 1),
        ric_number("330106", "20001231", 999),
        ric_number("110103", "19650615", 42),
    ):
        checked = RIC.check(number)
        assert checked.valid, number
        assert checked.compact == number


def test_ric_region_before_it_existed_is_invalid():
    number = ric_number("330106", "19800101", 1)
    assert not ric.is_valid(number)
    assert not RIC.check(number).valid


def test_ric_wrong_check_digit():
    number = ric_number("110101", "19900101", 7)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    checked = RIC.check(wrong)
    assert not checked.valid
    assert "check digit" in (checked.problem or "")


def test_ric_wrong_length():
    number = ric_number("110101", "19900101", 7)
    for s in (number[:17], number + "1", "", number[:15]):
        checked = RIC.check(s)
        assert not checked.valid
        assert "length" in (checked.problem or ""), s


def test_ric_letters_are_invalid():
    number = ric_number("110101", "19900101", 7)
    for s in (number[:3] + "A" + number[4:], "ABCDEFGHIJKLMNOPQR", number[:17] + "Y"):
        assert not RIC.check(s).valid, s


@pytest.mark.parametrize("region", ["330113", "330199", "999999"])
@pytest.mark.parametrize("wrap", ["{}", " {} ", "{}\n"])
def test_ric_unknown_region_is_a_clean_invalid_result(region, wrap):
    number = wrap.format(ric_number(region, "19900101", 1))
    checked = RIC.check(number)  # stdnum raised KeyError for 330113: must not escape
    assert not checked.valid
    assert checked.problem


@pytest.mark.parametrize("birth", ["19900230", "19901301", "19900001", "19900132", "00000101"])
def test_ric_impossible_birth_date(birth):
    number = ric_number("110101", birth, 1)
    checked = RIC.check(number)
    assert not checked.valid
    assert "component" in (checked.problem or "")


def test_ric_lowercase_x_check_digit():
    for seq in range(1000):
        number = ric_number("110101", "19900101", seq)
        if number.endswith("X"):
            break
    else:  # pragma: no cover - one in eleven numbers ends in X
        pytest.fail("no number with check character X")
    lower = number[:17] + "x"
    checked = RIC.check(lower)
    assert checked.valid
    assert checked.compact == number
    assert RIC.check(" " + lower + " ").compact == number


def test_garbage_never_raises():
    for s in ("", " ", "\x00" * 18, "\ud800" * 18, "\uff11" * 18, "-" * 18, "😀" * 18, "1" * 1000):
        for scheme in (RIC, USCC, LEI):
            assert not scheme.check(s).valid


# --- property tests: agreement with python-stdnum ------------------------------------------------

birth_dates = st.dates().map(lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}")
valid_rics = st.builds(ric_number, st.sampled_from(REGIONS), birth_dates, st.integers(0, 999))
random_rics = st.one_of(
    st.text(alphabet="0123456789", min_size=18, max_size=18),
    st.text(alphabet="0123456789Xx ", min_size=18, max_size=18),
    st.text(alphabet="0123456789Xx -", min_size=16, max_size=20),
)


def near(base: st.SearchStrategy[str], alphabet: str) -> st.SearchStrategy[str]:
    """Numbers one typing slip away from `base`: one character changed, or two neighbours swapped."""

    def change(args: tuple[str, int, str]) -> str:
        number, pos, new = args
        pos %= len(number)
        return number[:pos] + new + number[pos + 1 :]

    def swap(args: tuple[str, int, str]) -> str:
        number, pos, _ = args
        pos %= len(number) - 1
        return number[:pos] + number[pos + 1] + number[pos] + number[pos + 2 :]

    args = st.tuples(base, st.integers(0, 40), st.sampled_from(alphabet))
    return st.one_of(args.map(change), args.map(swap))


def decorate(base: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Valid numbers as departments send them: lower case, surrounding spaces."""
    return st.one_of(base, base.map(str.lower), base.map(lambda s: f" {s} "), base.map(lambda s: f"{s}\t"))


ric_inputs = st.one_of(random_rics, valid_rics, near(valid_rics, "0123456789X"), decorate(valid_rics))


@PROPERTY
@given(ric_inputs)
def test_ric_agrees_with_stdnum(s):
    agrees(RIC, ric, s)


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
valid_usccs = st.builds(
    lambda head, tail: uscc_number(head + tail),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
)
random_usccs = st.one_of(
    st.text(alphabet="0123456789", min_size=18, max_size=18),
    st.text(alphabet=USCC_ALPHABET + "IOSVZ io-", min_size=17, max_size=19),
)
uscc_inputs = st.one_of(random_usccs, valid_usccs, near(valid_usccs, USCC_ALPHABET + "IO"), decorate(valid_usccs))


@PROPERTY
@given(uscc_inputs)
def test_uscc_agrees_with_stdnum(s):
    agrees(USCC, uscc, s)


@PROPERTY
@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=18))
def test_uscc_check_digit_is_stdnums(number):
    assert _uscc_check_digit(number) == uscc.calc_check_digit(number)


LEI_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
valid_leis = st.text(alphabet=LEI_ALPHABET, min_size=18, max_size=18).map(lei_number)
random_leis = st.one_of(
    st.text(alphabet="0123456789", min_size=20, max_size=20),
    st.text(alphabet=LEI_ALPHABET + "az -", min_size=19, max_size=21),
)
lei_inputs = st.one_of(random_leis, valid_leis, near(valid_leis, LEI_ALPHABET), decorate(valid_leis))


@PROPERTY
@given(lei_inputs)
def test_lei_agrees_with_stdnum(s):
    agrees(LEI, lei, s)


@PROPERTY
@given(st.text(max_size=30))
def test_any_text_gives_an_answer(s):
    for scheme in (RIC, USCC, LEI):
        checked = scheme.check(s)
        assert checked.valid == (checked.problem is None)


# --- masking --------------------------------------------------------------------------------------


def test_ric_mask_keeps_region_and_last_four():
    assert RIC.mask("33010619830101123X") == "330106********123X"
    number = ric_number("110101", "19900101", 5)
    masked = RIC.mask(number)
    assert masked == number[:6] + "*" * 8 + number[-4:]
    assert number[6:14] not in masked


@pytest.mark.parametrize(
    ("compact", "masked"),
    [("ABCDEFGHIJ", "AB******IJ"), ("12345678", "1******8"), ("12345", "1***5"), ("1234", "****"), ("", "")],
)
def test_personal_generic_mask(compact, masked):
    personal = Scheme("cn.uscc", "organisation", True)
    assert personal.mask(compact) == masked
    # a cn.ric value of an unusual length is masked the generic way, never shown
    assert RIC.mask(compact) == masked


def test_non_personal_is_not_masked():
    number = uscc_number("91330106000000001")
    assert USCC.mask(number) == number
    assert LEI.mask("5493001KJTIIGC8Y1R12") == "5493001KJTIIGC8Y1R12"


# --- keyed hashing --------------------------------------------------------------------------------


def test_vault_digest_is_keyed_and_scoped_by_scheme():
    key = bytes(range(32))
    a, b = IdentifierVault(key), IdentifierVault(key)
    number = ric_number("110101", "19900101", 1)
    assert a.digest("cn.ric", number) == b.digest("cn.ric", number)
    assert len(a.digest("cn.ric", number)) == 64
    assert number not in a.digest("cn.ric", number)
    other_key = IdentifierVault(bytes(range(1, 33)))
    assert other_key.digest("cn.ric", number) != a.digest("cn.ric", number)
    assert a.digest("cn.uscc", number) != a.digest("cn.ric", number)
    assert a.digest("cn.ric", number[:17] + "0") != a.digest("cn.ric", number)
    # HMAC-SHA256 of "scheme:number", the same for every call on a vault and for its copy in
    # another process (the keyed state it reuses is rebuilt from the key).
    expected = hmac.new(key, f"cn.ric:{number}".encode(), hashlib.sha256).hexdigest()
    assert [a.digest("cn.ric", number) for _ in range(2)] == [expected, expected]
    assert pickle.loads(pickle.dumps(a)).digest("cn.ric", number) == expected  # noqa: S301 - our own bytes


@settings(max_examples=300, deadline=None)
@given(
    key=st.binary(min_size=32, max_size=200),  # longer than SHA-256's block of 64 too: hashed first
    scheme=st.sampled_from(["cn.ric", "cn.uscc", "gs1.lei"]),
    number=st.text(max_size=40),
)
def test_vault_digest_is_hmac_sha256(key, scheme, number):
    expected = hmac.new(key, f"{scheme}:{number}".encode(), hashlib.sha256).hexdigest()
    assert IdentifierVault(key).digest(scheme, number) == expected


def test_vault_refuses_a_short_key():
    with pytest.raises(ValueError, match="32 bytes"):
        IdentifierVault(b"k" * 31)
    IdentifierVault(b"k" * 32)


# --- scheme modules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["os", "../x", "xx.nothing", "util", "exceptions", "cn.ric.x", "", "CN.RIC", "cn..ric"]
)
def test_load_scheme_module_refuses(name):
    with pytest.raises(ValueError, match=r"scheme|number module"):
        load_scheme_module(name)


def test_load_scheme_module_accepts_stdnum_schemes():
    assert load_scheme_module("cn.ric") is ric
    assert load_scheme_module("lei") is lei


def test_a_catalog_with_its_schemes_built_travels_to_another_process() -> None:
    """Ingestion hands the catalog to worker processes; the schemes it caches must go along."""

    from xinyong.domain.catalog import load_catalog

    catalog = load_catalog()
    schemes = catalog.identifier_schemes
    again = pickle.loads(pickle.dumps(catalog))  # noqa: S301 - our own bytes
    assert [(s.id, s.kind, s.personal) for s in again.identifier_schemes] == [
        (s.id, s.kind, s.personal) for s in schemes
    ]
    uscc = next(s for s in again.identifier_schemes if s.id == "cn.uscc")
    assert uscc.check("91110000600037341L").valid and not uscc.check("91110000600037341M").valid
