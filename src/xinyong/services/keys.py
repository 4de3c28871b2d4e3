"""API keys and subject tokens: issued once, stored as a hash, found by their public part.

A key reads `xy_<id>_<secret>`. The id finds the row; the secret is compared with the stored
SHA-256 in constant time. Roles and scopes travel with the key: a source may submit only its
record types, a consumer may ask only in its contexts and for its purposes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import InvalidInput, NotFound
from xinyong.store.db import one_read
from xinyong.store.tables import api_keys, subjects


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

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.name}"


PUBLIC = Principal(Role.PUBLIC, "anonymous")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_scopes(catalog: Catalog, role: Role, name: str, scopes: dict[str, list[str]]) -> None:
    allowed = {Role.SOURCE: {"source"}, Role.CONSUMER: {"contexts", "purposes"}}.get(role, set())
    unknown = set(scopes) - allowed
    if unknown:
        raise InvalidInput(f"a {role.value} key takes no scope {', '.join(sorted(unknown))}")
    if role is Role.SOURCE:
        [source] = scopes.get("source") or [name]
        if source not in catalog.sources:
            raise InvalidInput(f"source '{source}' is not in the catalog; one of {', '.join(sorted(catalog.sources))}")
    for c in scopes.get("contexts", []):
        if c not in catalog.contexts:
            raise InvalidInput(f"context '{c}' is not in the catalog")


def create_key(
    engine: Engine,
    catalog: Catalog,
    *,
    role: str,
    name: str,
    scopes: dict[str, list[str]] | None = None,
    subject_id: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Issue a key; the returned `key` is the only time the secret is shown."""
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
    with engine.begin() as conn:
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
                created_at=now or datetime.now(UTC),
            )
        )
    return {
        "key": f"xy_{key_id}_{secret}",
        "id": key_id,
        "role": r.value,
        "name": name,
        "scopes": scopes,
        "subject_id": subject_id,
    }


_KEY_BY_ID = select(api_keys).where(api_keys.c.id == bindparam("key_id"))


def authenticate(engine: Engine, token: str) -> Principal | None:
    """The principal of a key, or None for an unknown, malformed or revoked one."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "xy" or len(parts[1]) != 16:
        return None
    with one_read(engine) as conn:
        row = conn.execute(_KEY_BY_ID, {"key_id": parts[1]}).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_hash, _hash(parts[2])):
        return None
    return Principal(Role(row.role), row.name, row.id, row.subject_id, dict(row.scopes))
