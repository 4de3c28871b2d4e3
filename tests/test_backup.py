"""Backups it has restored: the restore drill, and every way a backup or restore is refused.

The drill backs a store up with the real `xinyong backup` while checks are being written to it,
restores it with `xinyong restore` into a new, empty store, and finds there an intact audit
chain, every certificate verified and every replay the same; then serves the restored store.
On SQLite and on PostgreSQL (a database of its own for the restored store).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from builders import TENDER, make_ric, make_uscc, ok, xy
from conftest import PG_ENV, pg_url
from process_story import T0, Story, person_row
from servers import Serving, env_for
from xinyong.domain.catalog import Catalog
from xinyong.domain.certificates import key_id, verify
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services import audit
from xinyong.services.checks import certificate_of, replay, run_check
from xinyong.services.keys import create_key
from xinyong.settings import Settings
from xinyong.store.db import make_engine
from xinyong.store.tables import audit_events, checks


@pytest.fixture
def restored_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty store elsewhere: a new SQLite file, or a new PostgreSQL database whose search_path
    names the test session's schema (the schema a backup of the test store holds)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'elsewhere' / 'restored.db'}"
        return
    import os

    base, schema = request.getfixturevalue("pg_schema")
    name = f"xy_restore_{uuid.uuid4().hex[:10]}"
    admin = make_engine(os.environ[PG_ENV], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield pg_url(make_url(base).set(database=name).render_as_string(hide_password=False), schema)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def _checks(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, key: Ed25519PrivateKey, start: int, n: int
) -> None:
    for i in range(start, start + n):
        identifier = make_ric(40 + i % 3) if i % 2 else make_uscc(i % 7 + 1)
        run_check(engine, catalog, vault, key, identifier=identifier, context="procurement.tender",
                  purpose="bidder_screening", consumer="consumer:finance")  # fmt: skip


def test_a_backup_taken_under_load_restores_whole_and_keeps_serving(
    engine: Engine,
    db_env: dict[str, str],
    catalog: Catalog,
    vault: IdentifierVault,
    restored_url: str,
    tmp_path: Path,
) -> None:
    env = env_for(db_env)
    key = Settings(data_dir=Path(env["XINYONG_DATA_DIR"])).signing_key()
    story = Story(engine, catalog, vault, tmp_path)
    story.ingest([person_row(f"B-{i}", 40 + i) for i in range(3)], T0)
    story.maintain(T0)
    _checks(engine, catalog, vault, key, 0, 20)
    stop = threading.Event()
    written: list[int] = []

    def load() -> None:
        i = 20
        while not stop.is_set():
            _checks(engine, catalog, vault, key, i, 1)
            written.append(i)
            i += 1

    loader = threading.Thread(target=load)
    loader.start()
    try:
        while len(written) < 3:  # the backup starts while checks are being written
            stop.wait(0.01)
        made = xy(env, "backup", str(tmp_path / "store.backup"), "--json", cwd=tmp_path)
    finally:
        stop.set()
        loader.join()
    out = json.loads(ok(made).stdout)
    assert (tmp_path / "store.backup").stat().st_mode & 0o777 == 0o600
    assert "identifier key" in made.stderr and "signing key" in made.stderr, "the keys are not in it: it says so"

    there = {**env, "XINYONG_DATABASE_URL": restored_url}
    ok(xy(there, "restore", str(tmp_path / "store.backup"), cwd=tmp_path))
    assert json.loads(ok(xy(there, "audit", "verify", "--json", cwd=tmp_path)).stdout)["intact"] is True
    restored = make_engine(restored_url)
    try:
        with restored.connect() as conn:
            ids = list(conn.scalars(select(checks.c.id)))
            actions = list(conn.scalars(select(audit_events.c.action).order_by(audit_events.c.id)))
        assert 20 <= len(ids) <= 20 + len(written)
        assert "backup" in actions and actions[-1] == "restore", "the backup's event is in it; the restore added one"
        public = {key_id(key.public_key()): key.public_key()}
        for check_id in ids:
            verify(certificate_of(restored, check_id), public)
            assert replay(restored, catalog, check_id)["same"] is True
        with Serving(there, tmp_path, name="restored") as server:
            consumer = create_key(restored, catalog, role="consumer", name="tax-bureau", scopes=TENDER)["key"]
            answer = server.call("POST", "/v1/checks", key=consumer, json={
                "subject": make_uscc(3), "context": "procurement.tender", "purpose": "bidder_screening"})  # fmt: skip
            assert answer.status_code == 200, answer.text
        assert audit.verify(restored).intact
        assert out["sha256"] and out["revision"]
    finally:
        restored.dispose()


def test_restore_refuses_a_store_that_is_not_empty_and_a_file_that_is_no_backup(
    engine: Engine, db_env: dict[str, str], tmp_path: Path
) -> None:
    env = env_for(db_env)
    ok(xy(env, "backup", str(tmp_path / "b1"), cwd=tmp_path))
    again = xy(env, "backup", str(tmp_path / "b1"), cwd=tmp_path)
    assert again.returncode == 1 and "never overwrites" in again.stderr
    into_itself = xy(env, "restore", str(tmp_path / "b1"), cwd=tmp_path)
    assert into_itself.returncode == 1 and "is not empty" in " ".join(into_itself.stderr.split())
    with engine.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(audit_events))
    for name, content in (("empty", b""), ("rows.csv", b"source_ref,record_type\nA-1,court.defaulter\n"),
                          ("noise", bytes(range(256)) * 40)):  # fmt: skip
        (tmp_path / name).write_bytes(content)
        refused = xy(
            {**env, "XINYONG_DATABASE_URL": f"sqlite:///{tmp_path / name}.db"},
            "restore",
            str(tmp_path / name),
            cwd=tmp_path,
        )
        assert refused.returncode == 1 and "is not a backup of xinyong" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    missing = xy(env, "restore", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.returncode == 1 and "no such file" in missing.stderr
    folder = xy(env, "restore", str(tmp_path), cwd=tmp_path)
    assert folder.returncode == 1 and "is a directory" in folder.stderr
    elsewhere = xy(env, "backup", str(tmp_path / "no-such-dir" / "b2"), cwd=tmp_path)
    assert elsewhere.returncode == 1 and "is not a directory" in elsewhere.stderr
    other = (
        "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        if engine.dialect.name == "sqlite"
        else f"sqlite:///{tmp_path / 'x.db'}"
    )
    crossed = xy({**env, "XINYONG_DATABASE_URL": other}, "restore", str(tmp_path / "b1"), cwd=tmp_path)
    assert crossed.returncode == 1 and "restore it into a" in " ".join(crossed.stderr.split())
    with engine.connect() as conn:  # the refused restore into the store itself changed nothing
        assert conn.scalar(select(func.count()).select_from(audit_events)) == before
