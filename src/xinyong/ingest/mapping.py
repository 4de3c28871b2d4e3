"""A file's columns as xinyong's: its own names, or a department's headers through the catalog's mapping.

Sits between reading and validation. A file whose header names xinyong's columns is passed on as it
is (`ColumnPlan.identity`). A file under a department's own headers (统一社会信用代码, 决定日期, ...)
is read through the one mapping of its source whose headers it carries: mapped columns are renamed
(a column may feed several fields), amounts in 万元 become yuan exactly, the department's words for
coded values become the catalog's codes, the identifier comes from the row's first filled
identifier column, and the dropped columns are counted by name and never passed on. A header the
mapping does not read refuses the file, as an unknown column does in xinyong's own names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.mappings import ColumnSpec, Mapping, header_key
from xinyong.domain.catalog.models import CORE_FIELDS
from xinyong.domain.errors import FileRefused
from xinyong.domain.normalise import BadValue, Counts, parse_amount, plain_amount, shown
from xinyong.domain.records import Problem
from xinyong.ingest.summary import Reading, add_counts

TITLE_ROWS = 10  # rows above the header (a workbook's merged title, a unit line) that are looked through
DATE_FIELDS = frozenset(("decided_on", "valid_from", "valid_until"))
# value -> (value passed on, why it is refused or None, the kinds of rewrite it took)
Convert = Callable[[Any], tuple[Any, str | None, Counts]]


def known_names(catalog: Catalog, source_id: str) -> set[str]:
    """Every header key a file of this source may carry: xinyong's names and its mappings' headers."""
    names = {header_key(c) for c in (*CORE_FIELDS, *catalog.attribute_names(source_id))}
    for m in source_mappings(catalog, source_id):
        names.update(header_key(h) for h in m.headers())
    return names


def source_mappings(catalog: Catalog, source_id: str) -> list[Mapping]:
    return [m for m in catalog.mappings.values() if m.source == source_id]


def header_score(row: Sequence[Any], known: set[str]) -> int:
    """How many cells of a row are known column names: the header is the first row with two or more."""
    return sum(1 for v in row if isinstance(v, str) and v and header_key(v) in known)


@dataclass
class ColumnPlan:
    """How a file's columns (`header`) become xinyong's (`columns`)."""

    header: list[str]
    columns: list[str]
    mapping: Mapping | None = None
    targets: list[tuple[str, ...]] = field(default_factory=list)  # per file column: the fields it feeds
    _converts: dict[int, Convert] = field(default_factory=dict)
    _identifiers: list[tuple[int, str | None, int | None, dict[str, str]]] = field(default_factory=list)
    _dropped: list[tuple[int, str]] = field(default_factory=list)
    _fixed: dict[str, str] = field(default_factory=dict)
    _counts: Counts = field(default_factory=Counter)

    @classmethod
    def identity(cls, header: list[str]) -> ColumnPlan:
        return cls(header, header, targets=[(h,) for h in header])

    def describe(self) -> Reading:
        return {"mapping": self.mapping.id} if self.mapping is not None else {}

    def apply(
        self, lines: list[int], rows: list[list[Any]]
    ) -> tuple[list[int], dict[str, Sequence[Any]], list[Problem], Reading]:
        """The lines and columns (xinyong's names) of the rows a mapped value did not refuse, the
        problems of those it did, and the counts. Columns, not rows: validation reads columns."""
        cols = list(zip(*rows, strict=True)) if rows else [() for _ in self.header]
        n = len(rows)
        bad: dict[int, Problem] = {}
        out: dict[str, Sequence[Any]] = {}
        for i, targets in enumerate(self.targets):
            if not targets or targets[0] in ("id_scheme", "id_number"):
                continue
            col: Sequence[Any] = cols[i]
            convert = self._converts.get(i)
            if convert is not None:
                col = self._converted(col, convert, lines, self.header[i], bad)
            for target in targets:
                out[target] = col
        for name, value in self._fixed.items():
            out[name] = [value] * n
        if self._identifiers:
            out["id_scheme"], out["id_number"] = self._identity(cols, lines, bad)
        dropped = {name: sum(1 for v in cols[i] if v is not None and v != "") for i, name in self._dropped}
        reading: Reading = {}
        add_counts(reading, "dropped", dropped)
        add_counts(reading, "normalised", dict(self._counts))
        self._counts.clear()
        data = {c: out[c] for c in self.columns}
        if bad:
            keep = [k for k in range(n) if k not in bad]
            data = {c: [col[k] for k in keep] for c, col in data.items()}
            lines = [lines[k] for k in keep]
        return lines, data, sorted(bad.values(), key=lambda p: p.line), reading

    def _converted(
        self, col: Sequence[Any], convert: Convert, lines: list[int], header: str, bad: dict[int, Problem]
    ) -> list[Any]:
        """Each value converted once per distinct value; each rewrite counted once per row it is in."""
        table = {v: convert(v) for v in set(col)}
        if any(kinds for _, _, kinds in table.values()):
            freq = Counter(col)
            for v, (_, _, kinds) in table.items():
                for kind, n in kinds.items():
                    self._counts[kind] += n * freq[v]
        if any(why is not None for _, why, _ in table.values()):
            for k, v in enumerate(col):
                why = table[v][1]
                if why is not None and k not in bad:
                    bad[k] = Problem(lines[k], header[:64], "invalid", why)  # the store keeps 64 characters of a field
        values = {v: out for v, (out, _, _) in table.items()}
        return list(map(values.__getitem__, col))

    def _identity(
        self, cols: list[tuple[Any, ...]], lines: list[int], bad: dict[int, Problem]
    ) -> tuple[list[str], Sequence[Any]]:
        """Each row's (scheme, number): from its first filled identifier column."""
        if len(self._identifiers) == 1:
            return self._one_identifier(cols, lines, bad)
        schemes: list[str] = []
        numbers: list[Any] = []
        for k in range(len(lines)):
            scheme, number = "", ""
            for i, fixed, from_i, table in self._identifiers:
                v = cols[i][k]
                if v is None or (isinstance(v, str) and not v.strip()):
                    continue
                number = v
                if fixed is not None:
                    scheme = fixed
                    break
                raw = cols[from_i][k] if from_i is not None else None
                scheme = table.get(header_key(raw), "") if isinstance(raw, str) else ""
                if not scheme and k not in bad:
                    what = self.header[from_i] if from_i is not None else "the scheme column"
                    bad[k] = Problem(
                        lines[k],
                        what[:64],
                        "invalid",
                        f"'{shown(raw or '')}' is not one of the kinds of ID the mapping reads: {', '.join(table)}",
                    )
                break
            if number == "":
                scheme = self._scheme_without_number(cols, k)
            schemes.append(scheme)
            numbers.append(number)
        return schemes, numbers

    def _one_identifier(
        self, cols: list[tuple[Any, ...]], lines: list[int], bad: dict[int, Problem]
    ) -> tuple[list[str], Sequence[Any]]:
        """The common case, column by column: one identifier column, its scheme fixed or named beside it."""
        i, fixed, from_i, table = self._identifiers[0]
        numbers = cols[i]
        if fixed is not None:
            return [fixed] * len(numbers), numbers
        kinds = cols[from_i] if from_i is not None else (None,) * len(numbers)
        known = {v: table.get(header_key(v), "") if isinstance(v, str) else "" for v in set(kinds)}
        schemes = list(map(known.__getitem__, kinds))
        if "" in known.values():
            for k, (scheme, number) in enumerate(zip(schemes, numbers, strict=True)):
                filled = number is not None and not (isinstance(number, str) and not number.strip())
                if not scheme and filled and k not in bad:
                    raw = kinds[k]
                    what = self.header[from_i] if from_i is not None else "the scheme column"
                    bad[k] = Problem(
                        lines[k],
                        what[:64],
                        "invalid",
                        f"'{shown(raw or '')}' is not one of the kinds of ID the mapping reads: {', '.join(table)}",
                    )
        return schemes, numbers

    def _scheme_without_number(self, cols: list[tuple[Any, ...]], k: int) -> str:
        """A row without an identifier still says whom it concerns: the kind of ID its type column
        names, or the scheme of the mapping's only identifier column (stored unresolved, by name)."""
        for _, _, from_i, table in self._identifiers:
            raw = cols[from_i][k] if from_i is not None else None
            if isinstance(raw, str) and header_key(raw) in table:
                return table[header_key(raw)]
        if len(self._identifiers) == 1 and self._identifiers[0][1] is not None:
            return str(self._identifiers[0][1])
        return ""


def plan_columns(header: list[str], catalog: Catalog, source_id: str, where: str) -> ColumnPlan:
    """The plan for a file with this header; FileRefused when a mapping is ambiguous or misses columns.

    `where` names the file and line in messages ("court.csv: line 3").
    """
    names = set(CORE_FIELDS) | catalog.attribute_names(source_id)
    if any(h in names for h in header):
        return ColumnPlan.identity(header)
    keys = [header_key(h) for h in header]
    present = set(keys)
    scored = sorted(
        ((len(present & {header_key(h) for h in m.headers()}), m) for m in source_mappings(catalog, source_id)),
        key=lambda x: -x[0],
    )
    if not scored or scored[0][0] == 0:
        return ColumnPlan.identity(header)
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        raise FileRefused(
            f"{where}: the header fits mappings '{scored[0][1].id}' and '{scored[1][1].id}' equally; "
            "a file must carry the headers of one"
        )
    return _mapped_plan(header, keys, scored[0][1], where)


def _mapped_plan(header: list[str], keys: list[str], m: Mapping, where: str) -> ColumnPlan:
    specs = {header_key(h): s for h, s in m.specs().items()}
    drops = {header_key(h): h for h in m.drop}
    id_keys = {header_key(i.header): i for i in m.identifiers}
    scheme_keys = {header_key(i.scheme_from) for i in m.identifiers if i.scheme_from}
    read = specs.keys() | drops.keys() | id_keys.keys() | scheme_keys
    unknown = [h for h, k in zip(header, keys, strict=True) if k and k not in read]
    if unknown:
        raise FileRefused(
            f"{where}: unknown column(s): {', '.join(unknown)}; mapping '{m.id}' of source '{m.source}' reads: "
            f"{', '.join(m.headers())}"
        )
    twice = sorted({h for h, k in zip(header, keys, strict=True) if k and keys.count(k) > 1})
    if twice:
        raise FileRefused(f"{where}: column(s) appear twice: {', '.join(twice)}")
    fed = {t for k in keys if k in specs for t in specs[k].to}
    missing = [
        f"{h} ({t})" for h, s in m.specs().items() for t in s.to if t in ("source_ref", "decided_on") and t not in fed
    ]
    if not any(k in id_keys for k in keys):
        missing.append(" or ".join(i.header for i in m.identifiers) + " (the identifier)")
    for col in m.identifiers:
        if header_key(col.header) in keys and col.scheme_from and header_key(col.scheme_from) not in keys:
            missing.append(f"{col.scheme_from} (the kind of ID in {col.header})")
    if missing:
        raise FileRefused(f"{where}: missing required column(s) of mapping '{m.id}': {', '.join(missing)}")
    plan = ColumnPlan(header, [], m)
    for i, k in enumerate(keys):
        if k in specs:
            plan.targets.append(tuple(specs[k].to))
            convert = _convert(specs[k], m)
            if convert is not None:
                plan._converts[i] = convert
        elif k in id_keys:
            plan.targets.append(("id_number",))
        elif k in scheme_keys:
            plan.targets.append(("id_scheme",))
        else:
            plan.targets.append(())
            if k in drops:
                plan._dropped.append((i, header[i]))
    for col in m.identifiers:
        if header_key(col.header) in keys:
            from_key = header_key(col.scheme_from) if col.scheme_from else None
            from_i = keys.index(from_key) if from_key in keys else None
            table = {header_key(k): v for k, v in (col.schemes or {}).items()}
            plan._identifiers.append((keys.index(header_key(col.header)), col.scheme, from_i, table))
    if m.record_type is not None:
        plan._fixed["record_type"] = m.record_type
    outputs = [t for ts in plan.targets for t in ts if t not in ("id_scheme", "id_number")]
    plan.columns = [*dict.fromkeys(outputs), *plan._fixed, "id_scheme", "id_number"]
    return plan


def _convert(spec: ColumnSpec, m: Mapping) -> Convert | None:
    """The conversion a mapped column's values go through, if any (a value table or a unit)."""
    if spec.values is not None:
        table = {header_key(k): v for k, v in spec.values.items()}
        codes = set(spec.values.values())
        words = ", ".join(list(spec.values)[:12]) + (", ..." if len(spec.values) > 12 else "")

        def translate(v: Any) -> tuple[Any, str | None, Counts]:
            if v is None or not isinstance(v, str) or not v.strip():
                return v, None, Counter()
            key = header_key(v)
            if key in table:
                return table[key], None, Counter()
            if key in codes:
                return key, None, Counter()
            return v, f"'{shown(v)}' is not one of the values mapping '{m.id}' reads here: {words}", Counter()

        return translate
    if spec.unit is not None and spec.unit != "元":
        unit = spec.unit

        def amount(v: Any) -> tuple[Any, str | None, Counts]:
            counts: Counts = Counter()
            if v is None or (isinstance(v, str) and not v.strip()):
                return v, None, counts
            try:
                return plain_amount(parse_amount(v, unit, counts)), None, counts
            except BadValue as exc:
                return v, f"{exc} (the column is in {unit})", Counter()

        return amount
    return None
