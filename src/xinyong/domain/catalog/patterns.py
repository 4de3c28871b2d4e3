"""Principle 8: a string attribute's `pattern` closes its content, or it is free text after all.

`max_length: 60` bounds a text's length, not what it says; `pattern: '.{1,60}'` is no better. A
pattern is tight when it matches no arbitrary character (no `.`, no negated class, no `\\w`, `\\s`,
`\\S`, `\\W` or `\\D`), repeats nothing without bound, and leaves at most floors.FREE_LETTERS_MAX
characters to letter classes; literal text is fixed by the catalog and does not count, nor do
numerals, Chinese ones included.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from typing import Any

from xinyong.domain.catalog.floors import FREE_LETTERS_MAX

# The standard library's own regular-expression parser: the only complete reading of Python's
# syntax, so no construct slips past a hand-written scanner. It is private, hence untyped.
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")


class _Loose(Exception):
    """The pattern admits free text; the message says which construct does."""


def _is_letter(char: str) -> bool:
    """A character that can spell words: a letter that is not a numeral (一 and 百 are
    letters to Python, but a class of numerals writes numbers, as departments do in 第一百条)."""
    return char.isalpha() and unicodedata.numeric(char, None) is None


def _letter_in(lo: int, hi: int) -> bool:
    return any(_is_letter(chr(code)) for code in range(lo, hi + 1))


def _class_letters(items: list[tuple[Any, Any]]) -> int:
    letters = 0
    for op, av in items:
        if op is _c.NEGATE:
            raise _Loose("a negated class [^...] matches almost anything")
        if op is _c.CATEGORY:
            if av is not _c.CATEGORY_DIGIT:
                raise _Loose("\\w, \\s, \\S, \\W and \\D match free text; list the characters allowed")
        elif op is _c.LITERAL:
            letters = max(letters, int(_is_letter(chr(av))))
        elif op is _c.RANGE:
            letters = max(letters, int(_letter_in(av[0], av[1])))
    return letters


def _letters(tree: Any) -> int:
    """The most characters `tree` may take from letter classes; raises _Loose for free text."""
    total = 0
    for op, av in tree:
        if op is _c.LITERAL or op is _c.AT or op is _c.ASSERT or op is _c.ASSERT_NOT:
            continue
        if op is _c.ANY:
            raise _Loose("'.' matches any character")
        if op is _c.NOT_LITERAL:
            raise _Loose("a negated class [^...] matches almost anything")
        if op is _c.IN:
            total += _class_letters(av)
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            _low, high, body = av
            if high is _c.MAXREPEAT or high == _c.MAXREPEAT:
                raise _Loose("a repetition without bound (*, + or {n,}); give it a maximum")
            total += high * _letters(body)
        elif op is _c.SUBPATTERN or op is _c.ATOMIC_GROUP:
            total += _letters(av[-1] if op is _c.SUBPATTERN else av)
        elif op is _c.BRANCH:
            total += max(_letters(alt) for alt in av[1])
        else:
            raise _Loose(f"the construct {str(op).lower()} is not allowed in an attribute pattern")
    return total


def looseness(pattern: str) -> str | None:
    """Why `pattern` lets free text through, or None when it is tight."""
    try:
        tree = _parser.parse(pattern)
    except re.error as exc:
        return f"does not compile ({exc})"
    try:
        letters = _letters(tree)
    except _Loose as exc:
        return str(exc)
    if letters > FREE_LETTERS_MAX:
        return f"leaves {letters} characters to letter classes (at most {FREE_LETTERS_MAX}): it can spell words"
    return None
