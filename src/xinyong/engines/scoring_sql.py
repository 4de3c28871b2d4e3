"""The batch scoring pipeline, defined once as SQL and transpiled for each engine.

The statements are written in DuckDB's dialect and translated with SQLGlot for Apache Spark, so
the embedded and the distributed engine run the same definition. They compute exactly what
`xinyong.domain.scoring.score_subject` computes (see its docstring for the arithmetic); a
property test holds the three to identical points, grades and contributions.

Inputs (tables or views the engine provides):
- `records_in(record_id, subject_id, subject_kind, record_type, decided_on, valid_from,
  valid_until, status, a_<name>...)`: the record versions known at the time asked, linked to a
  subject, with one typed column for each attribute the pipeline reads (`ScoringPipeline.inputs`):
  its value on the records of the types it is read from, NULL on the others and where absent.
  The store keeps attributes as JSON; its export extracts these columns (see `export_inputs`),
  so the engines read columns and parse no JSON.
- `subjects_in(subject_id, subject_kind)`: the subjects to score.

Outputs: the views `score_out(subject_id, subject_kind, status, ruleset_id, ruleset_version,
points_cp, grade)` and `contribution_out(subject_id, rule_id, points_cp, record_id, kind)`; on
DuckDB their text columns of few values are ENUMs (see `enum_type`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.models import AttributeSpec, Condition
from xinyong.domain.catalog.ruleset_models import ProportionalPoints, Rule, Ruleset
from xinyong.domain.scoring import cents_reaching_cap, cp, ruleset_in_force
from xinyong.engines.sql_parts import (
    KINDS,
    RECORD_COLUMNS,
    AttributeInput,
    Statement,
    attribute_column,
    attributes_read,
    enum_type,
    last_start_ended_by,
    lit,
)


def merge_inputs(*pipelines: ScoringPipeline) -> dict[str, AttributeInput]:
    """The columns that serve every one of `pipelines` (one export read by each, as a what-if does)."""
    merged: dict[str, AttributeInput] = {}
    for pipeline in pipelines:
        for name, inp in pipeline.inputs.items():
            seen = merged.get(name)
            if seen is not None and seen.type != inp.type:
                raise ValueError(f"attribute '{name}' is {seen.type} in one catalog and {inp.type} in the other")
            types = inp.record_types | (seen.record_types if seen else frozenset())
            merged[name] = AttributeInput(name, inp.type, types)
    return merged


class ScoringPipeline:
    """The statements that score every subject of `subjects_in` on `as_of`."""

    def __init__(self, catalog: Catalog, as_of: date, rulesets: dict[str, Ruleset] | None = None) -> None:
        """`rulesets` (by subject kind) replaces the rulesets in force, for what-if comparisons."""
        self.catalog = catalog
        self.as_of = as_of
        self.rulesets: dict[str, Ruleset] = {}
        for kind in KINDS:
            rs = (rulesets or {}).get(kind) or ruleset_in_force(catalog, kind, as_of)
            if rs is not None:
                self.rulesets[kind] = rs
        self.inputs = self._attributes_used()
        in_force = list(self.rulesets.values())
        self.rule_id_t = enum_type([*(r.id for rs in in_force for r in rs.rules), "limit"])
        self.status_t = enum_type(["scored", "not_opted_in", "no_ruleset"])
        self.ruleset_t = enum_type(rs.id for rs in in_force)
        self.version_t = enum_type(rs.version for rs in in_force)
        self.grade_t = enum_type(band.grade for rs in in_force for band in rs.bands)

    def _attributes_used(self) -> dict[str, AttributeInput]:
        """Every attribute a rule or a consent check reads, with one type per name, and the record
        types it is read from (no other record's attributes are read, so an input leaves them out)."""
        specs: dict[str, AttributeSpec] = {}
        read_from: dict[str, set[str]] = {}

        def need(type_id: str, name: str) -> None:
            spec = self.catalog.record_types[type_id].attributes[name]
            seen = specs.setdefault(name, spec)
            if seen.type != spec.type:
                raise ValueError(f"attribute '{name}' has types {seen.type} and {spec.type}; rename one of them")
            read_from.setdefault(name, set()).add(type_id)

        for rs in self.rulesets.values():
            for rule in rs.rules:
                for cond in rule.conditions:
                    need(rule.record_type, cond.attribute)
                if isinstance(rule.points, ProportionalPoints):
                    need(rule.record_type, rule.points.attribute)
            if rs.requires_consent:
                need(rs.requires_consent, "consent")
        return {name: AttributeInput(name, specs[name].type, frozenset(read_from[name])) for name in sorted(specs)}

    def check_records(self, columns: Iterable[str]) -> None:
        """Refuse a `records_in` that lacks a column the statements read, naming the columns."""
        present = set(columns)
        missing = [c for c in (*RECORD_COLUMNS, *(i.column for i in self.inputs.values())) if c not in present]
        if missing:
            raise ValueError(
                f"the records given to the scoring pipeline lack the columns {', '.join(missing)} "
                "(export them with export_inputs and this pipeline's inputs)"
            )

    # -- expressions ------------------------------------------------------------------------

    def _condition(self, cond: Condition) -> str:
        col = attribute_column(cond.attribute)
        v = cond.value
        match cond.op:
            case "eq":
                return f"{col} = {lit(v)}"
            case "ne":
                return f"{col} <> {lit(v)}"
            case "lt":
                return f"{col} < {lit(v)}"
            case "le":
                return f"{col} <= {lit(v)}"
            case "gt":
                return f"{col} > {lit(v)}"
            case "ge":
                return f"{col} >= {lit(v)}"
            case "in" | "not_in":
                v = v if isinstance(v, list) else [v]
                items = ", ".join(lit(x) for x in v)
                return f"{col} {'IN' if cond.op == 'in' else 'NOT IN'} ({items})"
            case "between":
                v = v if isinstance(v, list) else [v, v]
                return f"{col} BETWEEN {lit(v[0])} AND {lit(v[1])}"
        raise ValueError(f"unknown operator {cond.op}")

    def _points(self, rule: Rule) -> tuple[str, list[str]]:
        """(signed raw points expression, extra conditions) of one rule."""
        extra: list[str] = []
        if isinstance(rule.points, ProportionalPoints):
            p = rule.points
            col = attribute_column(p.attribute)
            extra.append(f"{col} IS NOT NULL AND {col} >= 0")
            cents = f"LEAST(CAST(ROUND({col} * 100) AS BIGINT), {cents_reaching_cap(p)})"
            magnitude = f"LEAST({cents} * {abs(cp(p.points))} // {cp(p.per)}, {cp(p.cap)})"
            sign = -1 if p.points < 0 else 1
        else:
            magnitude = str(abs(cp(rule.points)))
            sign = -1 if rule.points < 0 else 1
        if rule.decay is not None:
            days = rule.decay.days
            age = f"date_diff('day', valid_from, {lit(self.as_of)})"
            magnitude = f"({magnitude}) * GREATEST({days} - {age}, 0) // {days}"
        return f"{sign} * ({magnitude})", extra

    # -- statements -------------------------------------------------------------------------

    def _by_kind(self, value: Callable[[Ruleset], str | None], kind: str = "s.subject_kind") -> str:
        """A CASE over the subject kind giving `value` of its ruleset (NULL where there is none)."""
        cases = " ".join(f"WHEN {lit(k)} THEN {v}" for k, rs in self.rulesets.items() if (v := value(rs)) is not None)
        return f"CASE {kind} {cases} END" if cases else "NULL"

    def _open_from(self, type_id: str) -> date | None:
        """The day after which a record of this type sent without valid_until still counts on as_of.

        Such a record ends with its publication period (valid_from + months), which is after as_of
        exactly when valid_from is after the last day whose period does not reach past as_of
        (adding months never moves a later day before an earlier one); so the engines compare
        dates instead of adding months to every record. None: the type has no period.
        """
        rt = self.catalog.record_types.get(type_id)
        if rt is None or rt.publication_months == 0:
            return None
        return last_start_ended_by(self.as_of, rt.publication_months)

    def _maybe_valid(self, prefix: str = "") -> str:
        """Active and valid on as_of, but for the publication period of records without valid_until."""
        d = lit(self.as_of)
        return (
            f"{prefix}status = 'active' AND {prefix}valid_from <= {d} "
            f"AND ({prefix}valid_until > {d} OR {prefix}valid_until IS NULL)"
        )

    def statements(self) -> list[Statement]:
        return [*self._subjects(), *self._contributions(), *self._scores()]

    def _subjects(self) -> list[Statement]:
        """Each subject's status (scored, not opted in, no ruleset) and its ruleset."""
        out = []
        person = self.rulesets.get("person")
        consent_type = person.requires_consent if person else None
        if consent_type:
            open_from = self._open_from(consent_type)
            ended = f" AND (valid_until IS NOT NULL OR valid_from > {lit(open_from)})" if open_from else ""
            out.append(
                Statement(
                    "consent_latest",
                    "SELECT subject_id, a_consent FROM (SELECT subject_id, a_consent, "
                    "ROW_NUMBER() OVER (PARTITION BY subject_id ORDER BY decided_on DESC, record_id DESC) AS rn "
                    "FROM records_in "
                    f"WHERE record_type = {lit(consent_type)} AND {self._maybe_valid()}{ended}) AS c WHERE rn = 1",
                )
            )
        consent_join = "LEFT JOIN consent_latest AS c ON c.subject_id = s.subject_id" if consent_type else ""
        opted = "c.a_consent = 'granted'" if consent_type else "TRUE"
        st = {v: f"CAST({lit(v)} AS {self.status_t})" for v in ("scored", "not_opted_in", "no_ruleset")}
        status = (
            "CASE "
            + (
                f"WHEN s.subject_kind NOT IN ({', '.join(lit(k) for k in self.rulesets)}) THEN {st['no_ruleset']} "
                if self.rulesets
                else f"WHEN TRUE THEN {st['no_ruleset']} "
            )
            + (
                f"WHEN s.subject_kind = 'person' AND NOT COALESCE({opted}, FALSE) THEN {st['not_opted_in']} "
                if person
                else ""
            )
            + f"ELSE {st['scored']} END"
        )
        out.append(
            Statement(
                "subject_status",
                f"SELECT s.subject_id, s.subject_kind, {status} AS status, "
                f"{self._by_kind(lambda rs: f'CAST({lit(rs.id)} AS {self.ruleset_t})')} AS ruleset_id, "
                f"{self._by_kind(lambda rs: f'CAST({lit(rs.version)} AS {self.version_t})')} AS ruleset_version "
                f"FROM subjects_in AS s {consent_join}",
            )
        )
        return out

    def _numbered(self) -> list[tuple[int, str, Rule]]:
        """(number, subject kind, rule) of every rule, those with a cap first.

        Numbers are unique across kinds (rules of both kinds can share an id), and the capped
        rules are exactly those numbered below `len(capped)`, a cheap test on every record.
        """
        rules = [(kind, rule) for kind, rs in self.rulesets.items() for rule in rs.rules]
        rules.sort(key=lambda kr: kr[1].cap is None)
        return [(n, kind, rule) for n, (kind, rule) in enumerate(rules)]

    def _contributions(self) -> list[Statement]:
        """What each rule gives for each record of a scored subject, in one pass over the records.

        Each record meets the rules of its type through a join with a small table of rules: the
        rule's number, its points when they are constant, and the end of its type's publication
        period. The other rules are branches of a CASE. Points are NULL where the
        rule does not apply (its conditions fail, or the record's publication period has ended):
        a column, not a WHERE, because a filter that reads both sides of a join is evaluated
        inside the join (DuckDB), many times slower than the same test in a projection.
        """
        numbered = self._numbered()
        names = sorted(set().union(*(attributes_read(rule) for _, _, rule in numbered)))
        defs, amounts = [], []
        for n, kind, rule in numbered:
            points, extra = self._points(rule)
            conditions = [*extra, *(self._condition(c) for c in rule.conditions)]
            # Most rules give constant points to every record of their type: those points are a
            # column of the rule table, and only the other rules are branches of the CASE.
            fixed = not conditions and rule.decay is None and not isinstance(rule.points, ProportionalPoints)
            open_from = self._open_from(rule.record_type)
            defs.append(
                f"SELECT {n} AS rule_no, {lit(kind)} AS subject_kind, {lit(rule.record_type)} AS record_type, "
                f"CAST({lit(rule.id)} AS {self.rule_id_t}) AS rule_id, "
                f"CAST({points if fixed else 'NULL'} AS BIGINT) AS fixed_cp, "
                f"CAST({lit(open_from) if open_from else 'NULL'} AS DATE) AS open_from"
            )
            if not fixed:
                test = " AND ".join(f"({c})" for c in conditions)
                amounts.append(f"WHEN {n} THEN " + (f"CASE WHEN {test} THEN {points} END" if test else points))
        if not defs:
            defs.append(
                "SELECT 0 AS rule_no, CAST(NULL AS VARCHAR) AS subject_kind, CAST(NULL AS VARCHAR) AS record_type, "
                f"CAST(NULL AS {self.rule_id_t}) AS rule_id, CAST(NULL AS BIGINT) AS fixed_cp, "
                "CAST(NULL AS DATE) AS open_from "
                "WHERE FALSE"
            )
        typed = "".join(f", r.{attribute_column(name)}" for name in names)
        computed = f"CASE rule_no {' '.join(amounts)} END" if amounts else "NULL"
        return [
            Statement("rule_defs", " UNION ALL ".join(defs)),
            Statement(
                "rule_raw",
                "SELECT subject_id, rule_no, CAST(CASE WHEN valid_until IS NULL AND valid_from <= open_from THEN NULL "
                f"WHEN fixed_cp IS NOT NULL THEN fixed_cp ELSE {computed} END AS BIGINT) AS points_cp, record_id "
                "FROM (SELECT r.subject_id, r.record_id, r.valid_from, r.valid_until, d.rule_no, d.fixed_cp, "
                f"d.open_from{typed} FROM records_in AS r "
                "JOIN subject_status AS s ON s.subject_id = r.subject_id "
                "JOIN rule_defs AS d ON d.record_type = r.record_type AND d.subject_kind = r.subject_kind "
                f"WHERE s.status = 'scored' AND {self._maybe_valid('r.')}) AS x",
            ),
        ]

    def _scores(self) -> list[Statement]:
        """Rule caps, each subject's total, its limits and its grade.

        Only the rules with a cap need a total per (subject, rule); the caps that bite are few,
        so the score is one plain sum per subject over the records and those adjustments.
        """
        capped = [(n, rule) for n, _, rule in self._numbered() if rule.cap is not None]
        if capped:
            cap = f"CASE rule_no {' '.join(f'WHEN {n} THEN {cp(r.cap)}' for n, r in capped if r.cap)} END"
            ids = " ".join(f"WHEN {n} THEN {lit(r.id)}" for n, r in capped)
            rule_id = f"CAST(CASE rule_no {ids} END AS {self.rule_id_t})"
            rule_cap = (
                f"SELECT subject_id, {rule_id} AS rule_id, "
                "CAST(CASE WHEN total > 0 THEN cap_cp ELSE -cap_cp END - total AS BIGINT) AS points_cp "
                f"FROM (SELECT subject_id, rule_no, total, {cap} AS cap_cp FROM (SELECT subject_id, rule_no, "
                f"SUM(points_cp) AS total FROM rule_raw WHERE points_cp IS NOT NULL AND rule_no < {len(capped)} "
                "GROUP BY subject_id, rule_no) "
                "AS t) AS c WHERE ABS(total) > cap_cp"
            )
        else:
            rule_cap = (
                f"SELECT CAST(NULL AS BIGINT) AS subject_id, CAST(NULL AS {self.rule_id_t}) AS rule_id, "
                "CAST(NULL AS BIGINT) AS points_cp WHERE FALSE"
            )
        total = (
            f"CASE WHEN s.status = 'scored' THEN CAST({self._by_kind(lambda rs: str(cp(rs.base)))} "
            "+ COALESCE(a.points_cp, 0) AS BIGINT) END"
        )
        floor = self._by_kind(lambda rs: None if rs.floor is None else str(cp(rs.floor)), "subject_kind")
        ceiling = self._by_kind(lambda rs: None if rs.ceiling is None else str(cp(rs.ceiling)), "subject_kind")
        limited = f"CASE WHEN total < {floor} THEN {floor} WHEN total > {ceiling} THEN {ceiling} ELSE total END"
        grade_cases = []
        for kind, rs in self.rulesets.items():
            for band in rs.bands:
                tests = [f"subject_kind = {lit(kind)}"]
                if band.min is not None:
                    tests.append(f"points_cp >= {cp(band.min)}")
                if band.max is not None:
                    tests.append(f"points_cp < {cp(band.max)}")
                grade_cases.append(f"WHEN {' AND '.join(tests)} THEN {lit(band.grade)}")
        grade = f"CAST(CASE {' '.join(grade_cases)} END AS {self.grade_t})" if grade_cases else "CAST(NULL AS VARCHAR)"
        kinds_t = enum_type(["record", "rule_cap", "score_limit"])
        as_kind = {k: f"CAST({lit(k)} AS {kinds_t})" for k in ("record", "rule_cap", "score_limit")}
        return [
            Statement("rule_cap", rule_cap),
            Statement(
                "subject_total",
                f"SELECT *, CAST({limited} AS BIGINT) AS points_cp FROM (SELECT s.subject_id, s.subject_kind, "
                f"s.status, s.ruleset_id, s.ruleset_version, {total} AS total FROM subject_status AS s "
                "LEFT JOIN (SELECT subject_id, SUM(points_cp) AS points_cp FROM (SELECT subject_id, points_cp "
                "FROM rule_raw WHERE points_cp IS NOT NULL UNION ALL SELECT subject_id, points_cp FROM rule_cap) AS u "
                "GROUP BY subject_id) AS a "
                "ON a.subject_id = s.subject_id) AS t",
            ),
            Statement(
                "score_out",
                "SELECT subject_id, subject_kind, status, ruleset_id, ruleset_version, "
                f"points_cp, {grade} AS grade FROM subject_total",
            ),
            Statement(
                "contribution_out",
                "SELECT r.subject_id, d.rule_id, r.points_cp, r.record_id, "
                f"{as_kind['record']} AS kind "
                "FROM rule_raw AS r JOIN rule_defs AS d ON d.rule_no = r.rule_no WHERE r.points_cp IS NOT NULL "
                "UNION ALL SELECT subject_id, rule_id, points_cp, CAST(NULL AS BIGINT) AS record_id, "
                f"{as_kind['rule_cap']} AS kind FROM rule_cap "
                f"UNION ALL SELECT subject_id, CAST('limit' AS {self.rule_id_t}) AS rule_id, "
                "CAST(points_cp - total AS BIGINT) AS points_cp, CAST(NULL AS BIGINT) AS record_id, "
                f"{as_kind['score_limit']} AS kind FROM subject_total WHERE points_cp <> total",
            ),
        ]


__all__ = [
    "KINDS",
    "RECORD_COLUMNS",
    "AttributeInput",
    "ScoringPipeline",
    "Statement",
    "last_start_ended_by",
    "merge_inputs",
]
