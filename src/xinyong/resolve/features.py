"""The tables the linking model reads: unresolved records and candidate subjects, and their features.

The next step of the pipeline reads these from the store; everything here takes and gives Arrow
tables, so any source (the store, a Parquet export, a test) can feed it. Two input shapes:

- records (`RECORD_COLUMNS`): one unresolved record each: its key, subject kind, the name as written,
  the fragment hashes of the identifier as written (`fragments.fragments_table`), its document
  number and its source department;
- subjects (`SUBJECT_COLUMNS`): one subject each: its id, kind, display name, the fragment hashes of
  its identifier, and the document numbers and sources of the records already linked to it.

`prepare_records` and `prepare_subjects` turn them into one feature table shape (`FEATURE_SCHEMA`),
computing each distinct name and document number once.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from xinyong.resolve.fragment_tables import FRAGMENTS_SCHEMA
from xinyong.resolve.fragments import FRAGMENT_COLUMNS
from xinyong.resolve.names import org_name, person_name

KINDS = ("person", "organisation")
_FRAGMENT_FIELDS = list(FRAGMENTS_SCHEMA)
RECORD_COLUMNS: dict[str, str] = {
    "record_key": "the record's key (string or integer), unique in the table",
    "kind": "person or organisation",
    "name": "the subject's name as the department wrote it (may be null)",
    **{f.name: "keyed hash of an identifier fragment (fragments.fragments_table)" for f in _FRAGMENT_FIELDS},
    "document_nos": "the decision document's number and any case number the record names (list, may be null)",
    "source": "the submitting department",
}
SUBJECT_COLUMNS: dict[str, str] = {
    "subject_id": "the subject's id (string or integer), unique in the table",
    "kind": "person or organisation",
    "name": "the subject's display name (may be null)",
    **{f.name: "keyed hash of an identifier fragment (fragments.fragments_table)" for f in _FRAGMENT_FIELDS},
    "document_nos": "document numbers of the records linked to the subject (list, may be null)",
    "sources": "departments that sent records linked to the subject (list, may be null)",
}
NAME_COLUMNS = (
    "name_hanzi", "name_pinyin_tone", "name_pinyin", "name_pinyin_key", "name_surname",
    "org_full", "org_core", "org_form",
)  # fmt: skip
FEATURE_SCHEMA = pa.schema(
    [pa.field("unique_id", pa.string(), nullable=False), pa.field("kind", pa.string()), pa.field("name", pa.string())]
    + [pa.field(c, pa.string()) for c in NAME_COLUMNS]
    + [pa.field(c, pa.int64()) for c in FRAGMENT_COLUMNS]
    + [
        pa.field("id_keys", pa.list_(pa.int64())),
        pa.field("docs", pa.list_(pa.string())),
        pa.field("sources", pa.list_(pa.string())),
    ]
)


class InputError(ValueError):
    """An input table that the linking model cannot read, with what is wrong and where."""


def _require(table: pa.Table, what: str, columns: dict[str, str]) -> None:
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise InputError(f"{what}: missing column(s) {', '.join(missing)}; expected {', '.join(columns)}")
    kinds = set(pc.unique(table["kind"]).to_pylist()) - set(KINDS)
    if kinds:
        raise InputError(f"{what}: column kind has {sorted(map(str, kinds))}; only {' and '.join(KINDS)} are linked")
    for f in _FRAGMENT_FIELDS:
        if not table.schema.field(f.name).type.equals(f.type) and table[f.name].null_count != len(table):
            raise InputError(f"{what}: column {f.name} is {table.schema.field(f.name).type}, expected {f.type}")


def _key_strings(table: pa.Table, column: str, what: str) -> pa.ChunkedArray:
    keys = table[column]
    if keys.null_count:
        raise InputError(f"{what}: column {column} has {keys.null_count} null key(s); every row needs one")
    keys = pc.cast(keys, pa.string())
    if len(pc.unique(keys)) != len(keys):
        counts = pc.value_counts(keys)
        first = next(v["values"] for v in counts.to_pylist() if v["counts"] > 1)
        raise InputError(f"{what}: column {column} repeats the key {first!r}; keys must be unique")
    return keys


_LIST = pa.list_(pa.string())
_DOC_DROP = re.compile(r"\s+")
_DOC_BRACKETS = str.maketrans({"〔": "(", "〕": ")", "【": "(", "】": ")", "[": "(", "]": ")"})


@lru_cache(maxsize=1 << 16)
def normalise_document_no(number: str | None) -> str | None:
    """A document or case number folded so that 〔2023〕浙0106执123号 equals (2023)浙0106执123号."""
    if number is None:
        return None
    text = _DOC_DROP.sub("", unicodedata.normalize("NFKC", number).translate(_DOC_BRACKETS)).upper()
    return text or None


def _name_features(kinds: pa.ChunkedArray, names: pa.ChunkedArray) -> list[pa.Array]:
    """The name columns of every row; each distinct (kind, name) is normalised once."""
    memo: dict[tuple[str, str | None], tuple[str | None, ...]] = {}
    blank_person, blank_org = (None,) * 5, (None,) * 3

    def one(key: tuple[str, str | None]) -> tuple[str | None, ...]:
        kind, name = key
        if kind == "person":
            return (*person_name(name), *blank_org)
        return (*blank_person, *org_name(name))

    rows = [memo.get(k) or memo.setdefault(k, one(k)) for k in zip(kinds.to_pylist(), names.to_pylist(), strict=True)]
    return [pa.array([r[i] for r in rows], pa.string()) for i in range(len(NAME_COLUMNS))]


def _docs(values: pa.ChunkedArray) -> pa.Array:
    lists = values.to_pylist()
    return pa.array([sorted({d for d in map(normalise_document_no, ds or []) if d}) or None for ds in lists], _LIST)


def _features(table: pa.Table, key: str, what: str, docs: pa.Array, sources: pa.Array) -> pa.Table:
    keys = _key_strings(table, key, what)
    names = pc.cast(table["name"], pa.string())
    kinds = pc.cast(table["kind"], pa.string())
    columns: dict[str, Any] = {"unique_id": keys, "kind": kinds, "name": names}
    columns.update(zip(NAME_COLUMNS, _name_features(kinds, names), strict=True))
    for c in FRAGMENT_COLUMNS:
        columns[c] = pc.cast(table[c], pa.int64())
    whole = pc.cast(table["id_whole"], pa.int64()).to_pylist()
    corrections = pc.cast(table["id_corrections"], pa.list_(pa.int64())).to_pylist()
    columns["id_keys"] = pa.array(
        [([w] if w is not None else []) + (c or []) or None for w, c in zip(whole, corrections, strict=True)],
        pa.list_(pa.int64()),
    )
    columns["docs"] = docs
    columns["sources"] = sources
    return pa.table(columns, schema=FEATURE_SCHEMA)


def prepare_records(records: pa.Table) -> pa.Table:
    """Features of unresolved records (`RECORD_COLUMNS` in, `FEATURE_SCHEMA` out, one row each).

    Raises:
        InputError: a column is missing or of the wrong type, a key is null or repeated, or a kind is unknown.
    """
    _require(records, "records", RECORD_COLUMNS)
    sources = pc.cast(records["source"], pa.string()).to_pylist()
    return _features(
        records,
        "record_key",
        "records",
        _docs(records["document_nos"]),
        pa.array([[s] if s else None for s in sources], _LIST),
    )


def prepare_subjects(subjects: pa.Table) -> pa.Table:
    """Features of candidate subjects (`SUBJECT_COLUMNS` in, `FEATURE_SCHEMA` out, one row each).

    Raises:
        InputError: a column is missing or of the wrong type, an id is null or repeated, or a kind is unknown.
    """
    _require(subjects, "subjects", SUBJECT_COLUMNS)
    sources = subjects["sources"].to_pylist()
    return _features(
        subjects,
        "subject_id",
        "subjects",
        _docs(subjects["document_nos"]),
        pa.array([sorted(set(s or [])) or None for s in sources], _LIST),
    )
