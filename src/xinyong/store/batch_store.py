"""Writing the chunks of one ingestion batch: few statements per chunk, little Python per row.

What costs time when a million rows are stored is work per row: a Python loop, a bound
parameter, and above all a look-up in a large index (on a busy machine a random probe into the
identifier index costs more than inserting the record). So:

- a subject is resolved once per distinct identifier and batch: the batch keeps a map of the
  identifiers it has met, and asks the store only about identifiers new to the batch, a chunk's
  worth in one statement; an identifier the store has never seen gets a new subject id, and
  the first row naming it is marked to create it;
- a chunk's rows, with their subjects, are loaded as they are into a temporary staging table with
  one `executemany` (measured: a third cheaper than an `executemany` into the indexed records
  table), and the new subjects, their identifiers, the records and the unresolved queue are
  filled from it set-based.

The staging table lives in the batch's transaction (created after the batch opens, dropped before
it commits, gone with it if it rolls back) and holds what the records will hold: keyed hashes and
masks, never a raw resident number.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Column, Connection, Date, Integer, MetaData, String, Table, Text, text

from xinyong.domain.records import ValidRow
from xinyong.store.bulk import allocate_ids, insert_rows, timestamp
from xinyong.store.ingest_repo import StoredVersion
from xinyong.store.tables import subjects
from xinyong.store.types import Json

IN_LIST = 2000  # values per IN (...) list: well below SQLite's limit of bound parameters
_HASH, _WHY_UNRESOLVED = (operator.itemgetter(ValidRow._fields.index(f)) for f in ("id_hash", "unresolved"))


class Links(NamedTuple):
    """A chunk's rows' subjects: each row's subject id, and which rows create their subject."""

    subject_ids: list[int | None]
    creates: list[int | None]  # 1 on the first row naming a subject new to the store
    created: int


_metadata = MetaData()
# One column per field of ValidRow, in its order, then the subject: validated rows load as they are.
stage = Table(
    "xy_stage",
    _metadata,
    Column("line", Integer, primary_key=True, autoincrement=False),
    Column("source_ref", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("record_type", String(64), nullable=False),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_name", String(200)),
    Column("scheme", String(32), nullable=False),
    Column("id_hash", String(64)),
    Column("id_masked", String(64)),
    Column("id_public", String(64)),
    Column("unresolved", Text),
    Column("decided_on", Date, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date),
    Column("document_no", String(64)),
    Column("attributes", Json, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("subject_id", BigInteger),
    Column("new_subject", Integer),  # 1 on the row that creates its subject (the first naming it)
    prefixes=["TEMPORARY"],
)
STAGE_COLUMNS = tuple(c.name for c in stage.columns)  # a test holds them to ValidRow's fields

# Look-ups by a list of values. PostgreSQL takes the list as one array joined with unnest(): with
# an IN list of thousands and no statistics (a table filling in the open transaction has none)
# it expects every row to match and scans the whole table for each chunk.
_VERSIONS = {
    "sqlite": "SELECT id, source_ref, revision, content_hash, batch_id, batch_line, superseded_at IS NULL "
    "FROM records WHERE source_id = ? AND source_ref IN ({marks})",
    "postgresql": "SELECT r.id, r.source_ref, r.revision, r.content_hash, r.batch_id, r.batch_line, "
    "r.superseded_at IS NULL FROM unnest(%(values)s::varchar[]) AS u(ref) "
    "JOIN records r ON r.source_id = %(source_id)s AND r.source_ref = u.ref",
}
_IDENTIFIERS_OF = {
    "sqlite": "SELECT value_hash, subject_id FROM identifiers WHERE value_hash IN ({marks})",
    "postgresql": "SELECT i.value_hash, i.subject_id FROM unnest(%(values)s::varchar[]) AS u(h) "
    "JOIN identifiers i ON i.value_hash = u.h",
}
_SUBJECTS = """
    INSERT INTO subjects (id, kind, display_name, created_at, created_by_batch)
    SELECT s.subject_id, s.subject_kind, s.subject_name, :at, :batch_id
    FROM xy_stage s WHERE s.new_subject = 1 ORDER BY s.subject_id
"""
_IDENTIFIERS = """
    INSERT INTO identifiers (subject_id, scheme, value_hash, masked, value, created_at)
    SELECT s.subject_id, s.scheme, s.id_hash, s.id_masked, s.id_public, :at
    FROM xy_stage s WHERE s.new_subject = 1 ORDER BY s.subject_id
"""
_RECORDS = """
    INSERT INTO records (
        source_id, source_ref, revision, record_type, subject_kind, subject_id, link_method, subject_name,
        id_scheme, id_hash, id_masked, decided_on, valid_from, valid_until, document_no, attributes, status,
        content_hash, batch_id, batch_line, recorded_at, superseded_at)
    SELECT :source_id, s.source_ref, s.revision, s.record_type, s.subject_kind, s.subject_id,
        CASE WHEN s.subject_id IS NULL THEN NULL ELSE 'identifier' END, s.subject_name,
        s.scheme, s.id_hash, s.id_masked, s.decided_on, s.valid_from, s.valid_until, s.document_no, s.attributes,
        'active', s.content_hash, :batch_id, s.line, :at, NULL
    FROM xy_stage s
    ORDER BY s.line
"""
_UNRESOLVED = """
    INSERT INTO unresolved (record_id, reason_code, reason, queued_at)
    SELECT r.id,
        CASE WHEN s.unresolved = 'missing identifier' THEN 'missing_identifier' ELSE 'invalid_identifier' END,
        substr(s.unresolved, 1, 300), :at
    FROM xy_stage s
    JOIN records r ON r.source_id = :source_id AND r.source_ref = s.source_ref AND r.revision = s.revision
    WHERE s.unresolved IS NOT NULL
    ORDER BY s.line
"""


class BatchStore:
    """Writes the chunks of one batch, on the batch's connection, inside its transaction."""

    def __init__(self, conn: Connection, source_id: str, batch_id: int, now: datetime) -> None:
        self._conn = conn
        self._source_id = source_id
        self._params: dict[str, Any] = {"source_id": source_id, "batch_id": batch_id, "at": timestamp(conn, now)}
        # Every identifier this batch has met, and its subject, by keyed hash alone: the hash
        # covers the scheme (IdentifierVault.digest), and a tuple per key would cost a quarter
        # of this map's memory (about 25 MB in a batch that meets 400,000 identifiers).
        self._subjects: dict[str, int] = {}
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {stage.name}")
        stage.create(conn)

    def close(self) -> None:
        stage.drop(self._conn)

    def _matching(self, sql: dict[str, str], values: Sequence[str], *, source: bool = False) -> list[Any]:
        """Rows of `sql[dialect]` for a list of values (see _VERSIONS for why two forms)."""
        if self._conn.dialect.name == "postgresql":
            params = {"values": list(values), "source_id": self._source_id}
            return list(self._conn.exec_driver_sql(sql["postgresql"], params))
        head = (self._source_id,) if source else ()
        rows: list[Any] = []
        for i in range(0, len(values), IN_LIST):
            piece = values[i : i + IN_LIST]
            marks = ", ".join(["?"] * len(piece))
            rows.extend(self._conn.exec_driver_sql(sql["sqlite"].format(marks=marks), (*head, *piece)))
        return rows

    def stored_versions(self, refs: Sequence[str]) -> dict[str, list[StoredVersion]]:
        """Every stored version of these references of the batch's source, by reference."""
        out: dict[str, list[StoredVersion]] = {}
        for row in sorted(self._matching(_VERSIONS, refs, source=True), key=operator.itemgetter(0)):
            version = StoredVersion(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]))
            out.setdefault(version.source_ref, []).append(version)
        return out

    def link(self, rows: Sequence[ValidRow]) -> Links:
        """The subject of each row (None when it cannot be linked), creating subjects as needed.

        A checksum-valid identifier the store does not know gets a new subject, which takes its
        kind and name from the first row that names it; subjects are numbered in that order.
        """
        keys: list[str | None] = list(map(_HASH, rows))
        for i in [i for i, why in enumerate(map(_WHY_UNRESOLVED, rows)) if why is not None]:
            keys[i] = None  # cannot be linked (a row with no reason to be unresolved has a hash)
        known = self._subjects
        new = [k for k in dict.fromkeys(keys) if k is not None and k not in known]  # in order of first line
        creates: list[int | None] = [None] * len(rows)
        if new:
            known.update(self._find(new))
            missing = [k for k in new if k not in known]
            if missing:
                first = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))  # each key's first row
                ids = allocate_ids(self._conn, subjects, len(missing))
                known.update(zip(missing, ids, strict=True))
                for k in missing:
                    creates[first[k]] = 1
        return Links(list(map(known.get, keys)), creates, creates.count(1))  # type: ignore[arg-type]

    def _find(self, keys: list[str]) -> dict[str, int]:
        """The subjects the store already holds for these identifiers (by keyed hash)."""
        return {value_hash: int(subject_id) for value_hash, subject_id in self._matching(_IDENTIFIERS_OF, keys)}

    def store(self, rows: Sequence[ValidRow], links: Links) -> None:
        """Insert the rows as records of their subjects (creating the new subjects first), and
        queue those that cannot be linked."""
        conn = self._conn
        conn.execute(stage.delete())
        staged = list(map(operator.add, rows, zip(links.subject_ids, links.creates, strict=True)))
        insert_rows(conn, stage, STAGE_COLUMNS, staged)
        if links.created:
            conn.execute(text(_SUBJECTS), self._params)
            conn.execute(text(_IDENTIFIERS), self._params)
        conn.execute(text(_RECORDS), self._params)
        conn.execute(text(_UNRESOLVED), self._params)
