"""SQLite's write-ahead log, copied back into the database by a thread of a server's own."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from xinyong.store.engine import BUSY_TIMEOUT_S, writer_lock


class WalCheckpointer:
    """Copies SQLite's write-ahead log back into the database from a thread of its own.

    Every `every` seconds a passive checkpoint copies what the log holds while readers and
    writers go on; while writes keep coming, every `busy_every` seconds instead, so that each
    copies and syncs a little: the slowest checks at one connection wait for a sync, and a sync
    of half a second's log (tens of MiB) made them slower than one of a fiftieth (measured on a
    store of 1M subjects while the disk was shared and busy, nine alternated runs of 5 s: p99
    4-22 ms instead of 16-38 ms; checks/s at 64 connections the same, 1,000 to 1,100).

    A passive checkpoint alone never lets a busy log start again from its beginning: a writer
    always appends while the copy runs. So once the log holds `restart_after` frames, a second
    checkpoint (RESTART) runs with the writers of units of work held back (see `_WRITERS`): it has
    only the frames written since the first one to copy, and the next writer starts the log
    afresh. Should anyone else hold the log then, it gives up at once and tries at the next tick.
    It syncs the database file while writers wait, tens of milliseconds on a slow disk, so it
    comes rarely: ten thousand frames are 320 MiB of log at the store's 32 KiB pages. A frame is
    a whole page, so a check (its row, its audit event and their indexes) writes about 175 KiB of
    log (measured: 5.5 frames a check); the passive checkpoint's syncs grow with what it copies,
    and the slowest checks at one connection with them. A no-op for PostgreSQL.
    """

    def __init__(
        self, engine: Engine, *, every: float = 0.5, busy_every: float = 0.02, restart_after: int = 10_000
    ) -> None:
        self.engine, self.every, self.busy_every, self.restart_after = engine, every, busy_every, restart_after
        self._last_log = 0  # frames in the log at the last tick: more (or a new log) means writes came
        self.writing = False  # whether the log grew between the last two ticks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.engine.dialect.name == "sqlite" and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="xinyong-wal-checkpointer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            self.checkpoint()

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int]:
        """One checkpoint: (frames in the log, frames copied into the database)."""
        with self.engine.connect() as conn:
            _, log, copied = conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})").one()
        return int(log), int(copied)

    def tick(self) -> bool:
        """One passive checkpoint, and a restart when the log is long; whether it restarted."""
        log, _ = self.checkpoint()
        self.writing, self._last_log = log != self._last_log, log
        if log < self.restart_after:
            return False
        lock = writer_lock(self.engine)
        if lock is None or not lock.acquire(timeout=1):
            return False
        try:
            with self.engine.connect() as conn:
                # A reader or writer of another process may hold the log: then give up at once
                # (try again at the next tick) rather than hold this process's writers back.
                conn.exec_driver_sql("PRAGMA busy_timeout=0")
                try:
                    busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(RESTART)").one()[0]
                finally:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
            return not busy
        finally:
            lock.release()

    def _run(self) -> None:
        while not self._stop.wait(self.busy_every if self.writing else self.every):
            try:
                self.tick()
            except Exception:  # noqa: BLE001, S112 - a busy or closing store: try again at the next tick
                continue
