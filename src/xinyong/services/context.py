"""What every command needs: settings, catalog, engine. Built once per process, on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError

from xinyong.domain.catalog import Catalog, load_catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services.keys import KeyCache
from xinyong.settings import Settings
from xinyong.store.engine import SERVER_WAL_AUTOCHECKPOINT, make_engine
from xinyong.store.group_commit import GroupCommitter
from xinyong.store.migrate import require_current

if TYPE_CHECKING:  # the check service (and its cryptography) is imported by the commands that use it
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from xinyong.services.checks import Decided


@dataclass
class AppContext:
    settings: Settings
    # A server keeps SQLite's write-ahead log short from a thread of its own (`WalCheckpointer`),
    # and its pool holds a connection for each worker thread.
    serving: bool = False
    _check_writer: GroupCommitter[Decided] | None = field(default=None, init=False, repr=False)

    @cached_property
    def catalog(self) -> Catalog:
        return load_catalog(self.settings.catalog_dir)

    @cached_property
    def engine(self) -> Engine:
        if not self.serving:
            return make_engine(self.settings.url)
        # Room for a connection in each thread that may hold one at once: the 40 of the pool that
        # runs plain routes, the 16 reads of api.deps.read (PostgreSQL), and the group committer.
        # The pool hands out the connection returned last (LIFO), so that when few requests run
        # the same few connections serve them, their SQLite page cache and PostgreSQL prepared
        # statements warm: in the first 8 s of checks at one connection on PostgreSQL, p50 2.7 ms
        # instead of 3.3 (a queue would go round all of them, each cold).
        return make_engine(
            self.settings.url,
            wal_autocheckpoint=SERVER_WAL_AUTOCHECKPOINT,
            pool_size=20,
            max_overflow=40,
            pool_use_lifo=True,
            hide_parameters=True,  # ops: an error in the server's log never shows a statement's values
        )

    def migrated_engine(self) -> Engine:
        require_current(self.engine)
        return self.engine

    @cached_property
    def vault(self) -> IdentifierVault:
        return self.settings.vault()

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        return self.settings.signing_key()

    @cached_property
    def keys(self) -> KeyCache:
        """The keys this server has authenticated (see `KeyCache`)."""
        return KeyCache()

    @property
    def check_writer(self) -> GroupCommitter[Decided]:
        """Stores the checks the service decides, many to a transaction under load; made on first
        use (by the event loop's thread only) and ended by `close_check_writer`."""
        if self._check_writer is None:
            from xinyong.services.checks import store_checks

            self._check_writer = GroupCommitter(
                lambda batch: store_checks(self.engine, batch),
                name="xinyong-check-writer",
                retry_alone=(IntegrityError, DataError),
            )
        return self._check_writer

    @property
    def check_queue_depth(self) -> int:
        """Checks waiting for the committer (ops: the metrics' commit queue depth)."""
        return 0 if self._check_writer is None else self._check_writer.waiting

    def close_check_writer(self) -> None:
        """Store the checks still waiting, then end the writer (a later check starts a new one)."""
        writer, self._check_writer = self._check_writer, None
        if writer is not None:
            writer.stop()
