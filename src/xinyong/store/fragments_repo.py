"""What ingestion writes and reads for match review: the identifier fragments of unresolved
records, and whether a linking model is kept to propose candidates for them.

Apart from `linking_repo.py`, which turns the store into the model's Arrow tables: ingestion
stores a few fragments per chunk and never imports Arrow (see `xinyong.resolve`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from xinyong.store.linking_tables import link_fragments, link_models


def keep_fragments(
    conn: Connection, rows: Sequence[Any], record_ids: Sequence[int], fragments: Mapping[str, Mapping[str, object]]
) -> int:
    """Store the fragments of the unresolved records among `rows` (ValidRows, stored as `record_ids`)
    whose numbers failed their checksum (`fragments`, by keyed hash, computed during validation)."""
    if not fragments:
        return 0
    kept = [
        {"record_id": rid, "scheme": r.scheme, **fragments[r.id_hash]}
        for r, rid in zip(rows, record_ids, strict=True)
        if r.unresolved is not None and r.id_hash in fragments
    ]
    if kept:
        conn.execute(insert(link_fragments), kept)
    return len(kept)


def model_kept(engine: Engine) -> bool:
    """Whether a linking model is kept (without one, nothing is proposed after a batch)."""
    with engine.connect() as conn:
        return conn.execute(select(link_models.c.id).limit(1)).first() is not None
