"""A served app over the test store, for the attacks of consumers, subjects and the public.

The app is the real one, served by uvicorn on a free port in a thread of the test; keys are
issued through the service, as `xinyong keys create` does. Moments are in the past of the real
clock: a store's stamps never run ahead of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from builders import court_row, make_ric, make_uscc, write_csv
from process_story import hold
from servers import in_thread
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.ingest.pipeline import ingest_file
from xinyong.services.keys import create_key
from xinyong.settings import Settings
from xinyong.store.tables import audit_events, records

KEY_HEX = "5a" * 32
PAST = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday before every test run
TENDER = {"contexts": ["procurement.tender"]}


class Api:
    """The served app: its URL, store and catalog, and calls with a key or without."""

    def __init__(self, url: str, engine: Engine, catalog: Catalog) -> None:
        self.url, self.engine, self.catalog = url, engine, catalog

    def key(self, role: str, name: str, **kw: Any) -> str:
        return str(create_key(self.engine, self.catalog, role=role, name=name, **kw)["key"])

    def call(self, method: str, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if key:
            headers["authorization"] = f"Bearer {key}"
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def events(self, action: str) -> list[tuple[str, str]]:
        """(actor, target) of every audit event of `action`, in order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(audit_events.c.actor, audit_events.c.target)
                .where(audit_events.c.action == action)
                .order_by(audit_events.c.id)
            )
            return [(r.actor, r.target) for r in rows]


@pytest.fixture(name="api")
def api_fixture(engine: Engine, catalog: Catalog, tmp_path: Path, db_url: str) -> Iterator[Api]:
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        identifier_key=KEY_HEX,
        signing_key_file=tmp_path / "signing.key",
        public_rate_per_minute=1000,
    )
    settings.create_signing_key_file()
    with in_thread(settings) as url:
        yield Api(url, engine, catalog)


def ingest_rows(engine: Engine, catalog: Catalog, tmp: Path, rows: list[dict[str, Any]], when: datetime = PAST) -> None:
    """Ingest the court's rows at `when`."""
    folder = tmp / f"in{len(list(tmp.glob('in*')))}"
    folder.mkdir(parents=True)
    path = write_csv(folder / "court.csv", rows)
    hold(when)
    ingest_file(engine, catalog, IdentifierVault(bytes.fromhex(KEY_HEX)), path, report_dir=tmp / "rejects", now=when)


def subject_of(engine: Engine, source_ref: str) -> int:
    with engine.connect() as conn:
        sid = conn.scalar(select(records.c.subject_id).where(records.c.source_ref == source_ref))
    assert sid is not None
    return int(sid)


def person_row(ref: str, n: int) -> dict[str, Any]:
    return court_row(
        ref, make_ric(n), decided_on="2025-12-20", valid_from="2025-12-22", document_no=f"(2025)浙01执{n}号"
    )


def org_row(ref: str, n: int) -> dict[str, Any]:
    return court_row(
        ref,
        make_uscc(n),
        id_scheme="cn.uscc",
        subject_name=f"杭州测试{n}有限公司",
        decided_on="2025-12-20",
        valid_from="2025-12-22",
        document_no=f"(2025)浙01执{n}号",
    )
