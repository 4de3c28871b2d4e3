"""The signed checkpoints of the audit chain's head (`services.audit_checkpoints`).

On the store's one `metadata` (`store.tables` imports this module at its end).
"""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from xinyong.store.metadata import metadata
from xinyong.store.types import BigId, UTCDateTime

# One row per checkpoint: the chain's last event (`seq`, its `hash`) when it was signed, why
# (daily, maintain, export), and the signed document itself, as an exported anchor holds it.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("seq", BigId, nullable=False),
    Column("head", String(64), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("signed", Text, nullable=False),
)
