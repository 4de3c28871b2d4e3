"""What the server adds around the store: the group committer that writes checks many to a
transaction, and the thread that keeps SQLite's write-ahead log short.

On the real store (SQLite and PostgreSQL) with real threads and a real event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Column, Engine, Integer, MetaData, Table, Text, delete, func, insert, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from builders import make_uscc, write_conn
from conftest import pg_url
from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import Busy
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services import audit
from xinyong.services.checks import Decided, decide_check, store_checks
from xinyong.store.db import SERVER_WAL_AUTOCHECKPOINT, WalCheckpointer, make_engine
from xinyong.store.group_commit import GroupCommitter
from xinyong.store.tables import audit_events, checks
from xinyong.store.unit_of_work import AuditEvent, UnitOfWork

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def _decided(engine: Engine, catalog: Catalog, vault: IdentifierVault, n: int) -> list[Decided]:
    return [
        decide_check(
            engine,
            catalog,
            vault,
            KEY,
            identifier=make_uscc(i),
            context="procurement.tender",
            purpose="bidder_screening",
            reference=f"tender {i}",
            consumer="consumer:finance",
        )
        for i in range(1, n + 1)
    ]


def test_concurrent_checks_are_stored_in_shared_transactions_with_an_intact_chain(
    engine: Engine, catalog: Catalog, vault: IdentifierVault
) -> None:
    decided = _decided(engine, catalog, vault, 60)
    batches: list[int] = []

    def write(batch: Sequence[Decided]) -> None:
        batches.append(len(batch))
        store_checks(engine, batch)

    committer: GroupCommitter[Decided] = GroupCommitter(write, name="test-writer")

    async def submit_all() -> None:
        await asyncio.gather(*(committer.submit(d) for d in decided))

    asyncio.run(submit_all())
    committer.stop()
    assert sum(batches) == 60
    assert len(batches) < 60, "submitted together, the checks should have shared transactions"
    with engine.connect() as conn:
        stored = set(conn.scalars(select(checks.c.id)))
        targets = list(conn.scalars(select(audit_events.c.purpose).order_by(audit_events.c.id)))
    assert stored == {d.payload["check_id"] for d in decided}
    assert sorted(targets) == sorted(f"bidder_screening: tender {i}" for i in range(1, 61))
    assert audit.verify(engine).intact


def test_stored_checks_read_back_as_decided_and_a_bad_batch_leaves_nothing(
    engine: Engine, catalog: Catalog, vault: IdentifierVault
) -> None:
    # What store_checks stores reads back as the decision; a statement that fails raises
    # SQLAlchemy's error for it (which the group committer retries item by item) and leaves
    # nothing of its transaction behind.
    first, second = _decided(engine, catalog, vault, 2)
    store_checks(engine, [first])
    with engine.connect() as conn:
        row = conn.execute(select(checks).where(checks.c.id == first.payload["check_id"])).one()
    assert row.decision == first.payload["decision"]
    assert row.created_at == first.row["created_at"] and row.known_at == first.row["known_at"]
    assert row.certificate == first.row["certificate"]
    with pytest.raises(IntegrityError):  # the first check again: its id is taken
        store_checks(engine, [second, first])
    too_long = Decided(second.payload, {**second.row, "consumer": "x" * 101}, second.event, second.payload_json)
    if engine.dialect.name == "postgresql":  # SQLite does not enforce a VARCHAR's length
        with pytest.raises(DataError):
            store_checks(engine, [too_long])
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(checks)) == 1
        assert conn.scalar(select(func.count()).select_from(audit_events)) == 1
    store_checks(engine, [second])  # the connection that failed is usable again
    assert audit.verify(engine).intact


def test_on_postgresql_a_failed_store_of_checks_gives_its_connection_back_as_it_came(
    pg_schema: tuple[str, str], catalog: Catalog, vault: IdentifierVault
) -> None:
    """On PostgreSQL checks are stored on the driver's connection, in autocommit mode with their
    own BEGIN and COMMIT: after a failure the pooled connection must hold no transaction and be
    out of autocommit, or every transaction on it after would be no transaction at all."""
    engine = make_engine(pg_url(*pg_schema), pool_size=1, max_overflow=0)  # one connection: the one that failed
    try:
        first, second = _decided(engine, catalog, vault, 2)
        store_checks(engine, [first])
        with pytest.raises(IntegrityError):
            store_checks(engine, [second, first])
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            assert driver is not None and driver.autocommit is False
            assert driver.info.transaction_status.name == "IDLE"

        def both() -> None:  # the second insert fails: the first must go with it
            with write_conn(engine, dated=False) as conn:
                conn.execute(insert(checks), [second.row])
                conn.execute(insert(checks), [first.row])

        with pytest.raises(IntegrityError):
            both()
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(checks).where(checks.c.id == second.row["id"])) == 0
    finally:
        with engine.begin() as conn:  # the session's schema: leave nothing to the tests after this one
            conn.execute(delete(checks))
            conn.execute(delete(audit_events))
        engine.dispose()


def test_checks_and_other_writers_of_the_audit_chain_extend_one_chain(
    engine: Engine, catalog: Catalog, vault: IdentifierVault
) -> None:
    # Checks and other writers append to the chain from threads of their own at once: each must
    # read the hash its predecessor committed, never a stale one.
    decided = _decided(engine, catalog, vault, 40)
    errors: list[BaseException] = []

    def checks_writer(part: list[Decided]) -> None:
        try:
            for d in part:
                store_checks(engine, [d])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def other_writer() -> None:
        try:
            for i in range(40):
                with UnitOfWork.writing(engine, dated=False) as uow:
                    uow.audit(AuditEvent("admin:test", "read", f"subject:{i}"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=checks_writer, args=(decided[i::2],)) for i in range(2)]
    threads.append(threading.Thread(target=other_writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = audit.verify(engine)
    assert report.events == 80 and report.intact, report.problems


def test_a_failing_item_fails_alone_and_a_stopped_committer_refuses_more() -> None:
    written: list[int] = []

    def write(batch: Sequence[int]) -> None:
        if 13 in batch:
            raise ValueError("13 is refused")
        written.extend(batch)

    committer: GroupCommitter[int] = GroupCommitter(write, name="test-writer", retry_alone=(ValueError,))

    async def submit_all() -> list[BaseException | None]:
        return await asyncio.gather(*(committer.submit(i) for i in range(30)), return_exceptions=True)

    results = asyncio.run(submit_all())
    assert [i for i, r in enumerate(results) if r is not None] == [13]
    assert isinstance(results[13], ValueError) and "13 is refused" in str(results[13])
    assert sorted(written) == [i for i in range(30) if i != 13]
    committer.stop()
    with pytest.raises(RuntimeError, match="has stopped"):
        asyncio.run(committer.submit(99))


def test_a_failure_of_the_store_fails_the_batch_once_not_once_per_item() -> None:
    attempts: list[int] = []

    def write(batch: Sequence[int]) -> None:
        attempts.append(len(batch))
        raise TimeoutError("the store's write lock was not free")

    committer: GroupCommitter[int] = GroupCommitter(write, name="test-writer", retry_alone=(ValueError,))

    async def submit_all() -> list[BaseException | None]:
        return await asyncio.gather(*(committer.submit(i) for i in range(30)), return_exceptions=True)

    results = asyncio.run(submit_all())
    committer.stop()
    assert all(isinstance(r, TimeoutError) for r in results)
    assert sum(attempts) == 30, "each item was tried once, in its batch"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the thread's end, on purpose
def test_a_committer_whose_thread_dies_mid_batch_tells_each_item_once_and_writes_the_rest() -> None:
    class Fatal(BaseException):  # not an Exception: it ends the committer's thread
        pass

    gate, written, dying = threading.Event(), [], []

    def write(batch: Sequence[int]) -> None:
        if batch == [0]:
            assert gate.wait(30), "the test opens the gate once every item is queued"
        if len(batch) > 1:
            raise ValueError("one of them is bad")  # so each is written alone
        if batch[0] == 2:
            dying.append(threading.current_thread())
            raise Fatal
        written.extend(batch)

    committer: GroupCommitter[int] = GroupCommitter(write, name="test-writer", retry_alone=(ValueError,))

    async def scenario() -> list[BaseException | None]:
        first = asyncio.ensure_future(committer.submit(0))
        await asyncio.sleep(0.05)  # item 0 is being written, alone, behind the gate
        rest = [asyncio.ensure_future(committer.submit(i)) for i in range(1, 6)]
        await asyncio.sleep(0)
        gate.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    results = asyncio.run(scenario())
    committer.stop()
    dying[0].join(30)  # its end is reported within this test, which expects it
    assert isinstance(results[2], RuntimeError), "the item whose write ended the thread is told so"
    failed_with_it = {i for i, r in enumerate(results) if r is not None}
    assert 2 in failed_with_it and all(isinstance(results[i], RuntimeError) for i in failed_with_it)
    assert set(written) | failed_with_it == set(range(6)), "every other item was written, by a new thread"
    assert {0, 1} <= set(written), "written before the thread ended, and told so once"
    assert committer.waiting == 0, "each item left the count once"


def test_a_committer_that_falls_behind_refuses_more_at_once_and_takes_them_again_once_it_caught_up() -> None:
    release, started = threading.Event(), threading.Event()
    written: list[int] = []

    def write(batch: Sequence[int]) -> None:
        started.set()
        assert release.wait(30), "the test releases the store"
        written.extend(batch)

    committer: GroupCommitter[int] = GroupCommitter(write, name="test-writer", max_waiting=5)

    async def scenario() -> tuple[list[BaseException | None], BaseException | None]:
        held = [asyncio.ensure_future(committer.submit(i)) for i in range(5)]
        await asyncio.sleep(0)  # the five are handed over: one is being written, four wait
        with pytest.raises(Busy, match="5 writes are waiting"):
            await committer.submit(5)
        await asyncio.to_thread(started.wait, 30)
        release.set()
        done = await asyncio.gather(*held, return_exceptions=True)
        return done, await asyncio.gather(committer.submit(6), return_exceptions=True)

    done, later = asyncio.run(scenario())
    committer.stop()
    assert done == [None] * 5 and later == [None]
    assert sorted(written) == [0, 1, 2, 3, 4, 6], "the refused one was never written; the next one was"


def test_a_writer_that_cannot_get_the_store_is_told_busy_not_handed_a_driver_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    holder, impatient = make_engine(url), make_engine(url, busy_timeout_s=0)  # two processes' worth
    with write_conn(holder) as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with pytest.raises(Busy, match="another writer held the store for 0 s: try again later"), write_conn(impatient):
            pass
    with write_conn(impatient) as conn:  # the holder committed: the store is free again
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    for engine in (holder, impatient):
        engine.dispose()


def _pages_written(engine: Engine, commits: int) -> None:
    table = Table("filler", MetaData(), Column("id", Integer, primary_key=True), Column("body", Text))
    table.create(engine)
    for i in range(commits):
        with write_conn(engine) as conn:
            conn.execute(insert(table), {"id": i, "body": "x" * 3000})


def test_a_server_engine_leaves_the_log_to_its_checkpointer(tmp_path: Path) -> None:
    # With the server's setting, commits leave the log to the checkpointer.
    quiet = make_engine(f"sqlite:///{tmp_path / 'quiet.db'}", wal_autocheckpoint=SERVER_WAL_AUTOCHECKPOINT)
    _pages_written(quiet, 1500)
    log, copied = WalCheckpointer(quiet).checkpoint()
    assert log >= 1500 and copied == log
    # SQLite's own checkpoint on commit restarts the log every thousand frames or so.
    default = make_engine(f"sqlite:///{tmp_path / 'default.db'}")
    _pages_written(default, 1500)
    assert WalCheckpointer(default).checkpoint()[0] < 1500
    # The checkpointer's thread keeps a server engine's log as short as that, off the commits.
    served = make_engine(f"sqlite:///{tmp_path / 'served.db'}", wal_autocheckpoint=SERVER_WAL_AUTOCHECKPOINT)
    checkpointer = WalCheckpointer(served, every=0.01, restart_after=500)
    checkpointer.start()
    _pages_written(served, 1500)
    checkpointer.stop()
    log, copied = checkpointer.checkpoint()
    assert log < 1500 and copied == log
    with served.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Table("filler", MetaData(), autoload_with=conn))) == 1500
    for e in (quiet, default, served):
        e.dispose()


def test_the_checkpointer_comes_often_while_writes_come_and_rarely_when_they_stop(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}", wal_autocheckpoint=SERVER_WAL_AUTOCHECKPOINT)
    checkpointer = WalCheckpointer(engine, every=0.5, busy_every=0.02)
    _pages_written(engine, 50)
    checkpointer.tick()
    assert checkpointer.writing, "the log grew since the last tick: the next one comes after busy_every"
    checkpointer.tick()
    assert not checkpointer.writing, "nothing was written since: the next tick comes after every"
    with write_conn(engine) as conn:
        conn.exec_driver_sql("INSERT INTO filler (id, body) VALUES (1000, 'x')")
    checkpointer.tick()
    assert checkpointer.writing
    engine.dispose()


def test_the_restart_gives_way_at_once_to_a_reader_on_the_old_log(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}", wal_autocheckpoint=SERVER_WAL_AUTOCHECKPOINT)
    _pages_written(engine, 50)
    checkpointer = WalCheckpointer(engine, restart_after=10)
    with engine.connect() as reader, reader.begin():
        reader.exec_driver_sql("SELECT count(*) FROM filler").one()  # holds its snapshot of the log
        with write_conn(engine) as conn:  # the log grows past the reader's snapshot
            conn.exec_driver_sql("INSERT INTO filler (id, body) VALUES (1000, 'x')")
        assert checkpointer.tick() is False, "a reader holds the log: the restart must give up"
        with write_conn(engine) as conn:  # and the writers are not held back by it
            conn.exec_driver_sql("INSERT INTO filler (id, body) VALUES (1001, 'x')")
    assert checkpointer.tick() is True, "with the reader gone, the restart goes through"
    with write_conn(engine) as conn:
        conn.exec_driver_sql("INSERT INTO filler (id, body) VALUES (1002, 'x')")
    assert checkpointer.checkpoint()[0] < 10, "the next writer started the log afresh"
    engine.dispose()


def test_a_pooled_postgresql_connection_is_asked_whether_it_lives_only_after_it_idled(
    pg_schema: tuple[str, str],
) -> None:
    """Asking before every use costs a round trip per request; asking only after an idle spell
    still replaces, unseen, a connection that died while it waited."""
    url = pg_url(*pg_schema)
    admin = make_engine(url)

    def backend(engine: Engine) -> int:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())

    def kill(pid: int) -> None:
        with admin.connect() as conn:  # returns once the backend has ended (or after 10 s, false)
            assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid}, 10000)").scalar_one()

    idled = make_engine(url, idle_ping_s=0, pool_size=1, max_overflow=0)  # every connection counts as idle
    first = backend(idled)
    kill(first)
    assert backend(idled) != first, "the dead connection was found before use and replaced"

    busy = make_engine(url, idle_ping_s=3600, pool_size=1, max_overflow=0)  # none idles long enough
    first = backend(busy)
    kill(first)
    with pytest.raises(OperationalError):
        backend(busy)  # not asked: used moments ago, it fails on use like any in-flight failure
    assert backend(busy) != first, "and the pool replaces it for the next request"
    for engine in (idled, busy, admin):
        engine.dispose()
