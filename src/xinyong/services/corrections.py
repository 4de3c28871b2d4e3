"""Corrections made by due process: a new version of a record, the old one kept and superseded.

An upheld objection revokes or corrects a record, or undoes its subject link; an approved repair
makes it stop counting. Each is a new version written by the platform on the source's record,
in a batch of its own whose name says which decision made it, so the record's history shows who
changed what and why. It keeps the department's `revision` and takes the next platform `version`:
the department's revision numbers stay its own, and its next correction is its next revision.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, insert, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import InvalidInput, NotFound
from xinyong.domain.values import BadValue, canonical_json, converter
from xinyong.store import clock
from xinyong.store.ingest_repo import RECORD_COLUMNS, close_batch, open_batch, supersede
from xinyong.store.tables import records, unresolved


def current_record(conn: Connection, source_id: str, source_ref: str, *, lock: bool = False) -> Any:
    q = select(records).where(
        records.c.source_id == source_id, records.c.source_ref == source_ref, records.c.superseded_at.is_(None)
    )
    row = conn.execute(q.with_for_update() if lock else q).first()
    if row is None:
        raise NotFound(f"no record {source_id}/{source_ref}")
    return row


def corrected_attributes(
    catalog: Catalog, record_type: str, old: dict[str, Any], changes: dict[str, str]
) -> dict[str, Any]:
    """The attributes after a correction, each new value checked against the record type's schema."""
    rt = catalog.record_types[record_type]
    new = dict(old)
    for name, raw in changes.items():
        spec = rt.attributes.get(name)
        if spec is None:
            raise InvalidInput(
                f"record type '{record_type}' has no attribute '{name}' (it has: {', '.join(rt.attributes)})"
            )
        try:
            new[name] = converter(spec)(raw)
        except BadValue as exc:
            raise InvalidInput(f"attribute '{name}': {exc}") from None
    return dict(sorted(new.items()))


def new_version(
    conn: Connection,
    catalog: Catalog,
    source_id: str,
    source_ref: str,
    *,
    cause: str,
    status: str | None = None,
    set_attributes: dict[str, str] | None = None,
    unlink: bool = False,
    link_to: int | None = None,
) -> tuple[Any, int]:
    """Write the platform's next version of a record (the same revision, the next `version`);
    return the replaced row and the new row's id.

    `unlink` drops the subject link and queues the record for match review; `link_to` links it to
    that subject as a confirmed match (a reviewer's judgement). Every time it stores is the
    knowledge clock's stamp of the write, whatever moment the decision was evaluated at."""
    return relink(
        conn, source_id, source_ref, catalog_version=catalog.version, cause=cause, status=status,
        attributes_of=lambda rt, old: corrected_attributes(catalog, rt, old, set_attributes or {}),
        unlink=unlink, link_to=link_to,
    )  # fmt: skip


def relink(
    conn: Connection,
    source_id: str,
    source_ref: str,
    *,
    catalog_version: str,
    cause: str,
    status: str | None = None,
    attributes_of: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
    unlink: bool = False,
    link_to: int | None = None,
    link_method: str = "confirmed",
) -> tuple[Any, int]:
    """`new_version` where no catalog is at hand: the link of a record moves (to `link_to` by
    `link_method`, or off its subject with `unlink`), its content stays."""
    known = clock.advance(conn)  # when the platform knows the new version: see store.clock
    old = current_record(conn, source_id, source_ref, lock=True)
    values = {c: getattr(old, c) for c in RECORD_COLUMNS}
    attributes = old.attributes if isinstance(old.attributes, dict) else json.loads(old.attributes)
    if attributes_of is not None:
        values["attributes"] = attributes_of(old.record_type, attributes)
    else:
        values["attributes"] = dict(sorted(attributes.items()))
    if status is not None:
        values["status"] = status
    if unlink:
        values["subject_id"] = None
        values["link_method"] = None
    if link_to is not None:
        values["subject_id"] = link_to
        values["link_method"] = link_method
    content = f"{old.content_hash}|{cause}|{canonical_json(values['attributes'])}|{values['status']}"
    digest = hashlib.sha256(content.encode())
    batch_id = open_batch(
        conn,
        {
            "source_id": source_id,
            "file_name": cause,
            "file_format": "decision",
            "file_sha256": digest.hexdigest(),
            "catalog_version": catalog_version,
            "started_at": known,
            "finished_at": known,
        },
    )
    supersede(conn, [old.id], known)
    values.update(
        revision=old.revision,  # the department's number stays its own (docs/unit-of-work.md)
        version=old.version + 1,
        content_hash=digest.hexdigest(),
        batch_id=batch_id,
        batch_line=0,
        recorded_at=known,
        superseded_at=None,
    )
    new_id = conn.execute(insert(records).values(**values).returning(records.c.id)).scalar_one()
    if unlink:
        conn.execute(
            insert(unresolved).values(
                record_id=new_id,
                reason_code="link_disputed",
                reason=f"the subject link was undone by {cause}: the record awaits match review",
                queued_at=known,
            )
        )
    close_batch(conn, batch_id, {"rows_read": 1, "accepted": 1, "new_versions": 1, "unresolved": int(unlink)})
    return old, int(new_id)
