"""Notices reach people: the outbox is delivered to a channel, with retries, backoff and a dead letter.

A run (`deliver_due`) claims the notices due for an attempt, hands each to the channel once,
and stores how it ended (`store.deliveries`): delivered; failed and due again after a wait that
doubles with each attempt (with random jitter, so that notices failed together are not retried
together); or, after the last attempt, dead, shown by `xinyong status` and the metrics until an
operator sends them again (`xinyong notices retry`). A channel that cannot be reached at all
stops the run after one attempt: the other notices keep their turn for the next run rather than
each paying a time-out.

The one real channel is `webhook`: a POST to the department's notification gateway, signed in
the Standard Webhooks form (`webhook-id`, `webhook-timestamp`, `webhook-signature`), whose
`webhook-id` is the notice's own, so a notice sent twice (a run that died after sending and
before storing that it had) is recognised by the receiver as the same one.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine

from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import ConfigurationError
from xinyong.services.channels import delivery_from
from xinyong.settings import Settings
from xinyong.store.deliveries import DEAD, DELIVERED, Attempt, claim_due, record_attempt, release

log = logging.getLogger("xinyong.delivery")

VERSION = "0.1.0"


class ChannelDown(Exception):
    """The channel could not be reached at all (refused, timed out): the run stops."""

    def __init__(self, attempt: Attempt) -> None:
        super().__init__(attempt.error)
        self.attempt = attempt


class Channel(Protocol):
    name: str
    timeout_seconds: float  # the longest one attempt takes: claims last long enough for a page of them

    def send(self, notice: Mapping[str, Any]) -> Attempt: ...

    def close(self) -> None: ...


class CallableChannel:
    """`log` (the notice is stored; the log says so) or a `module:callable` of the operator's."""

    timeout_seconds = 10.0

    def __init__(self, name: str) -> None:
        self.name, self._deliver = delivery_from(name)

    def send(self, notice: Mapping[str, Any]) -> Attempt:
        started = time.perf_counter()
        try:
            self._deliver(notice)
        except Exception as exc:  # noqa: BLE001 - the operator's channel may raise anything; it is a failed attempt
            return Attempt(False, error=f"{type(exc).__name__}: {exc}", duration_ms=_ms(started))
        return Attempt(True, duration_ms=_ms(started))

    def close(self) -> None:
        pass


def webhook_payload(notice: Mapping[str, Any]) -> bytes:
    """The body of a notice's webhook: `type`, `timestamp` and `data`, as Standard Webhooks shapes it."""
    respond_by = notice.get("respond_by")
    data = {
        "id": notice["id"],
        "recipient": notice["recipient"],
        "subject_id": notice["subject_id"],
        "kind": notice["kind"],
        "event_ref": notice["event_ref"],
        "created_at": notice["created_at"].isoformat(),
        "title": notice["title"],
        "body": notice["body"],
        "respond_by": respond_by.isoformat() if respond_by else None,
    }
    body = {"type": f"notice.{notice['kind']}", "timestamp": notice["created_at"].isoformat(), "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_id(notice_id: int) -> str:
    """The idempotency key of a notice's deliveries: the same for every attempt."""
    return f"notice_{notice_id}"


class WebhookChannel:
    """Signed POSTs to a notification gateway. Any 2xx is delivered; any other status, a
    redirect included, is a failed attempt; no answer at all means the gateway is down."""

    name = "webhook"

    def __init__(self, url: str, secret: str, timeout: float) -> None:
        import httpx
        from standardwebhooks.webhooks import Webhook

        try:
            self._signer = Webhook(secret)
        except Exception as exc:  # noqa: BLE001 - the library raises several kinds for a bad secret
            raise ConfigurationError(
                f"XINYONG_NOTICE_WEBHOOK_SECRET is not a webhook secret (whsec_ and base64): {type(exc).__name__}"
            ) from None
        self.url, self.timeout_seconds = url, timeout
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, headers={"user-agent": f"xinyong/{VERSION}"}
        )

    def send(self, notice: Mapping[str, Any]) -> Attempt:
        import httpx

        body = webhook_payload(notice)
        msg_id = webhook_id(int(notice["id"]))
        at = datetime.now(UTC)  # the receiver checks the signed moment against its own clock
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": self._signer.sign(msg_id, at, body),
        }
        started = time.perf_counter()
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise ChannelDown(
                Attempt(False, error=f"gateway unreachable: {type(exc).__name__}", duration_ms=_ms(started))
            ) from None
        if 200 <= response.status_code < 300:
            return Attempt(True, status_code=response.status_code, duration_ms=_ms(started))
        return Attempt(
            False, status_code=response.status_code, error=f"HTTP {response.status_code}", duration_ms=_ms(started)
        )

    def close(self) -> None:
        self._client.close()


def channel_from(settings: Settings) -> Channel:
    """The channel the settings name (`XINYONG_NOTICE_DELIVERY`), checked now rather than at the first notice."""
    if settings.notice_delivery != "webhook":
        return CallableChannel(settings.notice_delivery)
    if not settings.notice_webhook_url:
        raise ConfigurationError("XINYONG_NOTICE_DELIVERY is 'webhook': set XINYONG_NOTICE_WEBHOOK_URL to the gateway")
    if settings.notice_webhook_secret is None:
        raise ConfigurationError(
            "XINYONG_NOTICE_DELIVERY is 'webhook': set XINYONG_NOTICE_WEBHOOK_SECRET (whsec_ and base64) to sign with"
        )
    return WebhookChannel(
        settings.notice_webhook_url,
        settings.notice_webhook_secret.get_secret_value(),
        settings.notice_webhook_timeout_seconds,
    )


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 30.0
    max_seconds: float = 21_600.0

    @classmethod
    def of(cls, settings: Settings) -> RetryPolicy:
        return cls(settings.notice_max_attempts, settings.notice_retry_base_seconds, settings.notice_retry_max_seconds)

    def wait(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt: base x 2^(attempts-1), at most the
        maximum, then somewhere in its upper half (jitter)."""
        full = min(self.base_seconds * 2 ** min(attempts - 1, 40), self.max_seconds)
        return timedelta(seconds=full * (0.5 + secrets.SystemRandom().random() / 2))


@dataclass
class DeliveryRun:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    channel_down: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "failed": self.failed,
            "dead": self.dead,
            "channel_down": self.channel_down,
        }


def _holder() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def deliver_due(
    engine: Engine,
    channel: Channel,
    policy: RetryPolicy | None = None,
    *,
    page: int = 20,
    most: int = 10_000,
) -> DeliveryRun:
    """Attempt every notice due now once, at most `most` of them. Delivery runs on the platform's
    clock alone: what is due, how long a claim holds, and when an attempt was made."""
    policy = policy or RetryPolicy()
    started = CLOCK.now()
    holder = _holder()
    lease = timedelta(seconds=60 + page * channel.timeout_seconds)
    run = DeliveryRun()
    while run.delivered + run.failed + run.dead < most:
        claimed = claim_due(engine, channel=channel.name, holder=holder, run_started=started, lease=lease, limit=page)
        if not claimed:
            break
        for i, notice in enumerate(claimed):
            try:
                attempt = channel.send(notice)
            except ChannelDown as down:
                attempt, run.channel_down = down.attempt, True
            state = record_attempt(
                engine,
                int(notice["id"]),
                channel=channel.name,
                holder=holder,
                attempt=attempt,
                max_attempts=policy.max_attempts,
                retry_after=policy.wait(int(notice["attempts"]) + 1),
            )
            if state == DELIVERED:
                run.delivered += 1
            elif state == DEAD:
                run.dead += 1
                log.warning("notice %s is dead after %s attempts: %s", notice["id"], policy.max_attempts, attempt.error)
            else:
                run.failed += 1
            if run.channel_down:
                release(engine, [int(n["id"]) for n in claimed[i + 1 :]], holder)
                return run
    return run


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
