"""Finding a subject from what a person types: an internal id or an identifier."""

from __future__ import annotations

import re

from sqlalchemy import Engine, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import Conflict, NotFound
from xinyong.domain.identifiers import IdentifierVault, readings
from xinyong.store import clock
from xinyong.store.merges_repo import merge_standing
from xinyong.store.tables import identifiers, subjects

_INTERNAL = re.compile(r"^(?:id:)?(\d{1,12})$")


def resolve_subject(engine: Engine, catalog: Catalog, vault: IdentifierVault, ref: str) -> tuple[int, str]:
    """(subject id, how it was found). An identifier is matched by its keyed hash, never in plain.

    Raises:
        NotFound: nothing matches.
        Conflict: more than one subject matches.
    """
    ref = ref.strip()
    found: dict[int, str] = {}
    with engine.connect() as conn:
        m = _INTERNAL.match(ref)
        if m and conn.scalar(select(subjects.c.id).where(subjects.c.id == int(m[1]))) is not None:
            found[int(m[1])] = f"internal id {int(m[1])}"
        for scheme, compact in readings(catalog.identifier_schemes, ref)[0]:
            digest = vault.digest(scheme.id, compact)
            q = select(identifiers.c.subject_id).where(
                identifiers.c.value_hash == digest, identifiers.c.scheme == scheme.id
            )
            for sid in conn.scalars(q):
                found.setdefault(int(sid), f"{scheme.id} {scheme.mask(compact)}")
    if not found:
        raise NotFound(
            "no subject matches: give an internal subject id, or a checksum-valid identifier "
            f"({', '.join(catalog.schemes)}) that the platform has received"
        )
    if len(found) > 1:
        raise Conflict(
            "more than one subject matches ("
            + "; ".join(f"subject {sid} by {how}" for sid, how in sorted(found.items()))
            + "): give the internal id as id:N"
        )
    [(sid, how)] = found.items()
    with engine.connect() as conn:  # a subject merged away stands for the one it was merged into
        merged = merge_standing(conn, clock.known_at(conn), absorbed=sid)
    if merged is not None:
        return int(merged.subject_id), f"{how}, merged into subject {merged.subject_id} (merge {merged.id})"
    return sid, how
