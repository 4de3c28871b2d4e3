"""Notices reach people: signed webhooks to a gateway on loopback, retries, backoff, dead letters.

The gateway (`gateway.py`) is a real HTTP server that verifies each signature and fails the
first attempts of every notice; delivery runs with the platform's clock held at moments of the past, so nothing sleeps.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from builders import ok, xy
from gateway import Gateway, new_secret, notice_ids
from process_story import T0, Story, at, clock_at, hold, person_row
from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import ConfigurationError
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services import lists as lists_service
from xinyong.services.delivery import (
    Channel,
    DeliveryRun,
    RetryPolicy,
    WebhookChannel,
    channel_from,
    deliver_due,
    webhook_id,
)
from xinyong.settings import Settings
from xinyong.store.deliveries import delivery_counts
from xinyong.store.ops_tables import notice_attempts, notice_deliveries
from xinyong.store.tables import notices


def deliver_at(moment: datetime, engine: Engine, channel: Channel, policy: RetryPolicy, page: int = 20) -> DeliveryRun:
    """A delivery run with the platform's clock held at `moment` (of the past): delivery knows no other time."""
    hold(moment)
    return deliver_due(engine, channel, policy, page=page)


def with_notices(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path, n: int = 3) -> set[int]:
    """Residents proposed for the black list and approved: each gets notices in the outbox."""
    story = Story(engine, catalog, vault, tmp_path)
    story.ingest([person_row(f"W-{i}", 60 + i) for i in range(n)], T0)
    story.maintain(at(0))
    for i in range(n):
        eid = story.entry(f"W-{i}")
        assert eid is not None
        lists_service.decide(
            engine, catalog, eid, approve_it=True, actor="reviewer:li", reason="unpaid", now=clock_at(1)
        )
    with engine.connect() as conn:
        return set(conn.scalars(select(notices.c.id)))


def test_every_notice_arrives_exactly_once_though_the_gateway_fails_its_first_attempts(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path
) -> None:
    ids = with_notices(engine, catalog, vault, tmp_path)
    assert len(ids) >= 3
    secret = new_secret()
    policy = RetryPolicy(max_attempts=5, base_seconds=60, max_seconds=3600)
    with Gateway(secret, fail_first=2) as gateway:
        channel = WebhookChannel(gateway.url, secret, timeout=10)
        first = deliver_at(at(2), engine, channel, policy)
        assert (first.delivered, first.failed) == (0, len(ids))
        # Backoff: a minute at most after the first failure (with jitter, at least half of it).
        assert deliver_at(at(2) + timedelta(seconds=29), engine, channel, policy).failed == 0
        second = deliver_at(at(2) + timedelta(seconds=61), engine, channel, policy)
        assert second.failed == len(ids)
        third = deliver_at(at(3), engine, channel, policy)
        assert third.delivered == len(ids)
        # Delivered: the sender stops. Later runs send nothing more.
        assert deliver_at(at(10), engine, channel, policy).as_dict() == {
            "delivered": 0,
            "failed": 0,
            "dead": 0,
            "channel_down": False,
        }
        channel.close()
    assert gateway.bad_signatures == 0
    assert notice_ids(gateway) == ids
    assert set(gateway.accepted_times.values()) == {1}, "each notice was accepted exactly once"
    assert gateway.requests_per_notice() == {webhook_id(i): 3 for i in ids}
    payload = next(iter(gateway.accepted.values()))
    assert payload["type"].startswith("notice.") and {"title", "body", "recipient"} <= payload["data"].keys()
    with engine.connect() as conn:
        assert all(conn.scalars(select(notices.c.delivered_at)))
        attempts = conn.execute(
            select(notice_attempts.c.notice_id, notice_attempts.c.attempt, notice_attempts.c.outcome).order_by(
                notice_attempts.c.notice_id, notice_attempts.c.attempt
            )
        ).all()
        assert delivery_counts(conn) == {"pending": 0, "delivered": len(ids), "dead": 0}
    assert [(a, o) for _, a, o in attempts] == [(1, "failed"), (2, "failed"), (3, "delivered")] * len(ids)


def test_a_notice_that_never_arrives_goes_dead_and_a_redirect_is_not_followed(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path
) -> None:
    ids = with_notices(engine, catalog, vault, tmp_path, n=1)
    secret = new_secret()
    policy = RetryPolicy(max_attempts=3, base_seconds=0, max_seconds=0)
    with Gateway(secret) as elsewhere, Gateway(secret, fail_first=99, redirect_to=elsewhere.url) as gateway:
        channel = WebhookChannel(gateway.url, secret, timeout=10)
        runs = [deliver_at(at(2 + i), engine, channel, policy) for i in range(5)]
        channel.close()
    assert [r.dead for r in runs] == [0, 0, len(ids), 0, 0]
    assert sum(gateway.requests_per_notice().values()) == 3 * len(ids), "no attempt after the last"
    assert elsewhere.answered == [], "the redirect was not followed"
    with engine.connect() as conn:
        assert delivery_counts(conn)["dead"] == len(ids)
        errors = set(conn.scalars(select(notice_deliveries.c.last_error)))
    assert errors == {"HTTP 307"}


def test_an_unreachable_gateway_stops_the_run_after_one_attempt(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path
) -> None:
    ids = with_notices(engine, catalog, vault, tmp_path)
    secret = new_secret()
    with Gateway(secret) as gone:
        url = gone.url
    channel = WebhookChannel(url, secret, timeout=5)  # nothing listens there any more
    run = deliver_at(at(2), engine, channel, RetryPolicy())
    channel.close()
    assert run.channel_down and run.failed == 1
    with engine.connect() as conn:
        tried = conn.execute(
            select(notice_deliveries.c.attempts, notice_deliveries.c.claimed_by, notice_deliveries.c.last_error)
        ).all()
    assert sorted(a for a, _, _ in tried) == [0] * (len(ids) - 1) + [1]
    assert all(c is None for _, c, _ in tried), "the others are released for the next run"
    assert {e for a, _, e in tried if a} == {"gateway unreachable: ConnectError"}


def test_two_runs_at_once_send_each_notice_once(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path
) -> None:
    ids = with_notices(engine, catalog, vault, tmp_path, n=6)
    secret = new_secret()
    barrier = threading.Barrier(2)
    with Gateway(secret) as gateway:

        def run() -> None:
            channel = WebhookChannel(gateway.url, secret, timeout=10)
            barrier.wait()
            deliver_at(at(2), engine, channel, RetryPolicy(), page=2)
            channel.close()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert gateway.requests_per_notice() == {webhook_id(i): 1 for i in ids}


def test_backoff_doubles_within_its_jitter_up_to_the_maximum() -> None:
    policy = RetryPolicy(max_attempts=10, base_seconds=30, max_seconds=600)
    for attempts in range(1, 10):
        full = min(30 * 2 ** (attempts - 1), 600)
        waits = {policy.wait(attempts).total_seconds() for _ in range(50)}
        assert all(full / 2 <= w <= full for w in waits)
        assert len(waits) > 1, "jittered"


def test_webhook_delivery_refuses_to_start_without_its_gateway_or_with_a_bad_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="XINYONG_NOTICE_WEBHOOK_URL"):
        channel_from(Settings(notice_delivery="webhook", data_dir=tmp_path))
    with pytest.raises(ConfigurationError, match="XINYONG_NOTICE_WEBHOOK_SECRET"):
        channel_from(Settings(notice_delivery="webhook", notice_webhook_url="http://127.0.0.1:9/n", data_dir=tmp_path))
    with pytest.raises(ConfigurationError, match="not a webhook secret"):
        channel_from(
            Settings(
                notice_delivery="webhook",
                notice_webhook_url="http://127.0.0.1:9/n",
                notice_webhook_secret="whsec_",  # noqa: S106 - an empty secret, refused
                data_dir=tmp_path,
            )
        )
    with pytest.raises(ValueError, match="notice_webhook_url"):
        Settings(notice_webhook_url="file:///etc/passwd", data_dir=tmp_path)


def test_the_deliver_command_sends_what_is_due_and_status_counts_pending_and_dead(
    engine: Engine,
    catalog: Catalog,
    vault: IdentifierVault,
    db_env: dict[str, str],
    tmp_path: Path,
) -> None:
    ids = with_notices(engine, catalog, vault, tmp_path, n=2)
    secret = new_secret()
    with Gateway(secret, fail_first=2) as gateway:
        env = {
            **db_env,
            "XINYONG_NOTICE_DELIVERY": "webhook",
            "XINYONG_NOTICE_WEBHOOK_URL": gateway.url,
            "XINYONG_NOTICE_WEBHOOK_SECRET": secret,
            "XINYONG_NOTICE_RETRY_BASE_SECONDS": "0",
            "XINYONG_NOTICE_MAX_ATTEMPTS": "3",
        }
        status = json.loads(ok(xy(env, "status", "--json", cwd=tmp_path)).stdout)
        assert status["due_process"]["notice_delivery"] == {"pending": len(ids), "delivered": 0, "dead": 0}
        runs = [json.loads(ok(xy(env, "notices", "deliver", "--json", cwd=tmp_path)).stdout) for _ in range(4)]
    assert [r["delivered"] for r in runs] == [0, 0, len(ids), 0]
    assert set(gateway.accepted_times.values()) == {1} and notice_ids(gateway) == ids
    status = json.loads(ok(xy(env, "status", "--json", cwd=tmp_path)).stdout)
    assert status["due_process"]["notice_delivery"] == {"pending": 0, "delivered": len(ids), "dead": 0}
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(notice_attempts)) == 3 * len(ids)


def test_dead_notices_are_listed_and_sent_again_on_request(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, db_env: dict[str, str], tmp_path: Path
) -> None:
    ids = with_notices(engine, catalog, vault, tmp_path, n=1)
    secret = new_secret()
    with Gateway(secret, fail_first=1, fail_status=503) as gateway:
        env = {
            **db_env,
            "XINYONG_NOTICE_DELIVERY": "webhook",
            "XINYONG_NOTICE_WEBHOOK_URL": gateway.url,
            "XINYONG_NOTICE_WEBHOOK_SECRET": secret,
            "XINYONG_NOTICE_MAX_ATTEMPTS": "1",
        }
        ok(xy(env, "notices", "deliver", cwd=tmp_path))
        dead = json.loads(ok(xy(env, "notices", "dead", "--json", cwd=tmp_path)).stdout)
        assert [(d["notice_id"], d["last_error"]) for d in dead] == [(i, "HTTP 503") for i in sorted(ids)]
        stranger = xy(env, "notices", "retry", "999999", cwd=tmp_path)
        assert stranger.returncode == 1 and "were not dead" in stranger.stderr
        assert json.loads(ok(xy(env, "notices", "retry", "--json", cwd=tmp_path)).stdout) == {"queued": len(ids)}
        assert json.loads(ok(xy(env, "notices", "deliver", "--json", cwd=tmp_path)).stdout)["delivered"] == len(ids)
    assert notice_ids(gateway) == ids
