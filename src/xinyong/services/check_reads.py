"""Reads of a stored check: its certificate and its replay, for the parties to it only.

A certificate and a replay show a subject's masked identifier, the measures applied and the
records behind them: personal data. They are read by the consumer that made the check, by the
subject it was about, or by a reviewer or admin, and every read appends an audit event in the
reader's name. Anyone else is answered exactly as for a check that does not exist, so a check
id learnt by chance tells nothing, not even that the check exists.

Anyone holding a certificate may still confirm it (`verify_held`): that reads the signature
against the platform's public key and nothing in the store.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine

from xinyong.domain.catalog import Catalog
from xinyong.domain.certificates import CertificateInvalid, key_id, verify
from xinyong.domain.errors import NotFound
from xinyong.services.checks import replay, stored_check
from xinyong.services.keys import Principal, Role
from xinyong.store.unit_of_work import AuditEvent, record

STAFF = frozenset({Role.REVIEWER, Role.ADMIN})


def _party(row: Any, reader: Principal) -> bool:
    """Whether `reader` may read the check of `row`: its consumer, its subject, or staff."""
    if reader.role in STAFF:
        return True
    if reader.role is Role.CONSUMER:
        return bool(row.consumer == reader.actor)
    if reader.role is Role.SUBJECT:
        return reader.subject_id is not None and row.subject_id == reader.subject_id
    return False


def _readable(engine: Engine, check_id: str, reader: Principal | None) -> Any:
    """The stored check, if `reader` (None: the operator of the command line) may read it."""
    row = stored_check(engine, check_id)
    if reader is not None and not _party(row, reader):
        raise NotFound(f"no check {check_id}")
    return row


def read_certificate(engine: Engine, check_id: str, *, reader: Principal | None, actor: str) -> bytes:
    """A check's certificate, byte for byte as signed; the read is audited in `actor`'s name."""
    row = _readable(engine, check_id, reader)
    record(engine, AuditEvent(actor, "certificate_read", f"check:{check_id}"))
    return str(row.certificate).encode()


def read_replay(
    engine: Engine, catalog: Catalog, check_id: str, *, reader: Principal | None, actor: str
) -> dict[str, Any]:
    """A check replayed as known at its moment; the read is audited in `actor`'s name."""
    _readable(engine, check_id, reader)
    record(engine, AuditEvent(actor, "check_replay", f"check:{check_id}"))
    return replay(engine, catalog, check_id)


def verify_held(data: bytes, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """Whether a certificate someone holds was signed by this platform and is unaltered.

    Answers valid or not, with the reason and the signing key; nothing of the payload, and no
    read of the store."""
    try:
        verified = verify(data, {key_id(public_key): public_key})
    except CertificateInvalid as exc:
        return {"valid": False, "reason": str(exc)}
    return {"valid": True, "reason": "signed by this platform and unaltered", "key_id": verified.key_id}
