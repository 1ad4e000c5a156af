"""The real Redis server for tests, and how each test keeps to keys of its own.

Tests never flush a database: several runs (and a developer's own data) may share the server.
Each test takes a fresh key prefix or fresh client addresses, and deletes what it made."""

from __future__ import annotations

import os
import uuid

import pytest
from redis.asyncio import Redis

REDIS_URL_VARIABLE = "PORTCULLIS_TEST_REDIS_URL"


def redis_url_or_skip() -> str:
    url = os.environ.get(REDIS_URL_VARIABLE)
    if url:
        return url
    message = f"{REDIS_URL_VARIABLE} is not set: Redis tests need a server"
    if os.environ.get("CI"):
        pytest.fail(message + " (in CI it must be)")
    pytest.skip(message)


async def reachable_redis_url() -> str:
    """The test server's URL, once it has answered a PING: the rate limiter lets requests
    through when Redis is down, so a test against a dead server could pass for the wrong
    reason."""
    url = redis_url_or_skip()
    client = Redis.from_url(url)
    try:
        await client.ping()
    except Exception as error:
        pytest.fail(f"{REDIS_URL_VARIABLE} is set, but Redis does not answer: {error!r}")
    finally:
        await client.aclose()
    return url


def unique_prefix() -> str:
    return f"portcullis:ratelimit:test-{uuid.uuid4().hex}:"


async def delete_keys(url: str, pattern: str) -> None:
    client = Redis.from_url(url)
    try:
        async for key in client.scan_iter(match=pattern, count=500):
            await client.delete(key)
    finally:
        await client.aclose()
