"""Signed proofs of checks: canonical JSON signed with Ed25519 (the `cryptography` package).

A certificate is one canonical JSON document (sorted keys, no insignificant whitespace, UTF-8,
one final newline) holding the decision's payload, the signing key's id and the signature of
the payload's canonical bytes. Verification is strict: the file must be exactly the canonical
form of what it says, and the signature must hold under the platform's public key, so any
altered byte fails.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from xinyong.domain.errors import InvalidInput

ALGORITHM = "Ed25519"


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A short, stable name of a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_bytes(key)).hexdigest()[:16]


@lru_cache(maxsize=8)
def _key_id_of(private: Ed25519PrivateKey) -> str:
    return key_id(private.public_key())


def sign(private: Ed25519PrivateKey, payload: dict[str, Any]) -> bytes:
    """The certificate file's bytes for this payload: the canonical form of
    {algorithm, key_id, payload, signature}, assembled around the payload's canonical bytes
    (the keys are already in sorted order, so this is `canonical` of the whole document)."""
    return signed(private, payload)[0]


def signed(private: Ed25519PrivateKey, payload: dict[str, Any]) -> tuple[bytes, bytes]:
    """(the certificate's bytes, as `sign` gives them; the payload's canonical bytes in it)."""
    body = canonical(payload)
    signature = base64.b64encode(private.sign(body)).decode()
    certificate = b"".join(
        (
            b'{"algorithm":',
            canonical(ALGORITHM),
            b',"key_id":',
            canonical(_key_id_of(private)),
            b',"payload":',
            body,
            b',"signature":',
            canonical(signature),
            b"}\n",
        )
    )
    return certificate, body


@dataclass(frozen=True)
class Verified:
    payload: dict[str, Any]
    key_id: str


class CertificateInvalid(InvalidInput):
    title = "Certificate invalid"


def verify(data: bytes, keys: dict[str, Ed25519PublicKey]) -> Verified:
    """Check a certificate's bytes against the known public keys; raise CertificateInvalid saying why."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CertificateInvalid(f"not a certificate: {exc}") from None
    if not isinstance(doc, dict) or set(doc) != {"algorithm", "key_id", "payload", "signature"}:
        raise CertificateInvalid("not a certificate: expected algorithm, key_id, payload and signature")
    if canonical(doc) + b"\n" != data:
        raise CertificateInvalid("the file is not in its signed form: a byte was added, removed or changed")
    if doc["algorithm"] != ALGORITHM:
        raise CertificateInvalid(f"unknown algorithm {doc['algorithm']!r}")
    key = keys.get(str(doc["key_id"]))
    if key is None:
        raise CertificateInvalid(f"signed by key {doc['key_id']}, which is not a key of this platform")
    try:
        signature = base64.b64decode(str(doc["signature"]), validate=True)
        key.verify(signature, canonical(doc["payload"]))
    except (InvalidSignature, ValueError):
        raise CertificateInvalid("the signature does not match the payload: the certificate was altered") from None
    return Verified(doc["payload"], str(doc["key_id"]))


def load_public(raw_b64: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(raw_b64))
