"""The demo city as the linking model sees it: subjects, identified and unresolved records, and the truth.

`generate_city` already writes who each record is really about (`ground_truth/truth.csv`). This
reads a generated city the way ingestion stores it, without a store: a record whose identifier is
checksum-valid is identified and its subject exists (named after the first record that named it);
any other record is unresolved. Beside them, for each unresolved record, the subject it is truly
about, when the store holds that subject at all. Identifier fragments are keyed hashes under the
given vault, as ingestion will store them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from xinyong.domain.identifiers import IdentifierVault, Scheme
from xinyong.resolve.fragment_tables import fragments_table

_KIND = {"cn.ric": "person", "cn.uscc": "organisation"}


@dataclass(frozen=True)
class CityLinking:
    """A city's linking inputs (`resolve.features` shapes) and the truth about its unresolved records.

    Attributes:
        subjects: one row per subject the store would hold.
        identified: records linked by a valid identifier (with `subject_id`).
        unresolved: records without a valid identifier.
        truth: per unresolved record: record_key, true_subject_key, true_subject_id (null when the
            store has no such subject), identifier_noise, name_variant.
    """

    subjects: pa.Table
    identified: pa.Table
    unresolved: pa.Table
    truth: pa.Table


def _department_rows(con: duckdb.DuckDBPyConnection, departments: Path) -> None:
    """Every row of the department files, read as ingestion reads them: in each file's encoding,
    below its title rows, through its source's header mapping (CSV in GB18030 under Chinese
    headers, workbooks, JSON lines, Parquet)."""
    import hashlib
    from datetime import UTC, datetime

    from xinyong.domain.catalog import load_catalog
    from xinyong.domain.records import RowValidator
    from xinyong.ingest.readers import FORMATS, file_format, read_chunks

    catalog = load_catalog()
    vault = IdentifierVault(bytes(32))  # reading only: nothing is hashed under it
    rows: list[dict[str, object]] = []
    for path in sorted(departments.iterdir()):
        source = path.name.split(".")[0]
        if path.suffix.lower() not in FORMATS or source not in catalog.sources:
            continue
        validator = RowValidator(catalog, source, vault, datetime.now(UTC).date())
        for chunk in read_chunks(path, file_format(path), validator, 10_000, hashlib.sha256()):
            for i in range(len(chunk.lines)):
                r = chunk.row(i)
                rows.append({"source": source, **{c: _text(r.get(c)) for c in _COLUMNS}})
    schema = pa.schema([("source", pa.string())] + [(c, pa.string()) for c in _COLUMNS])
    table = pa.Table.from_pylist(rows, schema=schema)
    con.register("rows_text", table)
    con.sql(
        "SELECT source, source_ref, TRY_CAST(revision AS INTEGER) AS revision, subject_name AS name, id_scheme, "
        "id_number, document_no, case_no FROM rows_text"
    ).create("rows_all")


_COLUMNS = ("source_ref", "revision", "subject_name", "id_scheme", "id_number", "document_no", "case_no")


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def load_city(city: Path, vault: IdentifierVault) -> CityLinking:
    """Read a city written by `generate_city` into linking inputs and truth (see `CityLinking`)."""
    con = duckdb.connect()
    try:
        _department_rows(con, city / "departments")
        truth_csv = city / "ground_truth" / "truth.csv"
        con.sql(f"SELECT * FROM read_csv('{truth_csv}', all_varchar = true, header = true)").create("truth")
        # The latest revision of each accepted record, in the order the files list them.
        latest = con.sql(
            "SELECT r.*, t.true_subject_key, t.identifier_noise, t.name_variant FROM rows_all r "
            "JOIN truth t ON t.source = r.source AND t.source_ref = r.source_ref "
            "AND CAST(t.revision AS INTEGER) = r.revision WHERE t.expected <> 'rejected' "
            "QUALIFY row_number() OVER (PARTITION BY r.source, r.source_ref ORDER BY r.revision DESC) = 1 "
            "ORDER BY r.source, r.source_ref"
        ).to_arrow_table()
    finally:
        con.close()
    rows = latest.to_pylist()
    schemes = {s: Scheme(s, "person" if s == "cn.ric" else "organisation", s == "cn.ric") for s in _KIND}
    subject_of: dict[tuple[str, str], int] = {}
    subject_rows: list[dict[str, object]] = []
    identified, unresolved = [], []
    for row in rows:
        key = f"{row['source']}/{row['source_ref']}"
        scheme = row["id_scheme"]
        checked = schemes[scheme].check(row["id_number"]) if row["id_number"] else None
        docs = [d for d in (row["document_no"], row["case_no"]) if d]
        record = {"record_key": key, "kind": _KIND[scheme], "name": row["name"], "scheme": scheme,
                  "number": row["id_number"], "document_nos": docs or None, "source": row["source"],
                  "true_subject_key": row["true_subject_key"], "identifier_noise": row["identifier_noise"],
                  "name_variant": row["name_variant"]}  # fmt: skip
        if checked is not None and checked.valid:
            ident = (scheme, checked.compact)
            if ident not in subject_of:
                subject_of[ident] = len(subject_rows) + 1
                subject_rows.append({"subject_id": subject_of[ident], "kind": _KIND[scheme], "name": row["name"],
                                     "scheme": scheme, "number": checked.compact, "docs": set(), "sources": set(),
                                     "key": row["true_subject_key"]})  # fmt: skip
            subject = subject_rows[subject_of[ident] - 1]
            subject["docs"].update(docs)  # type: ignore[attr-defined]
            subject["sources"].add(row["source"])  # type: ignore[attr-defined]
            identified.append({**record, "subject_id": subject_of[ident]})
        else:
            unresolved.append(record)
    by_key = {str(s["key"]): int(s["subject_id"]) for s in subject_rows}  # type: ignore[call-overload]
    subjects = _with_fragments(
        vault,
        [{**s, "document_nos": sorted(s["docs"]) or None, "sources": sorted(s["sources"])} for s in subject_rows],  # type: ignore[call-overload]
        ["subject_id", "kind", "name", "document_nos", "sources"],
    )
    record_columns = ["record_key", "kind", "name", "document_nos", "source"]
    truth = pa.Table.from_pylist(
        [
            {
                "record_key": r["record_key"],
                "true_subject_key": r["true_subject_key"],
                "true_subject_id": by_key.get(str(r["true_subject_key"])),
                "identifier_noise": r["identifier_noise"],
                "name_variant": r["name_variant"],
            }
            for r in unresolved
        ],
        schema=pa.schema(
            [
                ("record_key", pa.string()),
                ("true_subject_key", pa.string()),
                ("true_subject_id", pa.int64()),
                ("identifier_noise", pa.string()),
                ("name_variant", pa.string()),
            ]
        ),
    )
    return CityLinking(
        subjects=subjects,
        identified=_with_fragments(vault, identified, [*record_columns, "subject_id"]),
        unresolved=_with_fragments(vault, unresolved, record_columns),
        truth=truth,
    )


def _with_fragments(vault: IdentifierVault, rows: list[dict[str, object]], columns: list[str]) -> pa.Table:
    base = pa.Table.from_pylist([{c: r[c] for c in columns} for r in rows], schema=_schema(columns))
    frags = fragments_table(vault, [str(r["scheme"]) for r in rows], [r["number"] for r in rows])
    return pa.Table.from_arrays(base.columns + frags.columns, names=base.column_names + frags.column_names)


def _schema(columns: list[str]) -> pa.Schema:
    types = {"subject_id": pa.int64(), "document_nos": pa.list_(pa.string()), "sources": pa.list_(pa.string())}
    return pa.schema([(c, types.get(c, pa.string())) for c in columns])
