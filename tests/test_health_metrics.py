"""Seeing that it is healthy: the probes, the metrics for admins and on their own port (summed over
every worker), and 503 rather than 500 when the store's connections are lost under the server.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select, text

from builders import TENDER, make_uscc
from conftest import TEST_KEY_HEX, pg_url
from process_story import person_row
from servers import Serving, env_for, free_port, in_thread
from test_api import Served, served  # noqa: F401 - `served` is the fixture that serves the app
from xinyong.domain.catalog import Catalog
from xinyong.services.keys import create_key
from xinyong.settings import Settings
from xinyong.store.db import make_engine, upgrade
from xinyong.store.tables import audit_events

CHECK = {
    "subject": make_uscc(5),
    "context": "procurement.tender",
    "purpose": "bidder_screening",
    "reference": "tender 2027-002",
}


def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition: (name, sorted labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    }


def test_the_probes_say_alive_and_ready_and_name_what_is_missing(served: Served) -> None:  # noqa: F811
    assert served.call("GET", "/healthz").json() == {"status": "alive"}
    ready = served.call("GET", "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"store": "ok", "migrations": "ok", "catalog": "ok", "signing_key": "ok"},
    }
    from xinyong.store.db import alembic_config

    cfg = alembic_config(served.engine)
    with served.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        from alembic import command

        command.downgrade(cfg, "0007")
    try:
        behind = served.call("GET", "/readyz")
        assert behind.status_code == 503
        assert behind.json()["checks"]["migrations"].startswith("the store is at 0007, this code needs ")
        assert served.call("GET", "/healthz").status_code == 200, "alive all the same"
    finally:
        upgrade(served.engine)


def test_metrics_are_for_admins_and_count_requests_checks_ingestion_and_the_store(
    served: Served,  # noqa: F811
    catalog: Catalog,
) -> None:
    admin = served.key("admin", "ops-1")
    consumer = served.key("consumer", "finance-1", scopes=TENDER)
    assert served.call("GET", "/metrics").status_code == 401
    assert served.call("GET", "/metrics", consumer).status_code == 403
    before = samples(served.call("GET", "/metrics", admin).text)
    for _ in range(3):
        assert served.call("POST", "/v1/checks", consumer, json=CHECK).status_code == 200
    court = served.key("source", "court")
    past = {"decided_on": "2026-01-10", "valid_from": "2026-01-15"}
    batch = [person_row("M-1", 81, **past), {**person_row("M-2", 82, **past), "decided_on": "yesterday"}]
    assert served.call("POST", "/v1/records", court, json={"records": batch}).status_code == 201
    served.app.state.store_metrics._cached = None
    scraped = served.call("GET", "/metrics", admin)
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    after = samples(scraped.text)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("xinyong_checks_total", context="procurement.tender", outcome="allow") == 3
    assert grew("xinyong_http_requests_total", method="POST", route="/v1/checks", status="200") == 3
    assert grew("xinyong_http_request_duration_seconds_count", method="POST", route="/v1/checks") == 3
    assert after[("xinyong_ingest_rows_total", (("outcome", "accepted"),))] == 1
    assert after[("xinyong_ingest_rows_total", (("outcome", "rejected"),))] == 1
    with served.engine.connect() as conn:
        events = conn.scalar(select(func.count()).select_from(audit_events))
    assert after[("xinyong_audit_chain_length", ())] == events
    assert after[("xinyong_store_up", ())] == 1
    assert ("xinyong_commit_queue_depth", ()) in after
    assert {("xinyong_notices", (("state", s),)) for s in ("pending", "delivered", "dead")} <= after.keys()
    assert ("xinyong_overdue_objections", ()) in after and ("xinyong_overdue_repairs", ()) in after
    assert not any("330106" in str(k) for k in after), "no identifier in a label"


def test_the_metrics_port_sums_every_workers_counts(db_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    env = env_for(db_env, metrics_port=str(port))
    env.pop("MALLOC_ARENA_MAX", None)  # the server sets it: see ops.serving.cap_malloc_arenas
    with Serving(env, tmp_path, workers=2) as server:
        pids: dict[int, int] = {}
        while len(pids) < 2 or sum(pids.values()) < 6:
            rid = f"count-me-{uuid.uuid4().hex[:10]}"
            assert server.call("GET", "/v1/public/subjects", params={"q": "zz"}, rid=rid).status_code == 200
            pid = server.served_by(rid)
            pids[pid] = pids.get(pid, 0) + 1
            assert sum(pids.values()) < 200, "one worker answered every request"
        scraped = samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text)
        for pid in pids:  # each worker started with glibc's arenas capped, its memory bounded
            assert b"MALLOC_ARENA_MAX=2" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    key = ("xinyong_http_requests_total", (("method", "GET"), ("route", "/v1/public/subjects"), ("status", "200")))
    assert scraped[key] == sum(pids.values())
    assert scraped[("xinyong_store_up", ())] == 1


def test_connections_lost_under_the_server_answer_503_not_500_and_heal(
    pg_schema: tuple[str, str], catalog: Catalog, tmp_path: Path
) -> None:
    url = pg_url(*pg_schema)
    settings = Settings(
        database_url=url, data_dir=tmp_path, identifier_key=TEST_KEY_HEX, signing_key_file=tmp_path / "signing.key"
    )
    settings.create_signing_key_file()
    engine: Engine = make_engine(url)
    key = create_key(engine, catalog, role="consumer", name="finance-lost", scopes=TENDER)["key"]
    tag = f"xinyong-test-{uuid.uuid4().hex[:8]}"
    # The server's connections carry a name of their own, so that the test kills only those.
    settings_tagged = settings.model_copy(update={"database_url": f"{url}&application_name={tag}"})
    with in_thread(settings_tagged) as base, httpx.Client(base_url=base, timeout=30) as client:
        headers = {"authorization": f"Bearer {key}"}
        assert client.post("/v1/checks", json=CHECK, headers=headers).status_code == 200
        with engine.connect() as conn:
            killed = conn.scalar(
                text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :t"),
                {"t": tag},
            )
        assert killed >= 1
        answers = [client.post("/v1/checks", json=CHECK, headers=headers) for _ in range(12)]
        codes = [a.status_code for a in answers]
        assert set(codes) <= {200, 503}, codes
        assert codes[-1] == 200, "the pool heals without a restart"
        for a in answers:
            if a.status_code == 503:
                assert a.headers["retry-after"] and a.headers["content-type"] == "application/problem+json"
    engine.dispose()
