"""Sessions of the web portal, kept in the store so that any replica serves any request.

A session stands for one API key (a subject token, a reviewer's or an admin's key). The cookie
carries a random id; the store keeps only its SHA-256, so a copy of the table opens no session.
A session is found only while it is unexpired, not signed out, and its key is not revoked: the
read joins the key, so `xinyong keys revoke` ends every session of the key at the commit.

A session lives by the platform's clock alone (`CLOCK.now()`): it is opened, expires and is
signed out at the clock's time, and found only while the clock has not reached its end. No
caller gives a moment, so none backdates a sign-in or keeps a session alive past its hours.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, select, update

from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import Unauthorized
from xinyong.services.keys import Principal, Role, authenticate
from xinyong.store.engine import one_read
from xinyong.store.tables import api_keys, web_sessions
from xinyong.store.unit_of_work import UnitOfWork

# Who may sign in to the portal: the other roles are machines, served by the API.
PORTAL_ROLES = frozenset({Role.SUBJECT, Role.REVIEWER, Role.ADMIN})
SESSION_HOURS = 8  # a working day; sign-in again after it


@dataclass(frozen=True)
class Session:
    """A session found in the store: who it speaks for, and the secret its forms must carry."""

    principal: Principal
    csrf_secret: str
    expires_at: datetime


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(engine: Engine, token: str, hours: int = SESSION_HOURS) -> tuple[str, Session]:
    """Sign in with an API key or subject token: the new session's id (for the cookie) and the session.

    Raises:
        Unauthorized: the token is unknown, malformed or revoked, or its role does not use the portal.
    """
    principal = authenticate(engine, token.strip())
    if principal is None:
        raise Unauthorized("the key or token is unknown, revoked or malformed")
    if principal.role not in PORTAL_ROLES:
        raise Unauthorized(f"a {principal.role.value} key is for the API, not for the portal")
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = CLOCK.now()
    expires = now + timedelta(hours=hours)
    with UnitOfWork.writing(engine, dated=False) as uow:
        uow.conn.execute(
            insert(web_sessions).values(
                id_hash=_hash(session_id), key_id=principal.key_id, csrf_secret=csrf, created_at=now, expires_at=expires
            )
        )
    return session_id, Session(principal, csrf, expires)


def find_session(engine: Engine, session_id: str) -> Session | None:
    """The session of a cookie's id, or None when it is unknown, expired, signed out or its key revoked."""
    q = (
        select(web_sessions.c.csrf_secret, web_sessions.c.expires_at, api_keys)
        .join(api_keys, api_keys.c.id == web_sessions.c.key_id)
        .where(
            web_sessions.c.id_hash == _hash(session_id),
            web_sessions.c.revoked_at.is_(None),
            web_sessions.c.expires_at > CLOCK.now(),
            api_keys.c.revoked_at.is_(None),
        )
    )
    with one_read(engine) as conn:
        row = conn.execute(q).first()
    if row is None:
        return None
    principal = Principal(Role(row.role), row.name, row.id, row.subject_id, dict(row.scopes), row.secret_hash)
    return Session(principal, row.csrf_secret, row.expires_at)


def close_session(engine: Engine, session_id: str) -> bool:
    """Sign out: the session is refused from this commit on. Whether it was open."""
    with UnitOfWork.writing(engine, dated=False) as uow:
        ended = uow.conn.execute(
            update(web_sessions)
            .where(web_sessions.c.id_hash == _hash(session_id), web_sessions.c.revoked_at.is_(None))
            .values(revoked_at=CLOCK.now())
        ).rowcount
    return bool(ended)
