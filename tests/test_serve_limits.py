"""The served API's safeguards, on real `xinyong serve` processes: what its log never holds, who a
client is for the rate limits, which routes are limited, and that several workers share the
limits (through Redis) and the revocation of a key.
"""

from __future__ import annotations

import itertools
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import func, select

from builders import TENDER, make_ric, make_uscc, ok, xy
from servers import Serving, env_for
from xinyong.domain.catalog import Catalog
from xinyong.services import audit
from xinyong.services.keys import create_key
from xinyong.store.db import make_engine
from xinyong.store.tables import checks

REDIS = "redis://127.0.0.1:6379/0"


def test_a_query_for_a_resident_number_leaves_no_trace_in_any_log(db_env: dict[str, str], tmp_path: Path) -> None:
    ric = make_ric(7)
    env = env_for(db_env, log_level="debug")
    with Serving(env, tmp_path) as server:
        answered = server.call("GET", "/v1/public/subjects", params={"q": ric}, rid="search-by-number-1")
        assert answered.status_code == 200
        assert answered.headers["x-request-id"] == "search-by-number-1"
        typed = server.call("GET", f"/v1/public/subjects/{ric[:15]}", rid="number-in-path-1")
        assert typed.status_code == 404  # no subject has that row id
        unknown = server.call("GET", f"/v1/nowhere/{ric}", rid="number-in-path-2")
        assert unknown.status_code == 404
        # A request id that is not well formed is replaced, not written into the log.
        hostile = server.call("GET", "/healthz", headers={"x-request-id": f'{ric} "}}, {{"status": 500'})
        assert len(hostile.headers["x-request-id"]) == 32 and ric not in hostile.headers["x-request-id"]
        server.served_by("number-in-path-2")  # waits for the access lines of every request
        line = server.access("search-by-number-1")
    assert line is not None
    assert line["route"] == "/v1/public/subjects" and line["status"] == 200 and line["method"] == "GET"
    assert server.access("number-in-path-2")["route"] == "unmatched"  # type: ignore[index]
    everything = server.text()
    for trace in (ric, ric[:15], ric[6:14]):
        assert trace not in everything


def _limited(server: Serving, path: str, n: int, **headers: str) -> list[int]:
    return [server.call("GET", path, headers=headers).status_code for _ in range(n)]


def test_a_client_cannot_pick_a_new_identity_with_x_forwarded_for(db_env: dict[str, str], tmp_path: Path) -> None:
    env = env_for(db_env, public_rate_per_minute="5")
    with Serving(env, tmp_path) as server:
        statuses = [
            server.call("GET", "/v1/public/subjects", params={"q": "zz"}, headers={"x-forwarded-for": f"10.9.0.{i}"})
            for i in range(7)
        ]
    assert [r.status_code for r in statuses] == [200] * 5 + [429] * 2
    refused = statuses[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "at most 5 requests a minute" in refused.json()["detail"]


def test_behind_a_trusted_proxy_the_forwarded_client_is_limited(db_env: dict[str, str], tmp_path: Path) -> None:
    env = env_for(db_env, public_rate_per_minute="3", trusted_proxies="127.0.0.0/8, ::1")
    with Serving(env, tmp_path) as server:
        # Each route is limited: a client of its own per route shows each one refuses the fourth.
        check_id = "0" * 32
        for client, path in zip(
            itertools.count(1),
            [
                "/v1/keys",
                f"/v1/checks/{check_id}/certificate",
                f"/v1/checks/{check_id}/replay",
                "/v1/public/subjects/1",
            ],
            strict=False,
        ):
            statuses = _limited(server, path, 4, **{"x-forwarded-for": f"198.51.100.{client}"})
            assert statuses[-1] == 429 and 429 not in statuses[:3], (path, statuses)
        # The proxy's own address is never the client's: a forwarded address counts on its own.
        fresh = server.call("GET", "/v1/keys", headers={"x-forwarded-for": "198.51.100.99"}, rid="forwarded-client-1")
        assert fresh.status_code == 200
        server.served_by("forwarded-client-1")  # waits for its access line
        assert server.access("forwarded-client-1")["client"] == "198.51.100.99"  # type: ignore[index]


def test_a_bad_trusted_proxy_setting_stops_the_server_with_its_reason(db_env: dict[str, str], tmp_path: Path) -> None:
    result = xy(env_for(db_env, trusted_proxies="10.0.0.1, proxy.example"), "serve", "--port", "1", cwd=tmp_path)
    assert result.returncode == 1
    assert "XINYONG_TRUSTED_PROXIES: 'proxy.example' is not an address or a network" in result.stderr


def _until_both_workers(server: Serving, send: object, limit: int = 200) -> dict[int, list[int]]:
    """Send requests (each on a new connection) until both workers have answered; per worker
    pid, the statuses it answered."""
    seen: dict[int, list[int]] = {}
    for i in range(limit):
        rid = f"both-workers-{uuid.uuid4().hex[:8]}-{i}"
        status = send(rid)  # type: ignore[operator]
        seen.setdefault(server.served_by(rid), []).append(status)
        if len(seen) == 2:
            return seen
    raise AssertionError(f"one worker answered all {limit} requests")


@pytest.mark.parametrize("shared", [True, False], ids=["redis", "per-process"])
def test_two_workers_share_one_limit_through_redis(db_env: dict[str, str], tmp_path: Path, shared: bool) -> None:
    limit = 8
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    env = env_for(db_env, public_rate_per_minute=str(limit), rate_limit_namespace=namespace)
    if shared:
        env["XINYONG_REDIS_URL"] = REDIS
    with Serving(env, tmp_path, workers=2) as server:

        def search(rid: str) -> int:
            return server.call("GET", "/v1/public/subjects", params={"q": "zz"}, rid=rid).status_code

        seen = _until_both_workers(server, search)
        statuses = [s for answered in seen.values() for s in answered]
        statuses += [search(f"more-{i}-{uuid.uuid4().hex[:6]}") for i in range(2 * limit)]
    passed = statuses.count(200)
    if shared:
        assert passed == limit, f"{passed} requests passed a shared limit of {limit}"
        keys = redis.Redis.from_url(REDIS).keys(f"xinyong:{namespace}*")
        assert keys, "the counts are in Redis under the store's namespace"
    else:
        assert passed > limit, "each process counted on its own"


CHECK = {
    "subject": make_uscc(1),
    "context": "procurement.tender",
    "purpose": "bidder_screening",
    "reference": "tender 2027-001",
}


def test_revoking_a_key_binds_every_worker_at_once(
    db_env: dict[str, str], db_url: str, catalog: Catalog, tmp_path: Path
) -> None:
    env = env_for(db_env)
    engine = make_engine(db_url)
    key = create_key(engine, catalog, role="consumer", name="tax-bureau", scopes=TENDER)
    with Serving(env, tmp_path, workers=2) as server:

        def check(rid: str) -> int:
            return server.call("POST", "/v1/checks", key=key["key"], rid=rid, json=CHECK).status_code

        before = _until_both_workers(server, check)
        assert {s for answered in before.values() for s in answered} == {200}, "each worker now keeps the key"
        ok(xy(env, "keys", "revoke", key["id"], cwd=tmp_path))
        after = _until_both_workers(server, check)
    engine.dispose()
    assert {s for answered in after.values() for s in answered} == {401}


def test_checks_from_two_workers_at_once_extend_one_audit_chain(
    db_env: dict[str, str], db_url: str, catalog: Catalog, tmp_path: Path
) -> None:
    env = env_for(db_env)
    engine = make_engine(db_url)
    key = create_key(engine, catalog, role="consumer", name="tax-bureau", scopes=TENDER)["key"]
    with Serving(env, tmp_path, workers=2) as server:

        def burst(n: int) -> list[tuple[int, int]]:
            with httpx.Client(base_url=server.url, timeout=60, headers={"authorization": f"Bearer {key}"}) as client:
                answers = []
                for i in range(25):
                    rid = f"burst-{n}-{i}-{uuid.uuid4().hex[:6]}"
                    body = {**CHECK, "subject": make_uscc(1 + (n * 25 + i) % 40)}
                    answers.append((client.post("/v1/checks", json=body, headers={"x-request-id": rid}).status_code, n))
                return answers

        with ThreadPoolExecutor(8) as pool:
            answers = [a for batch in pool.map(burst, range(8)) for a in batch]
        served = {int(x["pid"]) for x in server.lines() if x.get("route") == "/v1/checks"}
    assert [s for s, _ in answers] == [200] * 200
    assert len(served) == 2, "both workers wrote checks"
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(checks)) == 200
    report = audit.verify(engine)
    engine.dispose()
    assert report.intact and report.events >= 201
