"""Identifier fragments: the parts of an identifier, kept as keyed hashes, so a mistyped number can still link.

A record whose resident identity number has one mistyped digit is unresolved, yet most of its
number is right: the region, the birth date and the sequence are three separate facts, and a typo
spoils at most one of them. The store may not keep any of them in plain (principle 8: a birth date
and a region are personal data), so each fragment is kept as a keyed hash under the platform's
identifier key (`IdentifierVault`): equal fragments give equal hashes, and nobody without the key
can tell which birth date a hash stands for, nor test guesses against it.

One more fragment set catches the typo itself: every number one edit away from the written one
(one character changed, two neighbours swapped, one dropped or one added) that passes the scheme's
checksum. ISO 7064 MOD 11-2 (resident numbers) and the MOD 31 check of a USCC catch every single
substitution and adjacent swap, so the true number is always among these "corrections", and only
about one in eleven (or thirty-one) of the edits survives the checksum: some fifteen to twenty per
number. Their keyed hashes are compared with the whole-number hash of each subject.

Fragment hashes are 64-bit integers (the first eight bytes of the HMAC, signed): a fragment's
domain is small (a few thousand regions, some 40,000 birth dates), so collisions are negligible,
and integers keep a million subjects' fragments small and their joins fast on DuckDB and Spark.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache

from xinyong.domain.identifiers import IdentifierVault, Scheme, digest64

RIC, USCC = "cn.ric", "cn.uscc"
_RIC_ALPHABET = "0123456789"
_USCC_FIRST = "123456789ABCDEFGHJKLMNPQRTUWXY"  # registration authorities (GB 32100: 1-9, A-Y)
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass(frozen=True, slots=True)
class Fragments:
    """The keyed hashes of an identifier's fragments; None where the number has no such part.

    Attributes:
        whole: the whole number (compact form).
        region: resident number: the region of issue (1-6); USCC: the registration region (3-8).
        birth: resident number: the birth date (7-14).
        seq: resident number: the sequence within the birth date (15-17).
        check: the check character (18).
        birth_seq: birth date and sequence together (7-17): what survives a typo in the region.
        region_birth: region and birth date (1-14): what survives a typo in the sequence.
        region_seq: region and sequence (1-6, 15-17): what survives a typo in the birth date.
        org_code: USCC: the organisation code (9-17), unique in the country (GB 11714).
        authority: USCC: the registration authority and organisation kind (1-2).
        corrections: the whole-number hashes of every checksum-valid number one edit away.
    """

    whole: int | None = None
    region: int | None = None
    birth: int | None = None
    seq: int | None = None
    check: int | None = None
    birth_seq: int | None = None
    region_birth: int | None = None
    region_seq: int | None = None
    org_code: int | None = None
    authority: int | None = None
    corrections: tuple[int, ...] = ()

    @property
    def any(self) -> bool:
        """Whether the identifier gave anything to compare (a record without one is never high priority)."""
        return self.whole is not None


FRAGMENT_COLUMNS: tuple[str, ...] = tuple(f"id_{f.name}" for f in fields(Fragments) if f.name != "corrections")


def fragment_hash(vault: IdentifierVault, scheme: str, part: str, value: str) -> int:
    """The keyed hash of one fragment, as a signed 64-bit integer.

    The part's name is hashed with the value ("cn.ric#birth:19850312"), so equal digits in two
    different parts (or in a fragment and a whole number) never give equal hashes.
    """
    digest = vault.digest(f"{scheme}#{part}", value)
    return int.from_bytes(bytes.fromhex(digest[:16]), "big", signed=True)


@lru_cache(maxsize=8)
def _scheme(scheme_id: str) -> Scheme:
    return Scheme(scheme_id, "person" if scheme_id == RIC else "organisation", personal=scheme_id == RIC)


def _compact(raw: str) -> str:
    return "".join(raw.split()).upper().replace("-", "")


def one_edit_corrections(scheme_id: str, written: str) -> list[str]:
    """Every number one edit away from `written` that passes the scheme's checksum (sorted, unique).

    Edits are: one character changed, two neighbours swapped, and, for a number one character
    short or long, one character added or dropped. The written number itself is never included.
    """
    scheme = _scheme(scheme_id)
    compact = _compact(written)
    alphabet = _RIC_ALPHABET if scheme_id == RIC else _USCC_ALPHABET
    size = 18 if scheme_id in (RIC, USCC) else len(compact)
    candidates: set[str] = set()
    if len(compact) == size:
        sums = _WEIGHTED.get(scheme_id)
        base = sums(compact) if sums is not None else None
        for i, old in enumerate(compact):
            chars = _position_alphabet(scheme_id, i, alphabet)
            if base is not None:  # only the characters that keep the check character right
                chars = _sound_at(scheme_id, compact, base, i, chars)
            candidates.update(compact[:i] + c + compact[i + 1 :] for c in chars if c != old)
        swaps = range(size - 1) if base is None else _sound_swaps(scheme_id, compact, base)
        candidates.update(compact[:i] + compact[i + 1] + compact[i] + compact[i + 2 :] for i in swaps)
    elif len(compact) == size - 1:
        for i in range(size):
            candidates.update(compact[:i] + c + compact[i:] for c in _position_alphabet(scheme_id, i, alphabet))
    elif len(compact) == size + 1:
        candidates.update(compact[:i] + compact[i + 1 :] for i in range(len(compact)))
    candidates.discard(compact)
    return sorted(c for c in candidates if scheme.check(c).valid)


# One character changed: the check character of the result follows from the written number's
# weighted sum in one step, so only the few changes that keep it right go to the full check
# (region, birth date, python-stdnum). Resident numbers: ISO 7064 MOD 11-2 (GB 11643); credit
# codes: modulo 31 over their alphabet (GB 32100).
_RIC_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_RIC_CHECK = "10X98765432"
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {c: i for i, c in enumerate(_USCC_CHARS)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def _ric_sum(number: str) -> int | None:
    if not number[:17].isdigit() or not number[:17].isascii():
        return None
    return sum(int(d) * w for d, w in zip(number, _RIC_WEIGHTS, strict=False))


def _uscc_sum(number: str) -> int | None:
    if any(c not in _USCC_VALUES for c in number[:17]):
        return None
    return sum(_USCC_VALUES[c] * w for c, w in zip(number, _USCC_WEIGHTS, strict=False))


_WEIGHTED = {RIC: _ric_sum, USCC: _uscc_sum}


def _sound_at(scheme_id: str, number: str, base: int, i: int, chars: str) -> str:
    """The characters of `chars` that, put at position `i` of `number` (whose first 17 characters
    weigh `base`), give a number with the right check character: at most one, solved for.

    The check character fixes the weighted sum modulo 11 (resident numbers) or 31 (credit codes),
    and every weight is invertible modulo that prime, so one value at position `i` fits."""
    if scheme_id == RIC:
        if i == 17:
            return _RIC_CHECK[base % 11]
        want = _RIC_CHECK.find(number[17])
        if want < 0:
            return ""
        value = (want - base + int(number[i]) * _RIC_WEIGHTS[i]) * _RIC_INVERSES[i] % 11
        digit = str(value) if value < 10 else ""
        return digit if digit and digit in chars else ""
    if i == 17:
        return _USCC_CHARS[(31 - base % 31) % 31]
    check = _USCC_VALUES.get(number[17])
    if check is None:
        return ""
    want = (31 - check) % 31  # the sum modulo 31 that gives this check character
    value = (want - base + _USCC_VALUES[number[i]] * _USCC_WEIGHTS[i]) * _USCC_INVERSES[i] % 31
    char = _USCC_CHARS[value]
    return char if char in chars else ""


def _sound_swaps(scheme_id: str, number: str, base: int) -> list[int]:
    """The positions i where swapping characters i and i+1 of `number` (whose first 17 characters
    weigh `base`) gives a number with the right check character: a swap changes the sum by the
    difference of the two values times the difference of their weights."""
    ric = scheme_id == RIC
    weights, check = (_RIC_WEIGHTS, _ric_check_of) if ric else (_USCC_WEIGHTS, _uscc_check_of)
    values = [int(c) for c in number[:17]] if ric else [_USCC_VALUES[c] for c in number[:17]]
    out = [
        i for i in range(16) if check(base + (values[i + 1] - values[i]) * (weights[i] - weights[i + 1])) == number[17]
    ]
    # The check character moved into the 17th place, and the 17th becomes the check character.
    last = (int(number[17]) if number[17].isdigit() else None) if ric else _USCC_VALUES.get(number[17])
    if last is not None and check(base + (last - values[16]) * weights[16]) == number[16]:
        out.append(16)
    return out


def _ric_check_of(total: int) -> str:
    return _RIC_CHECK[total % 11]


def _uscc_check_of(total: int) -> str:
    return _USCC_CHARS[(31 - total % 31) % 31]


_RIC_INVERSES = tuple(pow(w, -1, 11) for w in _RIC_WEIGHTS)
_USCC_INVERSES = tuple(pow(w, -1, 31) for w in _USCC_WEIGHTS)


def _position_alphabet(scheme_id: str, i: int, alphabet: str) -> str:
    if scheme_id == RIC and i == 17:
        return alphabet + "X"
    if scheme_id == USCC and i == 0:
        return _USCC_FIRST
    if scheme_id == USCC and 2 <= i <= 7:
        return _RIC_ALPHABET  # the region is a division code: digits only
    return alphabet


def fragments(vault: IdentifierVault, scheme_id: str | None, raw: str | None, *, corrections: bool = True) -> Fragments:
    """The keyed hashes of every fragment of `raw` read under `scheme_id` (cn.ric, cn.uscc, or another).

    A valid number gives its parts and no corrections (it links by itself); an invalid one gives
    the parts it still has (when it has the scheme's length) and its one-edit corrections. A
    missing number, or one without a scheme, gives no fragment at all.
    """
    if raw is None or scheme_id is None:
        return Fragments()
    compact = _compact(raw)
    if not compact:
        return Fragments()
    checked = _scheme(scheme_id).check(compact)

    def h(part: str, value: str) -> int:
        return fragment_hash(vault, scheme_id, part, value)

    whole = h("whole", checked.compact)
    edits = () if checked.valid or not corrections else one_edit_corrections(scheme_id, compact)
    corrected = tuple(h("whole", c) for c in edits)
    if len(compact) != 18 or not compact.isalnum():
        return Fragments(whole=whole, corrections=corrected)
    if scheme_id == RIC:
        region, birth, seq = compact[:6], compact[6:14], compact[14:17]
        return Fragments(
            whole=whole, region=h("region", region), birth=h("birth", birth), seq=h("seq", seq),
            check=h("check", compact[17]), birth_seq=h("birth_seq", birth + seq),
            region_birth=h("region_birth", region + birth), region_seq=h("region_seq", region + seq),
            corrections=corrected,
        )  # fmt: skip
    if scheme_id == USCC:
        return Fragments(
            whole=whole, authority=h("authority", compact[:2]), region=h("region", compact[2:8]),
            org_code=h("org_code", compact[8:17]), check=h("check", compact[17]), corrections=corrected,
        )  # fmt: skip
    return Fragments(whole=whole, corrections=corrected)


def stored_fragments(vault: IdentifierVault, scheme_id: str, written: str) -> dict[str, object]:
    """The fragments the store keeps for an unresolved record's number, as a row of `link_fragments`.

    The parts are those of `fragments`; the whole number and its corrections are hashed the way
    the store hashes identifiers (`vault.digest`), so they compare directly with every subject's
    stored identifier hash (`identifiers.digest64`) without any subject's number in hand.
    """
    f = fragments(vault, scheme_id, written, corrections=False)  # its own corrections are hashed below
    compact = _compact(written)
    row: dict[str, object] = {c: getattr(f, c[3:]) for c in FRAGMENT_COLUMNS}
    row["id_whole"] = digest64(vault.digest(scheme_id, compact)) if compact else None
    valid = bool(compact) and _scheme(scheme_id).check(compact).valid
    corrections = [] if valid or not compact else one_edit_corrections(scheme_id, compact)
    row["id_corrections"] = sorted({digest64(vault.digest(scheme_id, c)) for c in corrections})
    return row
