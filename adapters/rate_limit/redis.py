"""Token buckets in Redis, shared by every replica that points at the same server.

One Lua script reads, refills, spends and writes a bucket atomically, so concurrent hits from
any number of processes never let more through than the bucket holds. The time comes from
Redis (`TIME`), not from the replicas, so replicas whose clocks disagree still agree on every
bucket. A bucket is a hash `{tokens, at}` under `portcullis:ratelimit:<key>` that expires when
it would be full again: an idle client costs nothing. Needs Redis 5 or newer (scripts that write
after reading `TIME`).

When Redis cannot be reached, logins must not go down with it: the per-IP limit is a second
line of defence (the per-account throttle lives in the database). So the limiter degrades to
`fallback` (in production a per-process `MemoryRateLimiter`: each replica still limits on its
own) or, without one, lets the request through. It logs one warning when Redis goes away and
one line when it is back, and between the two asks Redis again only every
`retry_interval_seconds`, so an outage adds no latency and no log flood per request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from application.ports.rate_limit import ALLOWED, RateLimitDecision, RateLimiter

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

log = logging.getLogger(__name__)

KEY_PREFIX = "portcullis:ratelimit:"

# KEYS[1]: the bucket. ARGV[1]: its capacity, which is also the tokens it regains per minute.
# Time in whole milliseconds since the epoch: exact in Lua's doubles and in tostring().
BUCKET_SCRIPT = """
local capacity = tonumber(ARGV[1])
local per_ms = capacity / 60000
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local tokens = capacity
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
if state[1] and state[2] then
  local elapsed = math.max(0, now - tonumber(state[2]))
  tokens = math.min(capacity, tonumber(state[1]) + elapsed * per_ms)
end
local allowed = 0
local retry_after = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry_after = math.max(1, math.ceil((1 - tokens) / per_ms / 1000))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((capacity - tokens) / per_ms)))
return {allowed, retry_after}
"""


class RedisRateLimiter:
    def __init__(
        self,
        redis_url: str,
        per_minute: int,
        *,
        fallback: RateLimiter | None = None,
        key_prefix: str = KEY_PREFIX,
        timeout_seconds: float = 0.5,
        max_connections: int = 20,
        retry_interval_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Imported here, not at the top: the redis client is one of the slowest imports of a
        # worker's start, and only a service configured for Redis uses it.
        from redis.asyncio import BlockingConnectionPool, Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import RedisError

        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self._unavailable_errors: tuple[type[Exception], ...] = (RedisError, OSError)
        self._per_minute = per_minute
        self._fallback = fallback
        self._key_prefix = key_prefix
        self._retry_interval = retry_interval_seconds
        self._clock = clock
        self._unavailable_until: float | None = None
        # A bounded pool whose callers wait their turn: a burst of requests queues for a
        # connection (each script takes well under a millisecond) instead of failing with
        # "too many connections". Fail fast otherwise: one immediate retry (for a pooled
        # connection that Redis closed), then give up.
        pool = BlockingConnectionPool.from_url(
            redis_url,
            max_connections=max_connections,
            timeout=timeout_seconds,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 1),
        )
        self._redis: Redis = Redis.from_pool(pool)
        self._script: AsyncScript = self._redis.register_script(BUCKET_SCRIPT)

    def __repr__(self) -> str:
        # Never the URL: it may hold a password.
        return f"RedisRateLimiter(per_minute={self._per_minute}, key_prefix={self._key_prefix!r})"

    async def hit(self, key: str) -> RateLimitDecision:
        if self._unavailable_until is not None and self._clock() < self._unavailable_until:
            return await self._degraded(key)
        try:
            allowed, retry_after = await self._script(
                keys=[self._key_prefix + key], args=[self._per_minute]
            )
        except self._unavailable_errors as error:
            if self._unavailable_until is None:
                log.warning(
                    "rate_limiter_unavailable",
                    extra={
                        "error": type(error).__name__,
                        "limiting": "per process" if self._fallback is not None else "nothing",
                    },
                )
            self._unavailable_until = self._clock() + self._retry_interval
            return await self._degraded(key)
        if self._unavailable_until is not None:
            self._unavailable_until = None
            log.info("rate_limiter_available")
        if allowed:
            return ALLOWED
        return RateLimitDecision(allowed=False, retry_after_seconds=max(1, int(retry_after)))

    async def _degraded(self, key: str) -> RateLimitDecision:
        if self._fallback is None:
            return ALLOWED
        return await self._fallback.hit(key)

    async def aclose(self) -> None:
        """Closes the fallback too: it is this limiter's own, and nothing else closes it."""
        try:
            await self._redis.aclose()
        finally:
            if self._fallback is not None:
                await self._fallback.aclose()
