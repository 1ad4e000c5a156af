"""The RateLimiter port's contract, run against both adapters (memory, and Redis on the real
server), then what only one adapter has: the memory one's bounded size, the Redis one's expiry
and its behaviour while Redis is down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from adapters.rate_limit.memory import MemoryRateLimiter
from adapters.rate_limit.redis import KEY_PREFIX, RedisRateLimiter
from application.ports.rate_limit import RateLimitDecision, RateLimiter
from tests.redis_server import delete_keys, reachable_redis_url, unique_prefix

MakeLimiter = Callable[[int], RateLimiter]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make_limiter(request: pytest.FixtureRequest) -> AsyncIterator[MakeLimiter]:
    """Builds limiters of one adapter. Redis ones share this test's own key prefix (like
    replicas of one deployment), so a test uses keys of its own for each limit it tries."""
    if request.param == "memory":
        yield lambda per_minute: MemoryRateLimiter(per_minute)
        return
    url = await reachable_redis_url()
    prefix = unique_prefix()
    made: list[RedisRateLimiter] = []

    def make(per_minute: int) -> RateLimiter:
        limiter = RedisRateLimiter(url, per_minute, key_prefix=prefix)
        made.append(limiter)
        return limiter

    try:
        yield make
    finally:
        for limiter in made:
            await limiter.aclose()
        await delete_keys(url, prefix + "*")


async def hits(limiter: RateLimiter, key: str, count: int) -> list[RateLimitDecision]:
    return list(await asyncio.gather(*(limiter.hit(key) for _ in range(count))))


# The contract: every adapter passes these.


async def test_a_bucket_allows_its_capacity_then_refuses_with_a_retry_after(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter(3)
    decisions = [await limiter.hit("login:203.0.113.7") for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.retry_after_seconds for d in decisions[:3]] == [0, 0, 0]
    # 3 a minute is one token every 20 seconds.
    for refused in decisions[3:]:
        assert 1 <= refused.retry_after_seconds <= 20


async def test_retry_after_is_the_wait_for_the_next_token(make_limiter: MakeLimiter) -> None:
    one_a_minute = make_limiter(1)
    assert (await one_a_minute.hit("slow")).allowed
    assert (await one_a_minute.hit("slow")).retry_after_seconds in (59, 60)
    one_a_second = make_limiter(60)
    await hits(one_a_second, "fast", 60)
    assert await one_a_second.hit("fast") == RateLimitDecision(False, 1)


async def test_tokens_come_back_continuously_over_time(make_limiter: MakeLimiter) -> None:
    """Judged against the time that really passed, so a slow machine (hits that take long,
    a sleep that overshoots) changes how many tokens come back but not the verdict."""
    limiter = make_limiter(120)  # two tokens a second
    started = time.monotonic()
    assert all(d.allowed for d in await hits(limiter, "k", 120))
    while (await limiter.hit("k")).allowed:  # whatever refilled while the hits ran
        assert time.monotonic() - started < 30
    emptied = time.monotonic()
    await asyncio.sleep(0.6)

    allowed = 0
    while (await limiter.hit("k")).allowed:
        allowed += 1
    elapsed = time.monotonic() - emptied
    # At least one token came back after 0.6 s, and no more than the time allows: the bucket
    # refills at its rate, not all at once.
    assert 1 <= allowed <= 2 * elapsed + 1


async def test_keys_have_independent_buckets(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(2)
    await hits(limiter, "login:203.0.113.7", 2)
    assert not (await limiter.hit("login:203.0.113.7")).allowed
    assert (await limiter.hit("login:198.51.100.9")).allowed
    assert (await limiter.hit("signup:203.0.113.7")).allowed


async def test_concurrent_hits_never_get_more_than_the_capacity(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter(10)
    decisions = await hits(limiter, "flood", 200)
    assert sum(d.allowed for d in decisions) == 10
    assert all(d.retry_after_seconds >= 1 for d in decisions if not d.allowed)


# The memory adapter, on a clock the test turns.


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_refill_is_exact_to_the_fraction_of_a_token() -> None:
    clock = FakeMonotonic()
    limiter = MemoryRateLimiter(60, clock)
    await hits(limiter, "k", 60)
    clock.now += 0.5
    assert await limiter.hit("k") == RateLimitDecision(False, 1)
    clock.now += 0.5
    assert (await limiter.hit("k")).allowed
    clock.now += 3600  # never more than the capacity, however long the wait
    assert sum(d.allowed for d in await hits(limiter, "k", 100)) == 60


async def test_memory_forgets_buckets_that_refilled_while_idle() -> None:
    clock = FakeMonotonic()
    limiter = MemoryRateLimiter(60, clock)
    for n in range(1000):
        await limiter.hit(f"login:10.0.{n // 256}.{n % 256}")
    assert len(limiter) == 1000
    clock.now += 60  # every one of them is full again: the same as no bucket at all
    await limiter.hit("login:203.0.113.7")
    assert len(limiter) == 1


async def test_memory_keeps_a_bucket_that_is_still_refilling() -> None:
    clock = FakeMonotonic()
    limiter = MemoryRateLimiter(60, clock)
    await hits(limiter, "drained", 60)
    clock.now += 30
    await limiter.hit("someone-else")  # eviction runs here; "drained" has 30 tokens, not 60
    assert sum(d.allowed for d in await hits(limiter, "drained", 60)) == 30


async def test_memory_stays_bounded_under_a_flood_of_distinct_clients() -> None:
    limiter = MemoryRateLimiter(60, FakeMonotonic(), max_buckets=100)
    for n in range(5000):
        await limiter.hit(f"login:{n}")
    assert len(limiter) == 100
    # The most recent clients are the ones kept.
    await hits(limiter, "login:4999", 59)
    assert not (await limiter.hit("login:4999")).allowed


# The Redis adapter: where the state lives, how it goes away, and Redis going away.


@pytest.fixture
async def redis_url() -> str:
    return await reachable_redis_url()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.mark.redis
async def test_redis_keeps_a_bucket_in_a_namespaced_hash_that_expires_when_full(
    redis_url: str, redis_client: Redis
) -> None:
    prefix = unique_prefix()
    assert prefix.startswith(KEY_PREFIX)
    limiter = RedisRateLimiter(redis_url, 600, key_prefix=prefix)  # ten tokens a second
    try:
        await limiter.hit("login:203.0.113.7")
        key = prefix + "login:203.0.113.7"
        assert set(await redis_client.hgetall(key)) == {"tokens", "at"}
        # One token spent, back in 0.1 s: the bucket is full then, and the key goes.
        assert 0 < await redis_client.pttl(key) <= 100
        await asyncio.sleep(0.3)
        assert await redis_client.exists(key) == 0
        assert (await limiter.hit("login:203.0.113.7")).allowed
    finally:
        await limiter.aclose()
        await delete_keys(redis_url, prefix + "*")


@pytest.mark.redis
async def test_a_drained_redis_bucket_lives_no_longer_than_its_refill(
    redis_url: str, redis_client: Redis
) -> None:
    prefix = unique_prefix()
    limiter = RedisRateLimiter(redis_url, 60, key_prefix=prefix)
    try:
        await hits(limiter, "k", 61)
        assert 59_000 < await redis_client.pttl(prefix + "k") <= 60_000
    finally:
        await limiter.aclose()
        await delete_keys(redis_url, prefix + "*")


@pytest.mark.redis
async def test_two_replicas_hitting_at_once_share_one_bucket(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Two tokens a minute: the next one comes 30 s after the first hit, far longer than the
    test runs, so exactly the bucket's two get through, where unshared buckets would let four.
    Each hit waits its turn for one of the pool's connections; a generous timeout keeps a slow,
    loaded machine from counting as Redis being down, which would let hits through unlimited."""
    prefix = unique_prefix()
    first = RedisRateLimiter(redis_url, 2, key_prefix=prefix, timeout_seconds=10)
    second = RedisRateLimiter(redis_url, 2, key_prefix=prefix, timeout_seconds=10)
    try:
        with caplog.at_level(logging.WARNING, logger="adapters.rate_limit.redis"):
            batches = await asyncio.gather(hits(first, "shared", 100), hits(second, "shared", 100))
    finally:
        await first.aclose()
        await second.aclose()
        await delete_keys(redis_url, prefix + "*")
    assert "rate_limiter_unavailable" not in caplog.messages
    assert sum(d.allowed for batch in batches for d in batch) == 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_with_redis_unreachable_requests_go_through_and_one_warning_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Fail open: the per-IP limit is a second line of defence, and logins must not go down
    with Redis (the per-account throttle, in the database, still holds)."""
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{free_port()}/0", 1, timeout_seconds=0.2)
    try:
        with caplog.at_level(logging.INFO, logger="adapters.rate_limit.redis"):
            assert all(d.allowed for d in await hits(limiter, "login:203.0.113.7", 5))
    finally:
        await limiter.aclose()
    warnings = [r for r in caplog.records if r.getMessage() == "rate_limiter_unavailable"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


async def test_with_redis_unreachable_the_fallback_limits_per_process() -> None:
    limiter = RedisRateLimiter(
        f"redis://127.0.0.1:{free_port()}/0",
        2,
        fallback=MemoryRateLimiter(2),
        timeout_seconds=0.2,
    )
    try:
        decisions = [await limiter.hit("login:203.0.113.7") for _ in range(3)]
    finally:
        await limiter.aclose()
    assert [d.allowed for d in decisions] == [True, True, False]


async def test_closing_the_redis_limiter_closes_its_fallback() -> None:
    closed: list[str] = []

    class Fallback(MemoryRateLimiter):
        async def aclose(self) -> None:
            closed.append("fallback")

    limiter = RedisRateLimiter(f"redis://127.0.0.1:{free_port()}/0", 1, fallback=Fallback(1))
    await limiter.aclose()
    assert closed == ["fallback"]


class CuttableProxy:
    """A TCP relay to Redis that the test can cut and restore, like a network partition."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.mark.redis
async def test_after_an_outage_the_limiter_goes_back_to_redis_and_its_buckets(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = urlsplit(redis_url)
    proxy = CuttableProxy((server.hostname or "127.0.0.1", server.port or 6379))
    await proxy.start()
    prefix = unique_prefix()
    clock = FakeMonotonic()
    limiter = RedisRateLimiter(
        f"redis://127.0.0.1:{proxy.port}{server.path}",
        3,
        fallback=MemoryRateLimiter(3),
        key_prefix=prefix,
        timeout_seconds=0.5,
        retry_interval_seconds=5,
        clock=clock,
    )
    key = "login:203.0.113.7"
    try:
        with caplog.at_level(logging.INFO, logger="adapters.rate_limit.redis"):
            assert (await limiter.hit(key)).allowed  # Redis: 2 tokens left
            await proxy.cut()
            assert (await limiter.hit(key)).allowed  # the fallback's own bucket
            await proxy.start()
            clock.now += 1  # still inside the retry interval: Redis is not asked yet
            assert (await limiter.hit(key)).allowed
            assert "rate_limiter_available" not in caplog.messages
            clock.now += 5
            assert (await limiter.hit(key)).allowed  # Redis again: 1 token left
            assert "rate_limiter_available" in caplog.messages
            assert (await limiter.hit(key)).allowed  # Redis: 0 left
            assert not (await limiter.hit(key)).allowed
        assert caplog.messages.count("rate_limiter_unavailable") == 1
    finally:
        await limiter.aclose()
        await proxy.cut()
        await delete_keys(redis_url, prefix + "*")
