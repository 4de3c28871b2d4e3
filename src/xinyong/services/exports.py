"""Moving records and scores between the store and the batch engines, and out to files.

The batch engines read Parquet: the records known at a moment, and the subjects to score.
Exports stream with bounded memory from the database driver's own cursor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import BigInteger, Column, Connection, Engine, MetaData, Table, Text, cast, func, select

from xinyong.domain.errors import InvalidInput
from xinyong.engines.scoring_sql import AttributeInput
from xinyong.store.bulk import insert_rows, timestamp
from xinyong.store.tables import scores, subjects

EXPORT_BATCH = 50_000


# The records' columns for the batch engines; the attributes a pipeline reads follow as typed
# columns (`record_schema`).
RECORD_SCHEMA = pa.schema(
    [
        ("record_id", pa.int64()),
        ("subject_id", pa.int64()),
        ("subject_kind", pa.string()),
        ("record_type", pa.string()),
        ("decided_on", pa.date32()),
        ("valid_from", pa.date32()),
        ("valid_until", pa.date32()),
        ("status", pa.string()),
    ]
)
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "decimal": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
}


def record_schema(inputs: Mapping[str, AttributeInput]) -> pa.Schema:
    """The `records_in` layout for a pipeline with these inputs: RECORD_SCHEMA, then `a_<name>`."""
    fields = [pa.field(inp.column, ARROW_TYPES[inp.type]) for _, inp in sorted(inputs.items())]
    return pa.schema([*RECORD_SCHEMA, *fields])


def attribute_arrays(
    rows: Sequence[tuple[str, Mapping[str, Any]]], inputs: Mapping[str, AttributeInput]
) -> list[pa.Array]:
    """The typed attribute columns of `record_schema` for (record type, attributes as parsed JSON)
    rows, in its order: what the export extracts in the store, for records already in memory."""
    out = []
    for _, inp in sorted(inputs.items()):
        values = [attrs.get(inp.name) if rt in inp.record_types else None for rt, attrs in rows]
        if inp.type == "date":  # JSON holds a date as its ISO text
            out.append(pa.array(values, pa.string()).cast(pa.date32()))
        else:
            out.append(pa.array(values, ARROW_TYPES[inp.type]))
    return out


# The JSON types each value type takes (SQLite's json_type, PostgreSQL's jsonb_typeof); a value of
# another type is left out (NULL), as the online scorer counts no value of another kind, and one
# bad value must not stop a batch (a catalog may have retyped an attribute since it was stored).
_JSON_TYPES = {
    "sqlite": {
        "string": "IN ('text')",
        "date": "IN ('text')",
        "decimal": "IN ('integer', 'real')",
        "integer": "IN ('integer')",
        "boolean": "IN ('true', 'false')",
    },
    "postgresql": {
        "string": "= 'string'",
        "date": "= 'string'",
        "decimal": "= 'number'",
        "integer": "= 'number'",
        "boolean": "= 'boolean'",
    },
}


def _extracted(dialect: str, inp: AttributeInput) -> tuple[str, list[str]]:
    """SQL giving the attribute as text on the records of its types, NULL elsewhere and where its
    JSON type does not fit; its parameters.

    Numbers and booleans come as text, not as the database's numbers, so Arrow parses the digits
    stored (SQLite's `->` gives the JSON's own text; PostgreSQL's `->>` that of its JSONB number,
    the same value), as the online scorer's JSON reader does. A number with a fraction where an
    integer is due is left out: the batch's integer column cannot hold it (the online scorer would
    compare it as a number).
    """
    types = sorted(inp.record_types)
    fits = _JSON_TYPES["postgresql" if dialect == "postgresql" else "sqlite"][inp.type]
    if dialect == "postgresql":
        mark, path = "%s", inp.name
        test, value = f"jsonb_typeof(r.attributes -> %s) {fits}", "r.attributes ->> %s"
        params = [path, path]
        if inp.type == "integer":
            test += " AND r.attributes ->> %s ~ '^-?[0-9]+$'"
            params = [path, path, path]
    else:
        mark, path = "?", f"$.{inp.name}"
        test = f"json_type(r.attributes, ?) {fits}"
        value = "r.attributes ->> ?" if inp.type in ("string", "date") else "r.attributes -> ?"
        params = [path, path]
    in_types = ", ".join([mark] * len(types))
    return f"CASE WHEN r.record_type IN ({in_types}) AND {test} THEN {value} END", [*types, *params]


def _chosen_subjects(conn: Connection, subject_ids: Sequence[int]) -> Table:
    """A temporary table of the subjects to score, so any number of them can be joined."""
    chosen = Table("rescore_subjects", MetaData(), Column("id", BigInteger, primary_key=True), prefixes=["TEMPORARY"])
    chosen.drop(conn, checkfirst=True)
    chosen.create(conn)
    ids = sorted(set(subject_ids))
    for i in range(0, len(ids), EXPORT_BATCH):
        insert_rows(conn, chosen, ("id",), [(x,) for x in ids[i : i + EXPORT_BATCH]])
    return chosen


def export_inputs(
    conn: Connection,
    known_at: datetime,
    subject_ids: Sequence[int] | None,
    work: Path,
    inputs: Mapping[str, AttributeInput],
) -> tuple[str, str]:
    """Write the records known at `known_at` and the subjects to score as Parquet; bounded memory.

    The records carry the attributes a pipeline reads (its `inputs`) as typed columns, each
    only on the records of the types it is read from: the store extracts them from the JSON as
    it reads, so the engines parse none (JSON parsing was a third of the embedded pipeline's
    time over ten million records), and the other attributes are neither written nor read.
    Rows are streamed from the driver's cursor in batches straight into Arrow: dates and
    attributes come as text and are parsed by Arrow, so no per-value conversion happens in
    Python.
    """
    source, only = "records AS r", ""
    sq = select(subjects.c.id, subjects.c.kind)
    if subject_ids is not None:
        chosen = _chosen_subjects(conn, subject_ids)
        if conn.dialect.name == "sqlite":
            # The chosen subjects drive, each looking up its records' ids in the subject index
            # (CROSS JOIN: SQLite's order to follow; its planner would scan every record); the
            # rows are then read in the order of their ids, that is of their place in the file,
            # not subject by subject all over it. On a store larger than the page cache,
            # measured: a fifth less time for the records of 10,000 subjects of a million.
            ids = f"SELECT r2.id FROM {chosen.name} AS c CROSS JOIN records AS r2 ON r2.subject_id = c.id"
            only = f"r.id IN ({ids}) AND "
        else:
            source = f"{chosen.name} AS c JOIN records AS r ON r.subject_id = c.id"
        sq = sq.join_from(subjects, chosen, chosen.c.id == subjects.c.id)
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    extracted = [_extracted(conn.dialect.name, inp) for _, inp in sorted(inputs.items())]
    attributes = "".join(f", {sql}" for sql, _ in extracted)
    sql = (
        "SELECT r.id, r.subject_id, r.subject_kind, r.record_type, CAST(r.decided_on AS TEXT), "
        f"CAST(r.valid_from AS TEXT), CAST(r.valid_until AS TEXT), r.status{attributes} "
        f"FROM {source} WHERE {only}r.subject_id IS NOT NULL AND r.recorded_at <= {mark} "
        f"AND (r.superseded_at IS NULL OR r.superseded_at > {mark})"
    )  # the same selection as known_versions(), written once for the driver's own cursor
    known = timestamp(conn, known_at)
    rec_path, sub_path = str(work / "records.parquet"), str(work / "subjects.parquet")
    dbapi: Any = conn.connection.driver_connection
    # A server-side cursor on PostgreSQL, so the rows stream; SQLite's cursor streams anyway.
    cursor = dbapi.cursor(name="xinyong_export") if conn.dialect.name == "postgresql" else dbapi.cursor()
    schema = record_schema(inputs)
    try:
        cursor.execute(sql, (*(p for _, params in extracted for p in params), known, known))
        with pq.ParquetWriter(rec_path, schema) as writer:
            while part := cursor.fetchmany(EXPORT_BATCH):
                cols = list(zip(*part, strict=True))
                arrays = [
                    pa.array(cols[0], pa.int64()),
                    pa.array(cols[1], pa.int64()),
                    pa.array(cols[2], pa.string()),
                    pa.array(cols[3], pa.string()),
                    *(pa.array(cols[i], pa.string()).cast(pa.date32()) for i in (4, 5, 6)),
                    pa.array(cols[7], pa.string()),
                    *(pa.array(c, pa.string()).cast(f.type) for c, f in zip(cols[8:], list(schema)[8:], strict=True)),
                ]
                writer.write_batch(pa.record_batch(arrays, schema=schema))
    finally:
        cursor.close()
    subject_rows = conn.execute(sq).all()
    pq.write_table(
        pa.table(
            {
                "subject_id": pa.array([r[0] for r in subject_rows], pa.int64()),
                "subject_kind": pa.array([r[1] for r in subject_rows], pa.string()),
            }
        ),
        sub_path,
    )
    return rec_path, sub_path


def export_current_scores(engine: Engine, path: Path) -> int:
    """Write each subject's latest score to Parquet or CSV (by the file's extension)."""
    import pyarrow.csv as pacsv

    latest = select(func.max(scores.c.id)).group_by(scores.c.subject_id)
    q = (
        select(
            scores.c.subject_id,
            scores.c.subject_kind,
            scores.c.status,
            scores.c.points_cp,
            scores.c.grade,
            scores.c.ruleset_id,
            scores.c.ruleset_version,
            scores.c.catalog_version,
            cast(scores.c.as_of, Text),
            scores.c.known_at,
        )
        .where(scores.c.id.in_(latest))
        .order_by(scores.c.subject_id)
    )
    schema = pa.schema(
        [
            ("subject_id", pa.int64()),
            ("kind", pa.string()),
            ("status", pa.string()),
            ("points", pa.float64()),
            ("grade", pa.string()),
            ("ruleset_id", pa.string()),
            ("ruleset_version", pa.string()),
            ("catalog_version", pa.string()),
            ("as_of", pa.date32()),
            ("known_at", pa.timestamp("us", tz="UTC")),
        ]
    )
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InvalidInput(f"{path.name}: write scores to a .parquet or .csv file")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer: Any = pq.ParquetWriter(str(path), schema) if suffix == ".parquet" else pacsv.CSVWriter(str(path), schema)
    n = 0
    with engine.connect() as conn, writer:
        result = conn.execution_options(stream_results=True, yield_per=EXPORT_BATCH).execute(q)
        for part in result.partitions(EXPORT_BATCH):
            cols = list(zip(*part, strict=True))
            batch = pa.record_batch(
                [
                    pa.array(cols[0], pa.int64()),
                    pa.array(cols[1], pa.string()),
                    pa.array(cols[2], pa.string()),
                    pa.array([None if p is None else p / 100 for p in cols[3]], pa.float64()),
                    pa.array(cols[4], pa.string()),
                    pa.array(cols[5], pa.string()),
                    pa.array(cols[6], pa.string()),
                    pa.array(cols[7], pa.string()),
                    pa.array(cols[8], pa.string()).cast(pa.date32()),
                    pa.array(cols[9], pa.timestamp("us", tz="UTC")),
                ],
                schema=schema,
            )
            writer.write_batch(batch)
            n += batch.num_rows
    return n
