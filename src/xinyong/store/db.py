"""The store's names as they were before the store was split into modules with one job each;
import from those modules in new code: `engine` (the engine factory, writer locks), `compiled`
(the compile cache), `hot` (driver-level statements), `checkpointer` (SQLite's log) and
`migrate` (schema revisions). Writes go through `unit_of_work`."""

from __future__ import annotations

from xinyong.store.checkpointer import WalCheckpointer
from xinyong.store.engine import (
    BUSY_TIMEOUT_S,
    IDLE_PING_S,
    LOCK_NOT_AVAILABLE,
    MIN_SQLITE,
    PAGE_SIZE,
    SERVER_WAL_AUTOCHECKPOINT,
    SUPPORTED,
    advisory_key,
    make_engine,
    one_read,
    write_lock,
    writer_lock,
)
from xinyong.store.hot import HotInsert, HotRead, on_driver
from xinyong.store.migrate import alembic_config, current_revision, head_revision, require_current, upgrade

__all__ = [
    "BUSY_TIMEOUT_S",
    "IDLE_PING_S",
    "LOCK_NOT_AVAILABLE",
    "MIN_SQLITE",
    "PAGE_SIZE",
    "SERVER_WAL_AUTOCHECKPOINT",
    "SUPPORTED",
    "HotInsert",
    "HotRead",
    "WalCheckpointer",
    "advisory_key",
    "alembic_config",
    "current_revision",
    "head_revision",
    "make_engine",
    "on_driver",
    "one_read",
    "require_current",
    "upgrade",
    "write_lock",
    "writer_lock",
]
