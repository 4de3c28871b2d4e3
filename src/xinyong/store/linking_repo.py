"""Reads and writes of match review: what the linking model reads from the store, and what it writes.

The model (`xinyong.resolve`) takes and gives Arrow tables; this module turns the store into its
inputs (unresolved records, candidate subjects, identified records for training) and its output
into proposal rows. Subjects are compared by their stored identifier hash alone
(`identifiers.digest64`): the store holds no subject's number in plain, and an unresolved
record's corrections are hashed the same way at ingestion (`link_fragments`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, and_, exists, func, insert, select

from xinyong.domain.clock import CLOCK
from xinyong.domain.identifiers import digest64
from xinyong.store.linking_tables import link_fragments, link_judgements, link_models, link_proposals
from xinyong.store.tables import identifiers, records, subjects, unresolved

IN_LIST = 2000
# The fragment columns of `resolve.fragments`, read off the table (importing the model would load pypinyin).
FRAGMENT_COLUMNS = tuple(c.name for c in link_fragments.c if c.name.startswith("id_") and c.name != "id_corrections")
_LIST = pa.list_(pa.string())
_RECORD_SCHEMA = pa.schema(
    [pa.field("record_key", pa.string()), pa.field("kind", pa.string()), pa.field("name", pa.string())]
    + [pa.field(c, pa.int64()) for c in FRAGMENT_COLUMNS]
    + [
        pa.field("id_corrections", pa.list_(pa.int64())),
        pa.field("document_nos", _LIST),
        pa.field("source", pa.string()),
    ]
)
_SUBJECT_SCHEMA = pa.schema(
    [pa.field("subject_id", pa.string()), pa.field("kind", pa.string()), pa.field("name", pa.string())]
    + [pa.field(c, pa.int64()) for c in FRAGMENT_COLUMNS]
    + [pa.field("id_corrections", pa.list_(pa.int64())), pa.field("document_nos", _LIST), pa.field("sources", _LIST)]
)
_CURRENT = records.c.superseded_at.is_(None)
_ACTIVE = and_(_CURRENT, records.c.status == "active")


# -- models ---------------------------------------------------------------------------------------------


def save_model(
    conn: Connection, version: str, document: str, trained_at: datetime, figures: dict[str, Any], by: str
) -> bool:
    """Keep a model file under its version, saved now (the clock's time); False when that version is kept already."""
    if conn.scalar(select(link_models.c.id).where(link_models.c.version == version)) is not None:
        return False
    conn.execute(
        insert(link_models).values(
            version=version, trained_at=trained_at, saved_at=CLOCK.now(), saved_by=by, figures=figures, model=document
        )
    )
    return True


def model_document(conn: Connection, version: str | None = None) -> Any:
    """The kept model of this version (default: the one saved last), or None."""
    q = select(link_models).order_by(link_models.c.id.desc()).limit(1)
    if version is not None:
        q = select(link_models).where(link_models.c.version == version)
    return conn.execute(q).first()


# -- the model's inputs -----------------------------------------------------------------------------------


def unresolved_records(conn: Connection, *, batch_id: int | None = None) -> pa.Table:
    """Current, active, unlinked records (of one batch, or all), in the model's record shape."""
    q = (
        select(
            records.c.id,
            records.c.subject_kind,
            records.c.subject_name,
            records.c.document_no,
            records.c.source_id,
            *(link_fragments.c[c] for c in FRAGMENT_COLUMNS),
            link_fragments.c.id_corrections,
        )
        .select_from(unresolved)
        .join(records, records.c.id == unresolved.c.record_id)  # the queue is small: it drives the join
        .outerjoin(link_fragments, link_fragments.c.record_id == records.c.id)
        .where(
            unresolved.c.resolved_at.is_(None),
            _ACTIVE,
            records.c.subject_id.is_(None),
            records.c.subject_kind.in_(("person", "organisation")),
        )
        .order_by(records.c.id)
    )
    if batch_id is not None:
        q = q.where(records.c.batch_id == batch_id)
    rows = [
        {
            "record_key": str(r.id),
            "kind": r.subject_kind,
            "name": r.subject_name,
            **{c: r._mapping[c] for c in FRAGMENT_COLUMNS},
            "id_corrections": _ints(r.id_corrections),
            "document_nos": [r.document_no] if r.document_no else None,
            "source": r.source_id,
        }
        for r in conn.execute(q)
    ]
    return pa.Table.from_pylist(rows, schema=_RECORD_SCHEMA)


def identified_records(conn: Connection) -> pa.Table:
    """Current records linked by a valid identifier, for training, in the model's record shape."""
    q = select(
        records.c.id,
        records.c.subject_kind,
        records.c.subject_name,
        records.c.id_hash,
        records.c.document_no,
        records.c.source_id,
    ).where(_CURRENT, records.c.link_method == "identifier", records.c.id_hash.isnot(None))
    rows = [
        {
            "record_key": str(r.id),
            "kind": r.subject_kind,
            "name": r.subject_name,
            "id_whole": digest64(r.id_hash),
            "id_corrections": [],
            "document_nos": [r.document_no] if r.document_no else None,
            "source": r.source_id,
        }
        for r in conn.execute(q.order_by(records.c.id))
    ]
    return pa.Table.from_pylist(rows, schema=_RECORD_SCHEMA)


def candidate_subjects(conn: Connection, kinds: Iterable[str] = ("person", "organisation")) -> pa.Table:
    """Every subject of these kinds, with its identifier hash and the documents and sources of its records."""
    whole: dict[int, int] = {}
    q = select(identifiers.c.subject_id, identifiers.c.value_hash).order_by(identifiers.c.id)
    for sid, h in conn.execute(q):
        whole.setdefault(int(sid), digest64(h))
    docs: dict[int, set[str]] = {}
    sources: dict[int, set[str]] = {}
    linked = select(records.c.subject_id, records.c.document_no, records.c.source_id).where(
        _CURRENT, records.c.subject_id.isnot(None)
    )
    for sid, doc, src in conn.execute(linked):
        sources.setdefault(int(sid), set()).add(src)
        if doc:
            docs.setdefault(int(sid), set()).add(doc)
    rows = [
        {
            "subject_id": str(s.id),
            "kind": s.kind,
            "name": s.display_name,
            "id_whole": whole.get(int(s.id)),
            "id_corrections": [],
            "document_nos": sorted(docs.get(int(s.id), ())) or None,
            "sources": sorted(sources.get(int(s.id), ())) or None,
        }
        for s in conn.execute(select(subjects).where(subjects.c.kind.in_(list(kinds))).order_by(subjects.c.id))
    ]
    return pa.Table.from_pylist(rows, schema=_SUBJECT_SCHEMA)


def _ints(value: Any) -> list[int]:
    if value is None:
        return []
    return [int(v) for v in (json.loads(value) if isinstance(value, str) else value)]


# -- proposals and judgements ---------------------------------------------------------------------------


def standing() -> Any:
    """Judgements that no undo has reversed (undos themselves excluded)."""
    undo = link_judgements.alias("undo")
    return and_(
        link_judgements.c.outcome != "undo",
        ~exists().where(undo.c.reverses == link_judgements.c.id),
    )


def rejected_pairs(conn: Connection, refs: Sequence[tuple[str, str]]) -> set[tuple[str, str, int]]:
    """(source, ref, subject) pairs a standing judgement rejected, among these records."""
    out: set[tuple[str, str, int]] = set()
    wanted = set(refs)
    q = select(link_judgements.c.source_id, link_judgements.c.source_ref, link_judgements.c.subject_id).where(
        standing(), link_judgements.c.outcome == "reject"
    )
    for src, ref, sid in conn.execute(q):
        if (src, ref) in wanted:
            out.add((src, ref, int(sid)))
    return out


def insert_proposals(conn: Connection, proposals: pa.Table) -> list[int]:
    """Keep the model's proposals (`PROPOSAL_SCHEMA`), leaving out rejected pairs and repeats,
    each created now (the clock's time)."""
    if len(proposals) == 0:
        return []
    now = CLOCK.now()
    rows = proposals.to_pylist()
    ids = [int(r["record_key"]) for r in rows]
    who = select(records.c.id, records.c.source_id, records.c.source_ref)
    identity = {
        int(r.id): (r.source_id, r.source_ref)
        for i in range(0, len(ids), IN_LIST)
        for r in conn.execute(who.where(records.c.id.in_(ids[i : i + IN_LIST])))
    }
    rejected = rejected_pairs(conn, list(identity.values()))
    made: list[int] = []
    for r in rows:
        rid, sid = int(r["record_key"]), int(r["subject_id"])
        src, ref = identity[rid]
        if (src, ref, sid) in rejected:
            continue
        repeat = select(link_proposals.c.id).where(
            link_proposals.c.record_id == rid,
            link_proposals.c.subject_id == sid,
            link_proposals.c.model_version == r["model_version"],
        )
        if conn.scalar(repeat) is not None:
            continue
        values = {
            "record_id": rid,
            "source_id": src,
            "source_ref": ref,
            "subject_id": sid,
            "kind": r["kind"],
            "rank": r["rank"],
            "probability": r["match_probability"],
            "match_weight": r["match_weight"],
            "prior_weight": r["prior_weight"],
            "identifier_evidence": int(bool(r["identifier_evidence"])),
            "priority": r["priority"],
            "explanation": r["explanation"],
            "model_version": r["model_version"],
            "created_at": now,
        }
        made.append(
            int(conn.execute(insert(link_proposals).values(**values).returning(link_proposals.c.id)).scalar_one())
        )
    return made


def open_proposals() -> Any:
    """Proposals awaiting a reviewer: the record (by its lasting identity) unlinked in its current
    version (a confirmed record is linked; one a department sent again, or an objection unlinked,
    is open again), the pair not rejected by a standing judgement, and no newer proposal of the
    pair (a later run, or a later version of the record, scored it again)."""
    newer = link_proposals.alias("newer")
    judged = link_judgements.alias("judged")
    undo = link_judgements.alias("undone")
    rec = records.alias("proposed")  # an alias: the callers' queries join `records` themselves
    return and_(
        exists().where(
            rec.c.source_id == link_proposals.c.source_id,
            rec.c.source_ref == link_proposals.c.source_ref,
            rec.c.superseded_at.is_(None),
            rec.c.status == "active",
            rec.c.subject_id.is_(None),
        ),
        ~exists().where(
            newer.c.source_id == link_proposals.c.source_id,
            newer.c.source_ref == link_proposals.c.source_ref,
            newer.c.subject_id == link_proposals.c.subject_id,
            newer.c.id > link_proposals.c.id,
        ),
        ~exists().where(
            judged.c.source_id == link_proposals.c.source_id,
            judged.c.source_ref == link_proposals.c.source_ref,
            judged.c.subject_id == link_proposals.c.subject_id,
            judged.c.outcome == "reject",
            ~exists().where(undo.c.reverses == judged.c.id),
        ),
    )


def count_open(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(link_proposals).where(open_proposals())) or 0)
