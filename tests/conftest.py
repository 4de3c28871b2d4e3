"""Fixture strategy.

- Store tests take the `engine` fixture, which runs every test twice: on a fresh, migrated SQLite
  file, and on PostgreSQL. The PostgreSQL server is named by XINYONG_TEST_POSTGRES_URL (`.ci/run`
  points it at the server on 127.0.0.1:5432). Each test session migrates its own schema once, and
  every test starts from empty tables (TRUNCATE after each test). Without the variable the
  PostgreSQL half is reported as not run, never passed; under CI it fails instead.
- `db_env` gives the environment a subprocess needs to talk to the same store (for tests that
  run the real `xinyong` command and kill it).
- The catalog is the shipped one, loaded once; the identifier key is a fixed test key.
- Nothing sleeps and nothing is mocked: a story happens at moments of the past, with the
  platform's clock held at each (`CLOCK.set_to`, `process_story.clock_at`); every test ends with
  the clock running again (`real_clock`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text, update

from xinyong.domain.catalog import Catalog, load_catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.identifiers import IdentifierVault
from xinyong.store.clock import EPOCH
from xinyong.store.db import make_engine, upgrade
from xinyong.store.tables import data_clock, metadata

TEST_KEY_HEX = "5a" * 32


@pytest.fixture(autouse=True)
def real_clock() -> Iterator[None]:
    """Let the clock run after each test, whatever moment the test held it at."""
    yield
    CLOCK.set_to(None)


PG_ENV = "XINYONG_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def vault() -> IdentifierVault:
    return IdentifierVault(bytes.fromhex(TEST_KEY_HEX))


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[tuple[str, str]]:
    """(base URL, schema) of a PostgreSQL schema migrated once for this test session."""
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set under CI: the PostgreSQL half of the store tests must run")
        pytest.skip(f"PostgreSQL half NOT RUN: set {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    schema = f"xy_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(base, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine)
    engine.dispose()
    yield base, schema
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def pg_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    base, schema = request.getfixturevalue("pg_schema")
    url = pg_url(base, schema)
    yield url
    engine = make_engine(url)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in metadata.sorted_tables if t is not data_clock)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(update(data_clock).values(stamp=EPOCH))  # as a new store's: see migration 0007
    engine.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def db_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env.update(
        XINYONG_DATABASE_URL=db_url,
        XINYONG_DATA_DIR=str(tmp_path / "data"),
        XINYONG_IDENTIFIER_KEY=TEST_KEY_HEX,
    )
    return env
