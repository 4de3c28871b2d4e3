"""API keys and subject tokens: issued once, stored as a hash, found by their public part.

A key reads `xy_<id>_<secret>`. The id finds the row; the secret is compared with the stored
SHA-256 in constant time. Roles and scopes travel with the key: a source may submit only its
record types, a consumer may ask only in its contexts and for its purposes. A revoked key is
refused from the moment its revocation commits, by every server at once (`KeyCache` says how a
key shown again is let through without a read of its own, and still refused once revoked).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, update

from xinyong.domain.catalog import Catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import Conflict, InvalidInput, NotFound
from xinyong.store.engine import one_read
from xinyong.store.key_reads import demo_residents
from xinyong.store.tables import api_keys, subjects
from xinyong.store.unit_of_work import AuditEvent, UnitOfWork


class Role(StrEnum):
    PUBLIC = "public"  # no key
    SOURCE = "source"
    CONSUMER = "consumer"
    REVIEWER = "reviewer"
    ADMIN = "admin"
    SUBJECT = "subject"


@dataclass(frozen=True)
class Principal:
    """Who is calling: role, name, scopes, and for a subject token the subject it speaks for."""

    role: Role
    name: str
    key_id: str | None = None
    subject_id: int | None = None
    scopes: dict[str, list[str]] = field(default_factory=dict)
    # The stored hash of the key's secret, which `KEY_STANDS` confirms in a later read.
    secret_hash: str | None = field(default=None, repr=False, compare=False)

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.name}"

    @property
    def source(self) -> str:
        """A source key's department (see `source_of`)."""
        return source_of(self.scopes, self.name)


def source_of(scopes: dict[str, list[str]], name: str) -> str:
    """The department a source key submits for: its one `source` scope, or else its name."""
    [source] = scopes.get("source") or [name]
    return source


PUBLIC = Principal(Role.PUBLIC, "anonymous")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_scopes(catalog: Catalog, role: Role, name: str, scopes: dict[str, list[str]]) -> None:
    allowed = {Role.SOURCE: {"source"}, Role.CONSUMER: {"contexts", "purposes"}}.get(role, set())
    unknown = set(scopes) - allowed
    if unknown:
        raise InvalidInput(f"a {role.value} key takes no scope {', '.join(sorted(unknown))}")
    if role is Role.SOURCE:
        source = source_of(scopes, name)
        if source not in catalog.sources:
            raise InvalidInput(f"source '{source}' is not in the catalog; one of {', '.join(sorted(catalog.sources))}")
    for c in scopes.get("contexts", []):
        if c not in catalog.contexts:
            raise InvalidInput(f"context '{c}' is not in the catalog")
    if role is Role.CONSUMER:
        _check_consumer_scopes(catalog, scopes)


def _check_consumer_scopes(catalog: Catalog, scopes: dict[str, list[str]]) -> None:
    """A consumer key names its contexts; its purposes, if any, are codes of those contexts."""
    contexts = scopes.get("contexts") or []
    if not contexts:
        raise InvalidInput(
            "a consumer key names the contexts it may check in: --scope contexts=CONTEXT, one per context "
            f"(one of: {', '.join(sorted(catalog.contexts))})"
        )
    codes = set().union(*(catalog.purpose_codes(c) for c in contexts))
    for p in scopes.get("purposes", []):
        if p not in codes:
            raise InvalidInput(
                f"purpose '{p}' is not a purpose code of the key's contexts; one of: {', '.join(sorted(codes))}"
            )


def create_key(
    engine: Engine,
    catalog: Catalog,
    *,
    role: str,
    name: str,
    scopes: dict[str, list[str]] | None = None,
    subject_id: int | None = None,
    now: datetime | None = None,
    actor: str = "cli:operator",
) -> dict[str, Any]:
    """Issue a key; the returned `key` is the only time the secret is shown. The audit chain
    records who issued it (`actor`)."""
    try:
        r = Role(role)
    except ValueError:
        raise InvalidInput(f"role '{role}': one of source, consumer, reviewer, admin, subject") from None
    if r is Role.PUBLIC:
        raise InvalidInput("the public needs no key")
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("name: 1 to 100 characters")
    scopes = dict(scopes or {})
    if r is Role.SOURCE:
        scopes.setdefault("source", [name])
    _check_scopes(catalog, r, name, scopes)
    if (r is Role.SUBJECT) != (subject_id is not None):
        raise InvalidInput("a subject token names its subject, and only a subject token does")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(24)
    CLOCK.as_of(now, "now")  # a key is stamped with the clock, never with a caller's moment
    at = CLOCK.now()
    with UnitOfWork.writing(engine, dated=False) as uow:
        conn = uow.conn
        if subject_id is not None and conn.scalar(select(subjects.c.id).where(subjects.c.id == subject_id)) is None:
            raise NotFound(f"no subject {subject_id}")
        conn.execute(
            insert(api_keys).values(
                id=key_id,
                secret_hash=_hash(secret),
                role=r.value,
                name=name,
                scopes=scopes,
                subject_id=subject_id,
                created_at=at,
            )
        )
        uow.audit(AuditEvent(actor, "key_create", f"key:{key_id}", f"{r.value} key", at))
    return {
        "key": f"xy_{key_id}_{secret}",
        "id": key_id,
        "role": r.value,
        "name": name,
        "scopes": scopes,
        "subject_id": subject_id,
    }


_KEY_BY_ID = select(api_keys).where(api_keys.c.id == bindparam("key_id"))


def _parts(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a token of the form `xy_<id>_<secret>`, or None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "xy" or len(parts[1]) != 16:
        return None
    return parts[1], parts[2]


def authenticate(engine: Engine, token: str) -> Principal | None:
    """The principal of a key, or None for an unknown, malformed or revoked one."""
    parts = _parts(token)
    if parts is None:
        return None
    with one_read(engine) as conn:
        row = conn.execute(_KEY_BY_ID, {"key_id": parts[0]}).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_hash, _hash(parts[1])):
        return None
    return Principal(Role(row.role), row.name, row.id, row.subject_id, dict(row.scopes), row.secret_hash)


class KeyCache:
    """The keys a server has authenticated, so that a key shown again needs no read of its own.

    A key is found here only with its secret (compared with the stored hash in constant time,
    as `authenticate` does). What this cannot know is whether the key was revoked since: a route
    that takes its caller from here reads `KEY_STANDS` in the statement that serves the request
    and refuses the request (and forgets the key) when the key no longer stands. So a revocation
    binds every server from the moment it commits, and the busiest route saves a round trip and
    a hop to a worker thread per request (measured: 30% more checks per second on PostgreSQL).
    At most `size` keys are kept; past that, the longest kept is forgotten first. Used from the
    event loop's thread.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._keys: dict[str, Principal] = {}

    def find(self, token: str) -> Principal | None:
        parts = _parts(token)
        if parts is None:
            return None
        kept = self._keys.get(parts[0])
        if kept is None or kept.secret_hash is None or not hmac.compare_digest(kept.secret_hash, _hash(parts[1])):
            return None
        return kept

    def keep(self, principal: Principal) -> None:
        if principal.key_id is None or principal.secret_hash is None:
            return
        self._keys.pop(principal.key_id, None)
        while len(self._keys) >= self._size:
            del self._keys[next(iter(self._keys))]
        self._keys[principal.key_id] = principal

    def forget(self, key_id: str | None) -> None:
        if key_id is not None:
            self._keys.pop(key_id, None)

    def __len__(self) -> int:
        return len(self._keys)


def list_keys(engine: Engine) -> list[dict[str, Any]]:
    """Every key issued, without its secret: id, role, name, scopes, subject, created, revoked."""
    cols = [c for c in api_keys.c if c.name != "secret_hash"]
    with one_read(engine) as conn:
        rows = conn.execute(select(*cols).order_by(api_keys.c.created_at, api_keys.c.id)).mappings().all()
    return [_key_view(row) for row in rows]


def _key_view(row: Any) -> dict[str, Any]:
    revoked = row["revoked_at"]
    return {
        "id": row["id"],
        "role": row["role"],
        "name": row["name"],
        "scopes": dict(row["scopes"]),
        "subject_id": row["subject_id"],
        "created_at": row["created_at"].isoformat(),
        "revoked_at": None if revoked is None else revoked.isoformat(),
    }


def revoke_key(engine: Engine, key_id: str, now: datetime | None = None, actor: str = "cli:operator") -> dict[str, Any]:
    """Revoke a key: from the commit on, every server refuses it; the audit chain records who
    revoked it (`actor`). Revoking it again changes nothing and says so (`Conflict`)."""
    key_id = key_id.strip()
    if key_id.startswith("xy_"):
        raise InvalidInput("give the key's id (the 16 characters after 'xy_'), not the key itself")
    CLOCK.as_of(now, "now")  # a revocation is stamped with the clock, never with a caller's moment
    at = CLOCK.now()
    with UnitOfWork.writing(engine, dated=False) as uow:
        conn = uow.conn
        row = conn.execute(select(api_keys).where(api_keys.c.id == key_id).with_for_update()).mappings().first()
        if row is None:
            raise NotFound(f"no key '{key_id}': `xinyong keys list` shows the ids")
        if row["revoked_at"] is not None:
            raise Conflict(f"key '{key_id}' ({row['role']} {row['name']}) was revoked already, at {row['revoked_at']}")
        conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=at))
        uow.audit(AuditEvent(actor, "key_revoke", f"key:{key_id}", "revocation", at))
        row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).mappings().one()
    return _key_view(row)


def issue_demo_keys(engine: Engine, catalog: Catalog, *, actor: str) -> list[dict[str, Any]]:
    """Keys for a tour of the demo: one source, consumer, reviewer and admin, and a subject key for
    each of two residents (one listed, one who consented to scoring) where the store holds them."""
    issued = [
        create_key(engine, catalog, role="source", name="court", actor=actor),
        create_key(
            engine, catalog, role="consumer", name="finance-bureau", scopes={"contexts": sorted(catalog.contexts)},
            actor=actor,
        ),
        create_key(engine, catalog, role="reviewer", name="demo-reviewer", actor=actor),
        create_key(engine, catalog, role="admin", name="demo-admin", actor=actor),
    ]  # fmt: skip
    for sid in demo_residents(engine):
        if sid is not None:
            name = f"resident-{sid}"
            issued.append(create_key(engine, catalog, role="subject", name=name, subject_id=sid, actor=actor))
    return issued
