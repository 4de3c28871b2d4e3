"""The portal's cookies, CSRF tokens and response headers.

The session cookie carries a random session id signed with `itsdangerous`. Its key is derived
from the platform's Ed25519 signing key with HKDF (a label of its own), not kept in a second
file: nothing new to create, back up or protect, rotating the signing key also ends every
session, and the derived key tells nothing of the signing key. The cookie is HttpOnly,
SameSite=Strict, and Secure whenever the request came over HTTPS.

Every form carries a CSRF token: in a session, the session's secret from the store; before
sign-in, an HMAC of a random cookie of its own (double submit), so that a page elsewhere can
neither sign a visitor in to its own account nor act in a visitor's session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, Signer
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SESSION_COOKIE = "xy_session"
ANON_COOKIE = "xy_anon"
CSRF_FIELD = "csrf"

# No script at all, styles and images from the portal only, forms post back to it, never framed.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Plots are images: an SVG needs its own inline styles, and may run nothing.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def cookie_key(signing_key: Ed25519PrivateKey) -> bytes:
    raw = signing_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"xinyong portal session cookie v1").derive(raw)


class Cookies:
    """Signs and reads the portal's cookies with the derived key."""

    def __init__(self, key: bytes) -> None:
        self._signer = Signer(key, salt="xy-session")
        self._anon = key

    def session_id(self, request: Request) -> str | None:
        value = request.cookies.get(SESSION_COOKIE)
        if not value or len(value) > 200:
            return None
        try:
            return self._signer.unsign(value).decode()
        except BadSignature:
            return None

    def set_session(self, response: Response, request: Request, session_id: str, max_age: int) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self._signer.sign(session_id).decode(),
            max_age=max_age,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")

    def anon_token(self, request: Request, response: Response | None = None) -> tuple[str, str]:
        """(cookie value, CSRF token) for forms shown before sign-in; a new cookie when there is none."""
        value = request.cookies.get(ANON_COOKIE) or ""
        if len(value) != 43:
            value = secrets.token_urlsafe(32)
        return value, hmac.new(self._anon, value.encode(), hashlib.sha256).hexdigest()

    def anon_valid(self, request: Request, token: str) -> bool:
        value = request.cookies.get(ANON_COOKIE) or ""
        if len(value) != 43:
            return False
        expected = hmac.new(self._anon, value.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, token)

    @staticmethod
    def set_anon(response: Response, request: Request, value: str) -> None:
        response.set_cookie(
            ANON_COOKIE, value, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
        )


def same_origin(request: Request) -> bool:
    """Whether a form post comes from the portal's own pages (when the browser says where from)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to: never another site (`//evil`, `https://evil`, `/\\evil`)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or len(target) > 500:
        return default
    if any(c in target for c in "\r\n\t\\") or any(ord(c) < 32 for c in target):
        return default
    return target
