"""One exception tree for the whole platform.

Each error carries the HTTP status it answers with, so that every entrypoint (CLI, API) maps
errors in one place instead of guessing.
"""

from __future__ import annotations


class XinyongError(Exception):
    """Base of every error the platform raises on purpose."""

    status: int = 500
    title: str = "Internal error"


class InvalidInput(XinyongError):
    """The caller sent something we cannot accept; the message says what to fix."""

    status = 422
    title = "Invalid input"


class FileRefused(InvalidInput):
    """A whole input file is refused before any of its rows is stored."""

    title = "File refused"


class Unauthorized(XinyongError):
    """The caller's key does not stand (unknown, malformed, or revoked)."""

    status = 401
    title = "Unauthorized"


class Forbidden(XinyongError):
    """The caller may not do this (its key's scope or its source's rights)."""

    status = 403
    title = "Forbidden"


class NotFound(XinyongError):
    status = 404
    title = "Not found"


class Conflict(XinyongError):
    status = 409
    title = "Conflict"


class ConfigurationError(XinyongError):
    """The platform is not set up correctly (missing key, unreachable database)."""

    status = 500
    title = "Configuration error"


class Busy(XinyongError):
    """The store stayed busy longer than we wait: try again later."""

    status = 503
    title = "Busy"


class AuditFailed(XinyongError):
    """The audit event of an operation could not be appended; the message says what was kept."""

    status = 503
    title = "Audit unavailable"
