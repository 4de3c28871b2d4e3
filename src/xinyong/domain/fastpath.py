"""The row validator's fast path: a chunk of rows in the common form, checked column by column.

A department file repeats the same few values in most of its columns (one record type, a few
hundred dates, a handful of enumerated attributes, the same subjects again and again), and the
values of one column are all checked the same way. So the fast path works on a chunk's columns:
a column's distinct values are checked once (dates and revisions are remembered across chunks),
whole columns of text are checked with a few calls that run in C, and rows are assembled with
`map` and `zip`. A row costs a small fraction of what a per-row check does in Python, which is
what lets ingestion keep pace with the store.

The fast path never explains: any row it is not sure about is marked for the general path, which
accepts every form the platform accepts and names each problem. The two must agree on every row
the fast path accepts (property tests in tests/test_validation.py hold them to it, row by row
and in chunks).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from itertools import repeat
from typing import TYPE_CHECKING, Any
from unicodedata import is_normalized

from xinyong.domain.rows import TypePlan, ValidRow
from xinyong.domain.values import FastAttr, clean_text, fast_value, iso_date

if TYPE_CHECKING:
    from xinyong.domain.identifiers import Scheme
    from xinyong.domain.records import RowValidator

MAX_REVISION = 1_000_000
CACHE_LIMIT = 1 << 16  # entries per remembered mapping before it starts again
# Whole columns of plain numbers, one per line: what fast_value accepts, ASCII digits only.
_DECIMALS = re.compile(r"(?:[0-9]{1,14}(?:\.[0-9]{0,2})?\n)*")
_INTEGERS = re.compile(r"(?:[0-9]{1,15}\n)*")
_PLAIN = frozenset((str, type(None)))
_EMPTY = frozenset((None, ""))
Column = list[Any]


def _remember(cache: dict[Any, Any], key: object, value: Any) -> Any:
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _texts(col: Column, limit: int, bad: set[int]) -> Column:
    """Optional text: "" becomes None; a value that is not clean (see clean_text) marks its row."""
    values = [v for v in col if v] if ("" in col or None in col) else col
    if values and (
        max(map(len, values)) > limit
        or not "".join(values).isprintable()
        or list(map(str.strip, values)) != values  # no leading or trailing white space
    ):
        bad.update(i for i, v in enumerate(col) if v and not clean_text(v, limit))
    return [v or None for v in col] if values is not col else col


def _after(col: Column, limit: str, bad: set[int], *, empty_too: bool = False) -> None:
    """Mark the rows whose ISO date is after `limit` (and, if `empty_too`, those without one)."""
    wrong = {v for v in set(col) if (v is not None and v != "" and v > limit) or (empty_too and v == "")}
    if wrong:
        bad.update(i for i, v in enumerate(col) if v in wrong)


def _not_after(ends: Column, starts: Column, bad: set[int]) -> None:
    """Mark the rows whose end date is not after their start date."""
    if None in ends or None in starts:
        bad.update(i for i, (e, s) in enumerate(zip(ends, starts, strict=True)) if e is not None and s and e <= s)
    elif True in (flags := list(map(operator.le, ends, starts))):
        bad.update(i for i, f in enumerate(flags) if f)


def _encoded(a: FastAttr, values: Column) -> list[str] | None:
    """The JSON values of a whole column of one attribute (no empties), or None if not sure of all.

    Agrees with `fast_value` value by value, but checks the column with a few calls that run in
    C. A value holding a line break would split in the joined text: the count of lines finds it.
    """
    if a.type == "string":
        joined = "".join(values)
        if (
            not joined.isprintable()
            or '"' in joined
            or "\\" in joined
            or list(map(str.strip, values)) != values
            or (a.max_length is not None and max(map(len, values)) > a.max_length)
            or (
                a.pattern is not None
                and (not is_normalized("NFKC", joined) or None in map(a.pattern.fullmatch, values))
            )
        ):
            return None
        return list(map('"%s"'.__mod__, values))
    form = {"decimal": _DECIMALS, "integer": _INTEGERS}.get(a.type)
    lines = "\n".join(values) + "\n"
    if form is None or lines.count("\n") != len(values) or not form.fullmatch(lines):
        return None
    numbers: list[float] | list[int] = list(map(float, values)) if a.type == "decimal" else list(map(int, values))
    if (a.minimum is not None and min(numbers) < a.minimum) or (a.maximum is not None and max(numbers) > a.maximum):
        return None
    return list(map(repr, numbers))


def _mapped(col: Column, lookup: Callable[[Any], Any], bad: set[int]) -> Column:
    """Each value through `lookup`, once per distinct value; None from `lookup` marks the row."""
    table = {v: lookup(v) for v in set(col)}
    if None in table.values():
        bad.update(i for i, v in enumerate(col) if table[v] is None)
    return list(map(table.__getitem__, col))


class FastPath:
    """The fast path of one `RowValidator`, with what it remembers (valid for that validator's day)."""

    def __init__(self, validator: RowValidator) -> None:

        self._v = validator
        self._today = validator.today.isoformat()
        self._dates: dict[str, str] = {}  # text -> ISO date, or "" when not a date in ISO form
        self._revisions: dict[str, int] = {}  # text -> revision, or 0 when not a plain revision
        self._schemes: dict[tuple[str, str | None], Scheme | None] = {}
        self._names: dict[str | None, str | None] = {}  # one object per name: sent and encoded once per chunk
        self._members: dict[tuple[str, str], dict[str, str]] = {}  # (type, attribute) -> text -> JSON member
        self._make: Callable[[tuple[Any, ...]], ValidRow] = partial(tuple.__new__, ValidRow)

    # --- distinct values ----------------------------------------------------------------------

    def _date(self, raw: str | None) -> str | None:
        """ISO form of a date in ISO form, "" for an empty value, None when not sure."""
        if raw is None or raw == "":
            return ""
        iso = self._dates.get(raw)
        if iso is None:
            d = iso_date(raw)
            iso = _remember(self._dates, raw, d.isoformat() if d is not None else "")
        return iso or None

    def _revision(self, raw: str | None) -> int | None:
        if raw is None or raw == "":
            return 1
        rev = self._revisions.get(raw)
        if rev is None:
            ok = raw.isascii() and raw.isdigit() and len(raw) <= 7 and raw[0] != "0" and int(raw) <= MAX_REVISION
            rev = _remember(self._revisions, raw, int(raw) if ok else 0)
        return rev or None

    def _scheme(self, plan: TypePlan, raw: str | None) -> Scheme | None:
        """The scheme a row names (or its type's default), if clean, known and of the type's kinds."""
        key = (plan.rt.id, raw)
        if key in self._schemes:
            return self._schemes[key]
        scheme = None
        if raw is None or raw == "" or clean_text(raw, 32):
            scheme = self._v.schemes.get(raw or plan.default_scheme or "")
        if scheme is not None and scheme.kind not in plan.rt.subject_kinds:
            scheme = None
        return _remember(self._schemes, key, scheme)  # type: ignore[no-any-return]

    def _attribute(self, type_id: str, a: FastAttr, col: Column, bad: set[int]) -> Column:
        """Each value's `"name":value` member of the canonical JSON; "" when empty and optional."""
        values = [v for v in col if v] if ("" in col or None in col) else col
        if len(values) < len(col) and a.required:
            bad.update(i for i, v in enumerate(col) if not v)
        if not values:
            return [""] * len(col)
        encoded = None if a.enum is not None else _encoded(a, values)
        if encoded is None:  # values of few kinds (enumerations, dates), or a column it is not sure of
            cache = self._members.setdefault((type_id, a.name), {}) if a.enum is not None else {}
            prefix = f'"{a.name}":'

            def lookup(v: str | None) -> str | None:
                if v is None or v == "":
                    return None if a.required else ""
                part = cache.get(v)
                if part is None:
                    value = fast_value(a, v)
                    part = _remember(cache, v, "" if value is None else prefix + value)
                return part or None

            return _mapped(col, lookup, bad)
        members = list(map(f'"{a.name}":%s'.__mod__, encoded))
        if values is col:
            return members
        it = iter(members)
        return [next(it) if v else "" for v in col]

    # --- chunks -------------------------------------------------------------------------------

    def rows(
        self, lines: Sequence[int], columns: Mapping[str, Sequence[Any]], *, text_only: bool = False
    ) -> list[ValidRow | None]:
        """For each row of a chunk, its ValidRow, or None where the general path must decide.

        `columns` maps a column name to its values, one per line; a column that is not there is
        empty in every row, and a column the source does not know is not looked at. `text_only`
        says every value is a str (as a CSV reader gives them), so types need no checking.
        """
        n = len(lines)
        bad: set[int] = set()
        cols: dict[str, Column] = {}
        for name in self._v.allowed_columns.intersection(columns):
            col = list(columns[name])
            if not text_only and not set(map(type, col)) <= _PLAIN:  # the fast path takes text and nothing else
                bad.update(i for i, v in enumerate(col) if type(v) not in _PLAIN)
                col = [v if type(v) in _PLAIN else None for v in col]
            cols[name] = col
        types = cols.get("record_type", [None] * n)
        kinds = set(types)
        plans = self._v.plans
        if len(kinds) == 1:  # the common case: one record type in the whole chunk
            plan = plans.get(types[0]) if types and types[0] is not None else None
            return self._rows_of_type(plan, list(lines), cols, bad) if plan else [None] * n
        out: list[ValidRow | None] = [None] * n
        for type_id in kinds:
            plan = plans.get(type_id) if type_id is not None else None
            if plan is None:
                continue
            idx = [i for i, t in enumerate(types) if t == type_id]
            group = {name: [col[i] for i in idx] for name, col in cols.items()}
            group_bad = {j for j, i in enumerate(idx) if i in bad}
            done = self._rows_of_type(plan, [lines[i] for i in idx], group, group_bad)
            for i, row in zip(idx, done, strict=True):
                out[i] = row
        return out

    def _rows_of_type(
        self, plan: TypePlan, lines: list[int], cols: dict[str, Column], bad: set[int]
    ) -> list[ValidRow | None]:
        """The rows of one record type; `bad` holds the rows already known not to be for this path."""
        n = len(lines)
        empty: Column = [None] * n
        rt = plan.rt
        today = self._today
        refs = cols.get("source_ref", empty)
        if _EMPTY & set(refs):
            bad.update(i for i, v in enumerate(refs) if v is None or v == "")
        refs = _texts(refs, 64, bad)
        revisions = _mapped(cols.get("revision", empty), self._revision, bad)
        decided = _mapped(cols.get("decided_on", empty), self._date, bad)
        _after(decided, today, bad, empty_too=True)
        starts = _mapped(cols.get("valid_from", empty), self._date, bad)
        if "" in starts:
            starts = [s if s != "" else d for s, d in zip(starts, decided, strict=True)]
        _after(starts, today, bad)
        ends = _mapped(cols.get("valid_until", empty), self._date, bad)
        if "" in ends:
            ends = [e or None for e in ends]
        _not_after(ends, starts, bad)
        names = _texts(cols.get("subject_name", empty), 200, bad)
        if len(set(names)) < len(names) // 2:  # the same names again and again: one object each
            names = list(map(self._names.setdefault, names, names))
        documents = _texts(cols.get("document_no", empty), 64, bad)
        numbers = _texts(cols.get("id_number", empty), 64, bad)
        if not "".join(filter(None, numbers)).isascii():  # full-width digits: the general path folds and counts
            bad.update(i for i, x in enumerate(numbers) if x and not x.isascii())
        if None in numbers:
            bad.update(
                i for i, (num, name) in enumerate(zip(numbers, names, strict=True)) if num is None and name is None
            )
        if rt.requires_document and None in documents:
            bad.update(i for i, d in enumerate(documents) if d is None)
        schemes = _mapped(cols.get("id_scheme", empty), partial(self._scheme, plan), bad)
        for name in plan.foreign:
            col = cols.get(name)
            if col is not None and set(col) - _EMPTY:
                bad.update(i for i, v in enumerate(col) if v is not None and v != "")
        members = [self._attribute(rt.id, a, cols.get(a.name, empty), bad) for a in plan.fast_attributes]

        keep = [i for i in range(n) if i not in bad] if bad else None
        if keep is not None:
            if not keep:
                return [None] * n

            def sub(col: Column) -> Column:
                return [col[i] for i in keep]

            lines, refs, revisions, decided, starts, ends = map(sub, (lines, refs, revisions, decided, starts, ends))
            names, documents, numbers, schemes = map(sub, (names, documents, numbers, schemes))
            members = [sub(m) for m in members]
        made = self._assemble(
            rt.id, lines, refs, revisions, decided, starts, ends, names, documents, numbers, schemes, members
        )
        if keep is None:
            return made  # type: ignore[return-value]
        out: list[ValidRow | None] = [None] * n
        for i, row in zip(keep, made, strict=True):
            out[i] = row
        return out

    def _assemble(
        self,
        type_id: str,
        lines: Column,
        refs: Column,
        revisions: Column,
        decided: Column,
        starts: Column,
        ends: Column,
        names: Column,
        documents: Column,
        numbers: Column,
        schemes: Column,
        members: list[Column],
    ) -> list[ValidRow]:
        """ValidRows from the columns of rows that passed, with their identifiers."""
        scheme_ids = [s.id for s in schemes]
        identified = self._v.identify_all(scheme_ids, numbers)
        hashes, masks, plain, unresolved = zip(*identified, strict=True)
        if members:
            rows = zip(*members, strict=True)
            if any("" in m for m in members):  # "" marks an optional attribute left out
                rows = map(partial(filter, None), rows)  # type: ignore[assignment]
            attributes = list(map("{%s}".__mod__, map(",".join, rows)))
        else:
            attributes = ["{}"] * len(lines)
        return list(
            map(
                self._make,
                zip(
                    lines,
                    refs,
                    revisions,
                    repeat(type_id),
                    [s.kind for s in schemes],
                    names,
                    scheme_ids,
                    hashes,
                    masks,
                    plain,
                    unresolved,
                    decided,
                    starts,
                    ends,
                    documents,
                    attributes,
                ),
            )
        )
