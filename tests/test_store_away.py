"""The store goes away under a serving server and comes back: 503 while it is away, and every answer
after it is back a success, without restarting the server.

PostgreSQL only, and safe beside other tests: the store is a database of its own, made
unreachable by refusing its connections (`ALLOW_CONNECTIONS false`) and ending those open, as a
restart would, without touching the cluster (`bench/drills/pg_restart.py` restarts it for real).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from builders import TENDER, make_uscc
from conftest import PG_ENV, TEST_KEY_HEX
from servers import Serving, env_for
from xinyong.domain.catalog import Catalog
from xinyong.services.keys import create_key
from xinyong.store.db import make_engine, upgrade


@pytest.fixture
def own_database(pg_schema: tuple[str, str]) -> Iterator[tuple[str, Engine]]:
    """(URL, admin engine) of a migrated database of the test's own, dropped at the end."""
    name = f"xy_away_{uuid.uuid4().hex[:10]}"
    admin = make_engine(os.environ[PG_ENV], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(os.environ[PG_ENV]).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url, admin
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _away(admin: Engine, url: str, away: bool) -> None:
    name = make_url(url).database
    with admin.connect() as conn:
        conn.execute(text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {'false' if away else 'true'}"))
        if away:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"), {"d": name})


def test_while_the_store_is_away_the_server_answers_503_and_once_back_only_successes(
    own_database: tuple[str, Engine], catalog: Catalog, tmp_path: Path
) -> None:
    url, admin = own_database
    engine = make_engine(url)
    key = create_key(engine, catalog, role="consumer", name="finance-away", scopes=TENDER)["key"]
    engine.dispose()
    env = env_for(
        {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
        | {
            "XINYONG_DATABASE_URL": url,
            "XINYONG_DATA_DIR": str(tmp_path / "data"),
            "XINYONG_IDENTIFIER_KEY": TEST_KEY_HEX,
        },
        public_rate_per_minute="100000",
    )

    def requests(server: Serving, n: int) -> list[int]:
        codes = []
        for i in range(n):
            check = {
                "subject": make_uscc(i % 20 + 1),
                "context": "procurement.tender",
                "purpose": "bidder_screening",
                "reference": f"tender {i}",
            }
            codes.append(server.call("POST", "/v1/checks", key=key, json=check).status_code)
            codes.append(server.call("GET", "/v1/public/subjects", params={"q": "hangzhou"}).status_code)
        return codes

    with Serving(env, tmp_path, workers=2) as server:
        assert set(requests(server, 20)) == {200}
        _away(admin, url, True)
        try:
            while_away = requests(server, 20)
            ready = server.call("GET", "/readyz")
            unavailable = server.call("GET", "/v1/public/subjects", params={"q": "hangzhou"})
        finally:
            _away(admin, url, False)
        after = requests(server, 40)
        errors = [x for x in server.lines() if x.get("level") == "ERROR"]
    assert set(while_away) == {503}, while_away
    assert unavailable.headers["retry-after"] and "cannot be reached" in unavailable.json()["detail"]
    assert ready.status_code == 503 and ready.json()["checks"]["store"].startswith("unreachable")
    assert set(after) == {200}, after
    assert errors == [], "no request failed with an unexpected error"
