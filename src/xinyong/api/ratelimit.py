"""Rate limits of the routes anyone may call: a moving window of one minute per client.

Counted in Redis when `XINYONG_REDIS_URL` is set, so that every process of a server and every
replica behind a proxy share one count per client; in the process otherwise. The client is the
connection's peer: `X-Forwarded-For` is believed only from a proxy `XINYONG_TRUSTED_PROXIES`
names (uvicorn's `ProxyHeadersMiddleware`, installed by the app factory, takes the nearest
address that is not a trusted proxy), so a client cannot pick a new identity per request.

The limit is taken before the caller's key is read, so a flood of made-up keys is limited too.
Should Redis stop answering, each process counts on its own until it answers again (a warning
says so, once a minute): the public routes stay limited, and stay up.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from xinyong.domain.errors import ConfigurationError
from xinyong.settings import Settings

log = logging.getLogger("xinyong.ratelimit")


def trusted_proxies(settings: Settings) -> list[str]:
    """The addresses and networks of `XINYONG_TRUSTED_PROXIES`, each checked."""
    found: list[str] = []
    for item in (p.strip() for p in settings.trusted_proxies.split(",")):
        if not item:
            continue
        try:
            found.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigurationError(
                f"XINYONG_TRUSTED_PROXIES: '{item}' is not an address or a network (e.g. 10.0.0.5 or 10.0.0.0/24)"
            ) from None
    return found


def namespace(settings: Settings) -> str:
    """The prefix of this store's counts in Redis: given, or derived from the store's URL."""
    if settings.rate_limit_namespace:
        return settings.rate_limit_namespace
    return hashlib.sha256(settings.url.encode()).hexdigest()[:16]


class RateLimit:
    """The limiter of one app, made in its event loop on first use (an asyncio Redis client
    belongs to the loop it was made in)."""

    def __init__(self, settings: Settings) -> None:
        self.item = RateLimitItemPerMinute(settings.public_rate_per_minute)
        self.redis_url = settings.redis_url
        self.prefix = f"xinyong:{namespace(settings)}"
        self._shared: MovingWindowRateLimiter | None = None
        self._local: MovingWindowRateLimiter | None = None
        self._warned = 0.0

    def _limiters(self) -> tuple[MovingWindowRateLimiter | None, MovingWindowRateLimiter]:
        if self._local is None:
            self._local = MovingWindowRateLimiter(MemoryStorage())
            if self.redis_url:
                url = self.redis_url if self.redis_url.startswith("async+") else f"async+{self.redis_url}"
                storage: Any = RedisStorage(url, implementation="redispy", key_prefix=self.prefix, wrap_exceptions=True)
                self._shared = MovingWindowRateLimiter(storage)
        return self._shared, self._local

    async def hit(self, client: str) -> int | None:
        """Count one request of `client`; None if it is within the limit, else the seconds to wait."""
        shared, local = self._limiters()
        limiter = local
        if shared is not None:
            try:
                if await shared.hit(self.item, "public", client):
                    return None
                limiter = shared
            except StorageError as exc:
                self._warn(exc)
        if limiter is local and await local.hit(self.item, "public", client):
            return None
        try:
            stats = await limiter.get_window_stats(self.item, "public", client)
            return max(1, math.ceil(stats.reset_time - time.time()))
        except StorageError:
            return 60

    def _warn(self, exc: StorageError) -> None:
        if time.monotonic() - self._warned > 60:
            self._warned = time.monotonic()
            log.warning(
                "Redis does not answer (%s): rate limits are counted per process", type(exc.storage_error).__name__
            )


async def rate_limited(request: Request) -> None:
    """The dependency of every route anyone may call: 429 with Retry-After past the limit."""
    limit: RateLimit = request.app.state.rate_limit
    client = request.client.host if request.client else "unknown"
    wait = await limit.hit(client)
    if wait is not None:
        n = limit.item.amount
        raise HTTPException(
            429, f"at most {n} requests a minute to these routes; retry in {wait} s", {"Retry-After": str(wait)}
        )


# The first parameter of a limited route: taken before the caller's key is read.
RateLimited = Annotated[None, Depends(rate_limited)]
