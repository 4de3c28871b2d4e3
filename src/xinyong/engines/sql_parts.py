"""The parts the scoring pipeline's SQL is built from: literals, attribute columns, ENUM types, the
statements as written for DuckDB and translated for other engines, and the day arithmetic of
publication periods."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from xinyong.domain.catalog.ruleset_models import ProportionalPoints, Rule
from xinyong.domain.scoring import add_months

if TYPE_CHECKING:
    from sqlglot import exp

KINDS = ("organisation", "person")
RECORD_COLUMNS = (
    "record_id", "subject_id", "subject_kind", "record_type", "decided_on", "valid_from", "valid_until", "status",
)  # fmt: skip


def lit(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def attribute_column(name: str) -> str:
    return f"a_{name}"


@dataclass(frozen=True)
class AttributeInput:
    """An attribute the pipeline reads: the column `a_<name>` of `records_in`, of the attribute's
    value type, holding the attribute of the records of `record_types` (NULL on the others)."""

    name: str
    type: str
    record_types: frozenset[str]

    @property
    def column(self) -> str:
        return attribute_column(self.name)


@dataclass(frozen=True)
class Statement:
    """One named view of the pipeline, as a SELECT in DuckDB's dialect."""

    view: str
    select: str

    def for_engine(self, dialect: str) -> str:
        if dialect == "duckdb":
            return self.select
        import sqlglot  # only the distributed engine needs the translation

        tree = sqlglot.parse_one(self.select, read="duckdb")
        return tree.transform(_without_enums).sql(dialect)


def _without_enums(node: exp.Expression) -> exp.Expression:
    """A cast to an ENUM (DuckDB's dictionary-encoded text) is the text itself elsewhere."""
    from sqlglot import exp

    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.ENUM:
        inner: exp.Expression = node.this
        return inner
    return node


def enum_type(values: Iterable[str]) -> str:
    """DuckDB's type for text that takes one of few values: one byte a row in the tables between
    the statements and in the outputs, which reach Arrow as dictionary arrays (a third of the
    time of building the text of millions of rows). Other engines see plain text throughout
    (`Statement.for_engine`)."""
    ordered = sorted(set(values))
    return f"ENUM({', '.join(lit(v) for v in ordered)})" if ordered else "VARCHAR"


def attributes_read(rule: Rule) -> set[str]:
    """The attributes a rule reads."""
    names = {c.attribute for c in rule.conditions}
    if isinstance(rule.points, ProportionalPoints):
        names.add(rule.points.attribute)
    return names


def last_start_ended_by(day: date, months: int) -> date:
    """The last valid_from whose publication period of `months` ends on or before `day`."""
    start = add_months(day, -months)
    while add_months(start + timedelta(days=1), months) <= day:
        start += timedelta(days=1)
    while add_months(start, months) > day:
        start -= timedelta(days=1)
    return start
