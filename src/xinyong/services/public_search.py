"""The public search of the JSON API, paged: organisations by name, part of a name or USCC;
persons only while they are on a public list, only masked, and only by their exact full name or
full resident number (a search by part of a name would unmask the characters the mask hides),
with how many there are in all.

What is visible is decided over ids first (every organisation found; a person only when a public
list holds them today), so `total` counts exactly what the pages show, and only one page of
subjects is read in full.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, and_, or_, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import NotFound
from xinyong.domain.identifiers import IdentifierVault, Scheme
from xinyong.services.list_views import entries
from xinyong.services.portal import public_subject
from xinyong.store.tables import identifiers, subjects

SEARCH_MAX = 50
_LISTED_SCAN = 1_000_000  # every entry listed today: lists hold far fewer


def _publicly_listed(engine: Engine, catalog: Catalog, today: date) -> set[int]:
    rows = entries(engine, state="listed", day=today, limit=_LISTED_SCAN)
    return {int(e["subject_id"]) for e in rows if catalog.lists[e["list_id"]].public}


def visible_ids(
    engine: Engine, catalog: Catalog, q: str, today: date, vault: IdentifierVault | None = None
) -> list[int]:
    """Every subject the public may find with `q`, by id."""
    q = q.strip()
    uscc = Scheme("cn.uscc", "organisation", False).check(q)
    ric = Scheme("cn.ric", "person", True).check(q)
    with engine.connect() as conn:
        if uscc.valid:
            by_id = select(identifiers.c.subject_id).where(
                identifiers.c.scheme == "cn.uscc", identifiers.c.value == uscc.compact
            )
            found = select(subjects.c.id, subjects.c.kind).where(subjects.c.id.in_(by_id))
        elif ric.valid:
            if vault is None:
                return []
            by_hash = select(identifiers.c.subject_id).where(
                identifiers.c.scheme == "cn.ric", identifiers.c.value_hash == vault.digest("cn.ric", ric.compact)
            )
            found = select(subjects.c.id, subjects.c.kind).where(subjects.c.id.in_(by_hash))
        elif len(q) >= 2:
            like = q.replace("%", "").replace("_", "")
            found = select(subjects.c.id, subjects.c.kind).where(
                or_(
                    and_(subjects.c.kind == "organisation", subjects.c.display_name.contains(like, autoescape=True)),
                    and_(subjects.c.kind == "person", subjects.c.display_name == q),
                )
            )
        else:
            return []
        rows = conn.execute(found.order_by(subjects.c.id)).all()
    listed = _publicly_listed(engine, catalog, today) if any(r.kind == "person" for r in rows) else set()
    return [int(r.id) for r in rows if r.kind == "organisation" or int(r.id) in listed]


def search_page(
    engine: Engine,
    catalog: Catalog,
    q: str,
    *,
    start: int,
    limit: int,
    today: date | None = None,
    vault: IdentifierVault | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """(the page of what the public finds with `q` from position `start`, how many in all)."""
    today = today or datetime.now(UTC).date()
    ids = visible_ids(engine, catalog, q, today, vault)
    out = []
    for sid in ids[start : start + limit]:
        try:
            s = public_subject(engine, catalog, sid, today)
        except NotFound:  # left a public list between the two reads
            continue
        out.append({k: s[k] for k in ("id", "kind", "name", "identifiers", "list_entries")})
    return out, len(ids)
