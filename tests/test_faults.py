"""Faults that lose nothing: a full disk under ingestion, and the SQLite store written by several
server processes at once, each with its own checkpointer.

The full disk is real: a small tmpfs mounted for the test (the tests run as root, as CI does).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from builders import court_row, make_ric, ok, stored, write_csv, xy
from conftest import TEST_KEY_HEX
from servers import in_thread
from xinyong.domain.catalog import load_catalog
from xinyong.services.keys import create_key
from xinyong.settings import Settings
from xinyong.store.db import SERVER_WAL_AUTOCHECKPOINT, WalCheckpointer, make_engine, upgrade
from xinyong.store.tables import audit_events, batches, records
from xinyong.store.unit_of_work import UnitOfWork


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB file system of its own; unmounted at the end."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def test_ingesting_onto_a_full_disk_stores_nothing_says_so_and_the_store_still_opens(
    small_disk: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env.update(XINYONG_DATA_DIR=str(small_disk / "data"), XINYONG_IDENTIFIER_KEY=TEST_KEY_HEX)
    ok(xy(env, "init", cwd=tmp_path))
    births = [f"19{y:02d}0{m}1{d}" for y in range(70, 99) for m in range(1, 10) for d in range(10)]
    rows = [court_row(f"F-{i:06d}", make_ric(i % 1000, birth=births[i // 1000])) for i in range(25_000)]
    path = write_csv(tmp_path / "court.csv", rows)  # on the large disk: only the store is on the small one

    full = xy(env, "ingest", "--no-rescore", str(path), cwd=tmp_path)
    assert full.returncode == 1
    message = " ".join(full.stderr.split())
    assert "no space left on the store's disk" in message and "nothing of it is stored" in message, message
    assert "Traceback" not in full.stderr

    # Nothing half written, and the store opens and answers.
    status = json.loads(ok(xy(env, "status", "--json", cwd=tmp_path)).stdout)
    assert (status["records"], status["batches"], status["subjects"]) == (0, 0, 0)
    engine = make_engine(f"sqlite:///{small_disk / 'data' / 'xinyong.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()

    # With room again, the same command completes the batch.
    subprocess.run(["mount", "-o", "remount,size=256m", str(small_disk)], check=True)
    done = json.loads(stored(xy(env, "ingest", "--no-rescore", "--json", str(path), cwd=tmp_path)).stdout)
    assert done[0]["accepted"] == len(rows)
    assert json.loads(ok(xy(env, "audit", "verify", "--json", cwd=tmp_path)).stdout)["intact"] is True


ROW = "x" * 600


def _server_like_writer(url: str, tag: str, n: int, checkpointing: bool) -> None:
    """A server process's part: its own engine and (or not) checkpointer, writing through units of work."""
    engine = make_engine(url, wal_autocheckpoint=SERVER_WAL_AUTOCHECKPOINT)
    checkpointer = WalCheckpointer(engine, every=0.01, busy_every=0.002, restart_after=200)
    if checkpointing:
        checkpointer.start()
    for i in range(n):
        with UnitOfWork.writing(engine) as uow:
            uow.conn.execute(
                text("INSERT INTO filler (tag, i, body) VALUES (:t, :i, :b)"), {"t": tag, "i": i, "b": ROW}
            )
    checkpointer.stop()
    engine.dispose()


def _three_servers_write(path: Path, checkpointing: bool, n: int = 1500) -> int:
    """Three processes write `n` rows each at once; the size of the log they leave."""
    with sqlite3.connect(path) as db:  # small pages: many frames, a small file
        db.execute("PRAGMA page_size=4096")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE filler (tag TEXT, i INTEGER, body TEXT, PRIMARY KEY (tag, i))")
    url = f"sqlite:///{path}"
    spawn = multiprocessing.get_context("spawn")
    tags = ("a", "b", "c")
    writers = [spawn.Process(target=_server_like_writer, args=(url, tag, n, checkpointing)) for tag in tags]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=600)
    assert [w.exitcode for w in writers] == [0, 0, 0], "no writer failed (no busy store, no lost lock)"
    engine = make_engine(url)
    with engine.connect() as conn:
        counts = dict(conn.execute(text("SELECT tag, count(*) FROM filler GROUP BY tag")).all())
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()
    assert counts == dict.fromkeys(tags, n), "every write of every process is there"
    return Path(f"{path}-wal").stat().st_size


def test_several_processes_each_with_a_checkpointer_keep_every_write_and_a_short_log(tmp_path: Path) -> None:
    unchecked = _three_servers_write(tmp_path / "unchecked.db", checkpointing=False)
    checked = _three_servers_write(tmp_path / "checked.db", checkpointing=True)
    # Without checkpointers the log holds every frame appended; with one in each process it
    # is copied back and started afresh again and again, whoever else writes.
    assert checked < unchecked / 2, (checked, unchecked)


def test_the_store_keeps_its_chain_when_an_api_batch_meets_a_full_disk(small_disk: Path, tmp_path: Path) -> None:
    """The API's record batch on a full disk answers 503 and says why; nothing of it is kept."""
    settings = Settings(
        data_dir=small_disk / "data", identifier_key=TEST_KEY_HEX, signing_key_file=tmp_path / "signing.key"
    )
    settings.create_signing_key_file()
    engine = make_engine(settings.url)
    upgrade(engine)
    key = create_key(engine, load_catalog(), role="source", name="court")["key"]
    filler = small_disk / "filler"
    body = {"records": [court_row(f"A-{i}", make_ric(i)) for i in range(50)]}
    with in_thread(settings) as base:
        try:
            with contextlib.suppress(OSError), filler.open("wb") as f:  # the disk fills up while the server runs
                while True:
                    f.write(b"\0" * (1 << 16))
            answer = httpx.post(f"{base}/v1/records", json=body, headers={"authorization": f"Bearer {key}"}, timeout=60)
        finally:
            filler.unlink(missing_ok=True)
    assert answer.status_code == 503, answer.text
    assert "disk is full" in answer.json()["detail"] and answer.headers["retry-after"]
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(records)) == 0
        assert conn.scalar(select(func.count()).select_from(batches)) == 0
        assert conn.scalar(select(func.count()).select_from(audit_events)) == 1  # the key's issue
    engine.dispose()
