"""The batch scoring pipeline, defined once as SQL and transpiled for each engine.

The statements are written in DuckDB's dialect and translated with SQLGlot for Apache Spark, so
the embedded and the distributed engine run the same definition. They compute exactly what
`xinyong.domain.scoring.score_subject` computes (see its docstring for the arithmetic); a
property test holds the three to identical points, grades and contributions.

Inputs (tables or views the engine provides):
- `records_in(record_id, subject_id, subject_kind, record_type, decided_on, valid_from,
  valid_until, status, attributes)`: the record versions known at the time asked, linked to a
  subject; `attributes` is the canonical JSON text.
- `subjects_in(subject_id, subject_kind)`: the subjects to score.

Outputs: the views `score_out(subject_id, subject_kind, status, ruleset_id, ruleset_version,
points_cp, grade)` and `contribution_out(subject_id, rule_id, points_cp, record_id, kind)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlglot

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.models import AttributeSpec, Condition, ProportionalPoints, Rule, Ruleset
from xinyong.domain.scoring import cents_reaching_cap, cp, ruleset_in_force

KINDS = ("organisation", "person")
_SQL_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "decimal": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE"}


def _lit(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _column(name: str) -> str:
    return f"a_{name}"


@dataclass(frozen=True)
class Statement:
    """One named view of the pipeline, as a SELECT in DuckDB's dialect."""

    view: str
    select: str

    def for_engine(self, dialect: str) -> str:
        if dialect == "duckdb":
            return self.select
        return sqlglot.transpile(self.select, read="duckdb", write=dialect)[0]


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
        self.attributes = self._attributes_used()

    def _attributes_used(self) -> dict[str, AttributeSpec]:
        """Every attribute a rule or a consent check reads, with one type per name."""
        used: dict[str, AttributeSpec] = {}
        self.readers: dict[str, set[str]] = {}  # attribute -> the record types whose value is read

        def need(type_id: str, name: str) -> None:
            spec = self.catalog.record_types[type_id].attributes[name]
            seen = used.setdefault(name, spec)
            self.readers.setdefault(name, set()).add(type_id)
            if seen.type != spec.type:
                raise ValueError(f"attribute '{name}' has types {seen.type} and {spec.type}; rename one of them")

        for rs in self.rulesets.values():
            for rule in rs.rules:
                for cond in rule.conditions:
                    need(rule.record_type, cond.attribute)
                if isinstance(rule.points, ProportionalPoints):
                    need(rule.record_type, rule.points.attribute)
            if rs.requires_consent:
                need(rs.requires_consent, "consent")
        return used

    # -- expressions ------------------------------------------------------------------------

    def _condition(self, cond: Condition) -> str:
        col = _column(cond.attribute)
        v = cond.value
        match cond.op:
            case "eq":
                return f"{col} = {_lit(v)}"
            case "ne":
                return f"{col} <> {_lit(v)}"
            case "lt":
                return f"{col} < {_lit(v)}"
            case "le":
                return f"{col} <= {_lit(v)}"
            case "gt":
                return f"{col} > {_lit(v)}"
            case "ge":
                return f"{col} >= {_lit(v)}"
            case "in" | "not_in":
                v = v if isinstance(v, list) else [v]
                items = ", ".join(_lit(x) for x in v)
                return f"{col} {'IN' if cond.op == 'in' else 'NOT IN'} ({items})"
            case "between":
                v = v if isinstance(v, list) else [v, v]
                return f"{col} BETWEEN {_lit(v[0])} AND {_lit(v[1])}"
        raise ValueError(f"unknown operator {cond.op}")

    def _points(self, rule: Rule) -> tuple[str, list[str]]:
        """(signed raw points expression, extra conditions) of one rule."""
        extra: list[str] = []
        if isinstance(rule.points, ProportionalPoints):
            p = rule.points
            col = _column(p.attribute)
            extra.append(f"{col} IS NOT NULL AND {col} >= 0")
            cents = f"LEAST(CAST(ROUND({col} * 100) AS BIGINT), {cents_reaching_cap(p)})"
            magnitude = f"LEAST({cents} * {abs(cp(p.points))} // {cp(p.per)}, {cp(p.cap)})"
            sign = -1 if p.points < 0 else 1
        else:
            magnitude = str(abs(cp(rule.points)))
            sign = -1 if rule.points < 0 else 1
        if rule.decay is not None:
            days = rule.decay.days
            age = f"date_diff('day', valid_from, {_lit(self.as_of)})"
            magnitude = f"({magnitude}) * GREATEST({days} - {age}, 0) // {days}"
        return f"{sign} * ({magnitude})", extra

    # -- statements -------------------------------------------------------------------------

    def statements(self) -> list[Statement]:
        d = _lit(self.as_of)
        # JSON is parsed only for the record types whose attribute some rule reads.
        typed = ", ".join(
            f"CASE WHEN record_type IN ({', '.join(_lit(t) for t in sorted(self.readers[name]))}) "
            f"THEN CAST(json_extract_string(attributes, '$.{name}') AS {_SQL_TYPES[spec.type]}) END AS {_column(name)}"
            for name, spec in sorted(self.attributes.items())
        )
        periods = " ".join(
            f"WHEN {_lit(t.id)} THEN CAST(valid_from + INTERVAL '{t.publication_months}' MONTH AS DATE)"
            for t in sorted(self.catalog.record_types.values(), key=lambda t: t.id)
            if t.publication_months > 0
        )
        until = f"COALESCE(valid_until, CASE record_type {periods} END)" if periods else "valid_until"
        out = [
            Statement(
                "rec_valid",
                "SELECT record_id, subject_id, subject_kind, record_type, decided_on, valid_from, valid_until"
                + (f", {typed}" if typed else "")
                + " FROM (SELECT record_id, subject_id, subject_kind, record_type, decided_on, valid_from, "
                f"{until} AS valid_until, attributes FROM records_in "
                f"WHERE status = 'active' AND valid_from <= {d}) AS v "
                f"WHERE valid_until IS NULL OR valid_until > {d}",
            )
        ]
        person = self.rulesets.get("person")
        consent_type = person.requires_consent if person else None
        if consent_type:
            out.append(
                Statement(
                    "consent_latest",
                    "SELECT subject_id, a_consent FROM (SELECT subject_id, a_consent, ROW_NUMBER() OVER "
                    "(PARTITION BY subject_id ORDER BY decided_on DESC, record_id DESC) AS rn FROM rec_valid "
                    f"WHERE record_type = {_lit(consent_type)}) AS c WHERE rn = 1",
                )
            )
        cases_id = " ".join(f"WHEN {_lit(k)} THEN {_lit(rs.id)}" for k, rs in self.rulesets.items())
        cases_ver = " ".join(f"WHEN {_lit(k)} THEN {_lit(rs.version)}" for k, rs in self.rulesets.items())
        consent_join = "LEFT JOIN consent_latest AS c ON c.subject_id = s.subject_id" if consent_type else ""
        opted = "c.a_consent = 'granted'" if consent_type else "TRUE"
        status = (
            "CASE "
            + (
                f"WHEN s.subject_kind NOT IN ({', '.join(_lit(k) for k in self.rulesets)}) THEN 'no_ruleset' "
                if self.rulesets
                else "WHEN TRUE THEN 'no_ruleset' "
            )
            + (
                f"WHEN s.subject_kind = 'person' AND NOT COALESCE({opted}, FALSE) THEN 'not_opted_in' "
                if person
                else ""
            )
            + "ELSE 'scored' END"
        )
        out.append(
            Statement(
                "subject_status",
                f"SELECT s.subject_id, s.subject_kind, {status} AS status, "
                f"CASE s.subject_kind {cases_id or 'WHEN NULL THEN NULL'} END AS ruleset_id, "
                f"CASE s.subject_kind {cases_ver or 'WHEN NULL THEN NULL'} END AS ruleset_version "
                f"FROM subjects_in AS s {consent_join}",
            )
        )
        out.append(
            Statement(
                "rec_scored",
                "SELECT r.* FROM rec_valid AS r JOIN subject_status AS s ON s.subject_id = r.subject_id "
                "WHERE s.status = 'scored'",
            )
        )
        # One pass over the records: each record meets the rules of its type through a join with
        # a small table of rules, and each rule's conditions and points are a branch of a CASE.
        defs, meta, tests, amounts = [], [], [], []
        for kind, rs in self.rulesets.items():
            for order, rule in enumerate(rs.rules):
                key = _lit(f"{kind}:{rule.id}")
                points, extra = self._points(rule)
                conditions = [*extra, *(self._condition(c) for c in rule.conditions)]
                defs.append(
                    f"SELECT {key} AS rule_key, {_lit(kind)} AS subject_kind, {_lit(rule.record_type)} AS record_type, "
                    f"{_lit(rule.id)} AS rule_id, {order} AS rule_order"
                )
                tests.append(f"WHEN {key} THEN {' AND '.join(f'({c})' for c in conditions) or 'TRUE'}")
                amounts.append(f"WHEN {key} THEN {points}")
                cap = cp(rule.cap) if rule.cap is not None else "NULL"
                meta.append(f"SELECT {_lit(kind)} AS subject_kind, {_lit(rule.id)} AS rule_id, {cap} AS cap_cp")
        if defs:
            out.append(Statement("rule_defs", " UNION ALL ".join(defs)))
            rule_raw = (
                "SELECT r.subject_id, d.rule_id, d.rule_order, "
                f"CAST(CASE d.rule_key {' '.join(amounts)} END AS BIGINT) AS points_cp, r.record_id "
                "FROM rec_scored AS r JOIN rule_defs AS d "
                "ON d.record_type = r.record_type AND d.subject_kind = r.subject_kind "
                f"WHERE CASE d.rule_key {' '.join(tests)} ELSE FALSE END"
            )
        else:
            rule_raw = (
                "SELECT CAST(NULL AS BIGINT) AS subject_id, CAST(NULL AS VARCHAR) AS rule_id, 0 AS rule_order, "
                "CAST(NULL AS BIGINT) AS points_cp, CAST(NULL AS BIGINT) AS record_id WHERE FALSE"
            )
        out.append(Statement("rule_raw", rule_raw))
        meta_sql = (
            " UNION ALL ".join(meta)
            if meta
            else (
                "SELECT CAST(NULL AS VARCHAR) AS subject_kind, CAST(NULL AS VARCHAR) AS rule_id, "
                "CAST(NULL AS BIGINT) AS cap_cp WHERE FALSE"
            )
        )
        out.append(Statement("rule_meta", meta_sql))
        out.append(
            Statement(
                "rule_total",
                "SELECT t.subject_id, t.rule_id, t.total, CASE WHEN m.cap_cp IS NOT NULL AND ABS(t.total) > m.cap_cp "
                "THEN (CASE WHEN t.total > 0 THEN m.cap_cp ELSE -m.cap_cp END) ELSE t.total END AS capped "
                "FROM (SELECT r.subject_id, r.rule_id, CAST(SUM(r.points_cp) AS BIGINT) AS total FROM rule_raw AS r "
                "GROUP BY r.subject_id, r.rule_id) AS t "
                "JOIN subject_status AS s ON s.subject_id = t.subject_id "
                "JOIN rule_meta AS m ON m.subject_kind = s.subject_kind AND m.rule_id = t.rule_id",
            )
        )
        base = " ".join(f"WHEN {_lit(k)} THEN {cp(rs.base)}" for k, rs in self.rulesets.items())
        lo = " ".join(f"WHEN {_lit(k)} THEN {cp(rs.floor)}" for k, rs in self.rulesets.items() if rs.floor is not None)
        hi = " ".join(
            f"WHEN {_lit(k)} THEN {cp(rs.ceiling)}" for k, rs in self.rulesets.items() if rs.ceiling is not None
        )
        total = f"CAST(CASE s.subject_kind {base or 'WHEN NULL THEN 0'} END + COALESCE(t.sum_capped, 0) AS BIGINT)"
        out.append(
            Statement(
                "subject_total",
                f"SELECT s.subject_id, s.subject_kind, {total} AS total, "
                f"CASE s.subject_kind {lo or 'WHEN NULL THEN NULL'} END AS floor_cp, "
                f"CASE s.subject_kind {hi or 'WHEN NULL THEN NULL'} END AS ceiling_cp "
                "FROM subject_status AS s LEFT JOIN "
                "(SELECT subject_id, CAST(SUM(capped) AS BIGINT) AS sum_capped FROM rule_total "
                "GROUP BY subject_id) AS t ON t.subject_id = s.subject_id WHERE s.status = 'scored'",
            )
        )
        out.append(
            Statement(
                "subject_limited",
                "SELECT subject_id, subject_kind, total, "
                "CASE WHEN floor_cp IS NOT NULL AND total < floor_cp THEN floor_cp "
                "WHEN ceiling_cp IS NOT NULL AND total > ceiling_cp THEN ceiling_cp ELSE total END AS points_cp "
                "FROM subject_total",
            )
        )
        grade_cases = []
        for kind, rs in self.rulesets.items():
            for band in rs.bands:
                tests = [f"l.subject_kind = {_lit(kind)}"]
                if band.min is not None:
                    tests.append(f"l.points_cp >= {cp(band.min)}")
                if band.max is not None:
                    tests.append(f"l.points_cp < {cp(band.max)}")
                grade_cases.append(f"WHEN {' AND '.join(tests)} THEN {_lit(band.grade)}")
        grade = f"CASE {' '.join(grade_cases)} END" if grade_cases else "CAST(NULL AS VARCHAR)"
        out.append(
            Statement(
                "score_out",
                "SELECT s.subject_id, s.subject_kind, s.status, s.ruleset_id, s.ruleset_version, l.points_cp, "
                f"{grade} AS grade FROM subject_status AS s "
                "LEFT JOIN subject_limited AS l ON l.subject_id = s.subject_id",
            )
        )
        out.append(
            Statement(
                "contribution_out",
                "SELECT subject_id, rule_id, points_cp, record_id, 'record' AS kind FROM rule_raw "
                "UNION ALL SELECT subject_id, rule_id, CAST(capped - total AS BIGINT) AS points_cp, "
                "CAST(NULL AS BIGINT) AS record_id, "
                "'rule_cap' AS kind FROM rule_total WHERE capped <> total "
                "UNION ALL SELECT subject_id, 'limit' AS rule_id, CAST(points_cp - total AS BIGINT) AS points_cp, "
                "CAST(NULL AS BIGINT) AS record_id, 'score_limit' AS kind "
                "FROM subject_limited WHERE points_cp <> total",
            )
        )
        return out
