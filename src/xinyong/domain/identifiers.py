"""Identifier schemes: validation by python-stdnum, keyed hashing and masking.

Personal identifiers are never stored raw (principle 8). What the store keeps is an HMAC-SHA256
of the compact form under a key only the platform holds, plus a mask that lets a person recognise
their own number without revealing it.
"""

from __future__ import annotations

import hashlib
import importlib
import operator
import re
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from types import ModuleType
from typing import Literal, NamedTuple

from stdnum.cn import ric as _cn_ric
from stdnum.cn import uscc as _cn_uscc
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

SubjectKind = Literal["person", "organisation"]

_SCHEME_RE = re.compile(r"^[a-z]{2,10}(\.[a-z]{2,10})?$")


def load_scheme_module(scheme: str) -> ModuleType:
    """Return the python-stdnum module that implements `scheme` (e.g. ``cn.ric``, ``lei``).

    Raises:
        ValueError: the name is not a python-stdnum number module.
    """
    if not _SCHEME_RE.match(scheme):
        message = f"'{scheme}' is not a python-stdnum scheme name (expected e.g. 'cn.ric' or 'lei')"
        raise ValueError(message)
    try:
        module = importlib.import_module(f"stdnum.{scheme}")
    except ImportError:
        raise ValueError(f"python-stdnum has no scheme '{scheme}'") from None
    if not callable(getattr(module, "validate", None)) or not callable(getattr(module, "compact", None)):
        message = f"'stdnum.{scheme}' is not a number module with validate() and compact()"
        raise ValueError(message)  # noqa: TRY004 - a module that is not a number module is a bad value
    return module


class Checked(NamedTuple):
    """Outcome of checking one identifier: its compact form, and why it is invalid if it is.

    A named tuple: hundreds of thousands are made while a large file is ingested.
    """

    compact: str
    problem: str | None

    @property
    def valid(self) -> bool:
        return self.problem is None


def _explain(exc: ValidationError) -> str:
    if isinstance(exc, InvalidChecksum):
        return "check digit does not match (mistyped number?)"
    if isinstance(exc, InvalidLength):
        return "wrong length"
    if isinstance(exc, InvalidFormat):
        return "wrong format"
    if isinstance(exc, InvalidComponent):
        return "a component is not valid (e.g. region code or birth date)"
    return "not a valid number"


def _ric_fast(number: str) -> Checked | None:
    """cn.ric validation for the common case, composed from python-stdnum's own functions.

    `stdnum.cn.ric.validate` spends most of its time normalising Unicode (four times) and looking
    up the region in its database. For an 18-character ASCII number the normalisation is the
    identity, and a region is valid or not for a whole birth year, so we call stdnum's check
    digit and region lookup directly and remember the region answer. Anything unusual returns
    None and goes through `validate` itself; a property test holds the two to the same answers.
    """
    if len(number) != 18 or not number.isascii() or not number[:17].isdigit():
        return None
    number = number.upper()
    if number[17] != _cn_ric.calc_check_digit(number):
        return Checked(number, "cn.ric check digit does not match (mistyped number?)")
    try:
        year = date(int(number[6:10]), int(number[10:12]), int(number[12:14])).year
    except ValueError:
        return Checked(number, "cn.ric a component is not valid (e.g. region code or birth date)")
    if not _ric_region_valid(number[:6], year):
        return Checked(number, "cn.ric a component is not valid (e.g. region code or birth date)")
    return Checked(number, None)


def _uscc_check_digit(compact: str) -> str:
    """stdnum.cn.uscc.calc_check_digit of a number already compact and in its alphabet."""
    total = sum(map(operator.mul, map(_USCC_VALUE.__getitem__, compact[:17]), _USCC_WEIGHTS))
    return _cn_uscc._alphabet[(31 - total) % 31]


def _uscc_fast(number: str) -> Checked | None:
    """cn.uscc validation for the common case, composed from python-stdnum's own functions.

    `stdnum.cn.uscc.validate` compacts the number twice (once itself, once in its check digit),
    and compacting, character by character, is nearly all of its time. A number that is already
    compact (18 ASCII digits and capital letters, nothing to strip or map) is left as it is by
    compacting, so we make validate's format checks and compute stdnum's check digit sum over
    the number as it is (a sixth of the time of calc_check_digit). Anything else returns None
    and goes through `validate` itself; property tests hold the two to the same answers, and
    the check digit to calc_check_digit's.
    """
    if len(number) != 18 or not number.isascii() or not number.isalnum() or number.upper() != number:
        return None
    if not number[:8].isdigit() or not _USCC_ALPHABET.issuperset(number[8:]):
        return Checked(number, "cn.uscc wrong format")
    if number[17] != _uscc_check_digit(number):
        return Checked(number, "cn.uscc check digit does not match (mistyped number?)")
    return Checked(number, None)


_USCC_ALPHABET = frozenset(_cn_uscc._alphabet)  # the characters stdnum's validate accepts after the 8th
# stdnum.cn.uscc.calc_check_digit's weights and the value of each character of its alphabet: the
# same sum, without the compact() that function starts with (see _uscc_fast).
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUE = {c: i for i, c in enumerate(_cn_uscc._alphabet)}
_FAST = {"cn.ric": _ric_fast, "cn.uscc": _uscc_fast}


@lru_cache(maxsize=1 << 14)
def _ric_region_valid(region: str, year: int) -> bool:
    try:
        _cn_ric.get_birth_place(f"{region}{year:04d}0101")
    except (ValidationError, KeyError):  # stdnum raises KeyError for a county it does not know
        return False
    return True


class Scheme:
    """One identifier scheme: how to validate, normalise, hash and mask its numbers."""

    def __init__(self, scheme_id: str, kind: SubjectKind, personal: bool) -> None:
        self.id = scheme_id
        self.kind: SubjectKind = kind
        self.personal = personal
        self._module = load_scheme_module(scheme_id)
        self._fast = _FAST.get(scheme_id)

    def __reduce__(self) -> tuple[type[Scheme], tuple[str, SubjectKind, bool]]:
        # Rebuilt from its arguments: it holds a module, which does not pickle (catalogs travel
        # to worker processes with the schemes they have built).
        return (Scheme, (self.id, self.kind, self.personal))

    def check(self, raw: str) -> Checked:
        if self._fast is not None:
            fast = self._fast(raw)
            if fast is not None:
                return fast
        # validate() first: most numbers are valid, and then the compact form is what it returns
        # (compacting is the slow part of python-stdnum, so it is done once, not twice).
        try:
            return Checked(str(self._module.validate(raw)), None)
        except ValidationError as exc:
            problem = f"{self.id} {_explain(exc)}"
        except (KeyError, ValueError, TypeError, IndexError):
            # python-stdnum lets some lookups fail with these (e.g. cn.ric with an unknown county).
            problem = f"{self.id} {_explain(ValidationError())}"
        try:
            compact = str(self._module.compact(raw))
        except Exception:  # noqa: BLE001 - stdnum raises various errors on garbage; all mean "invalid"
            compact = re.sub(r"\s", "", raw).upper()
        return Checked(compact, problem)

    def mask(self, compact: str) -> str:
        """A form that lets the holder recognise the number without disclosing it."""
        if not self.personal:
            return compact
        n = len(compact)
        if self.id == "cn.ric" and n == 18:
            return compact[:6] + "*" * 8 + compact[-4:]
        if n <= 4:
            return "*" * n
        keep = 2 if n > 8 else 1
        return compact[:keep] + "*" * (n - 2 * keep) + compact[-keep:]


class Reading(NamedTuple):
    """A number read under one scheme: the scheme and the number's compact form."""

    scheme: Scheme
    compact: str


def readings(schemes: Iterable[Scheme], raw: str) -> tuple[list[Reading], list[str]]:
    """Every scheme under which `raw` is a checksum-valid number, and why each other one refused it."""
    valid, problems = [], []
    for scheme in schemes:
        checked = scheme.check(raw)
        if checked.valid:
            valid.append(Reading(scheme, checked.compact))
        else:
            problems.append(str(checked.problem))
    return valid, problems


_SHA256_BLOCK = 64  # bytes: SHA-256's block, the size of an HMAC key's padded form
_IPAD = bytes(x ^ 0x36 for x in range(256))  # RFC 2104's inner and outer pads, as byte translations
_OPAD = bytes(x ^ 0x5C for x in range(256))


class IdentifierVault:
    """Keyed hashing of identifiers: equal numbers give equal hashes only under the same key.

    HMAC-SHA256 (RFC 2104), keyed once: the key's inner and outer padded blocks are hashed when
    the vault is made, and each digest continues copies of those two SHA-256 states, as the
    `hmac` module's own fallback does. Ingestion hashes every distinct identifier of a file and
    some twenty fragments of each mistyped one; continuing a copied `hmac` object took nearly
    twice as long (1.6 us a number against 0.9), its time in the Python wrapper around the
    states. A test holds every digest to `hmac.new`'s.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the identifier hashing key must be at least 32 bytes")
        self._key = key
        block = (hashlib.sha256(key).digest() if len(key) > _SHA256_BLOCK else key).ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(block.translate(_IPAD))
        self._outer = hashlib.sha256(block.translate(_OPAD))

    def __reduce__(self) -> tuple[type[IdentifierVault], tuple[bytes]]:
        return (type(self), (self._key,))  # hash states do not pickle; the key does

    def digest(self, scheme: str, compact: str) -> str:
        inner = self._inner.copy()
        inner.update(f"{scheme}:{compact}".encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def digest64(value_hash: str) -> int:
    """A keyed identifier hash (`IdentifierVault.digest`, hex) cut to a signed 64-bit integer: how
    match review compares a subject's stored identifier with an unresolved record's corrections."""
    return int.from_bytes(bytes.fromhex(value_hash[:16]), "big", signed=True)
