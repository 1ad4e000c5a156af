"""The per-client-IP throttle over HTTP: each throttled endpoint has a bucket per client, a
throttled client gets 429 `too_many_requests` with Retry-After, and no one else is affected."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from dependency_injector import providers
from fastapi import FastAPI

from adapters.rate_limit.redis import KEY_PREFIX
from application.ports.metrics import LoginOutcome
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.dependencies import rate_limit_subject
from tests.e2e.conftest import PASSWORD, settings_for
from tests.fakes import RecordingSecurityMetrics
from tests.redis_server import delete_keys, reachable_redis_url

PER_MINUTE = 3
LOGIN = "/api/v1/auth/login"
TOKEN = "/api/v1/auth/token"
SIGNUP = "/api/v1/auth/signup"
WRONG_LOGIN = {"email": "nobody@example.com", "password": "not the password"}

# Each throttled endpoint, with a request it answers without a 429 (what it answers does not
# matter here: every request spends a token, a refused or invalid one too).
THROTTLED: dict[str, dict[str, Any]] = {
    "/api/v1/auth/login": {"json": WRONG_LOGIN},
    "/api/v1/auth/token": {"data": {"username": "nobody@example.com", "password": "wrong one"}},
    "/api/v1/auth/signup": {"json": {"email": "ada@example.com", "password": "short"}},
    "/api/v1/auth/refresh": {"json": {"refresh_token": "not-a-refresh-token"}},
    "/api/v1/auth/password/forgot": {"json": {"email": "nobody@example.com"}},
    "/api/v1/auth/password/reset": {"json": {"token": "forged", "new_password": PASSWORD}},
    "/api/v1/auth/verify-email": {"json": {"token": "forged"}},
    "/reset-password": {"data": {"token": "forged", "new_password": PASSWORD}},
    "/verify-email": {"data": {"token": "forged"}},
    "/api/v1/auth/passkey/options": {"json": {}},
    "/api/v1/auth/passkey/login": {
        "json": {"challenge_id": "00000000-0000-4000-8000-000000000000", "credential": {}}
    },
}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limit_per_minute": PER_MINUTE}


@asynccontextmanager
async def client_from(app: FastAPI, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(ip, 51000))
    async with httpx.AsyncClient(transport=transport, base_url="http://portcullis.test") as client:
        yield client


async def exhaust(client: httpx.AsyncClient, path: str = LOGIN) -> None:
    for _ in range(PER_MINUTE):
        response = await client.post(path, **THROTTLED[path])
        assert response.status_code != 429, response.text


def assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "too_many_requests"
    # 3 a minute is a token every 20 seconds.
    assert 1 <= int(response.headers["retry-after"]) <= 60 // PER_MINUTE


async def test_the_fourth_login_in_a_minute_from_one_ip_gets_429_with_retry_after(
    client: httpx.AsyncClient,
) -> None:
    statuses = [(await client.post(LOGIN, json=WRONG_LOGIN)).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    assert_throttled(await client.post(LOGIN, json=WRONG_LOGIN))
    # The right password does not get through either: the request is refused before it is read.
    assert_throttled(
        await client.post(LOGIN, json={"email": "ada@example.com", "password": PASSWORD})
    )


@pytest.mark.parametrize("path", THROTTLED)
async def test_every_throttled_endpoint_refuses_the_request_past_the_limit(
    client: httpx.AsyncClient, path: str
) -> None:
    await exhaust(client, path)
    assert_throttled(await client.post(path, **THROTTLED[path]))


async def test_another_client_ip_is_not_affected(app: FastAPI, client: httpx.AsyncClient) -> None:
    await exhaust(client)
    assert_throttled(await client.post(LOGIN, json=WRONG_LOGIN))
    async with client_from(app, "198.51.100.9") as other:
        assert (await other.post(LOGIN, json=WRONG_LOGIN)).status_code == 401


async def test_each_endpoint_has_its_own_bucket(client: httpx.AsyncClient) -> None:
    await exhaust(client, LOGIN)
    assert_throttled(await client.post(LOGIN, json=WRONG_LOGIN))
    for path, request in THROTTLED.items():
        if path != LOGIN:
            response = await client.post(path, **request)
            assert response.status_code != 429, path


async def test_endpoints_outside_the_list_are_not_throttled(client: httpx.AsyncClient) -> None:
    for _ in range(PER_MINUTE + 2):
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/.well-known/jwks.json")).status_code == 200


async def test_a_forwarded_for_header_from_an_untrusted_peer_is_no_way_around(
    client: httpx.AsyncClient,
) -> None:
    """Only uvicorn rewrites the peer from X-Forwarded-For, and only for the trusted proxies;
    the app counts the peer it is given."""
    for n in range(PER_MINUTE):
        spoofed = {"X-Forwarded-For": f"192.0.2.{n}"}
        assert (await client.post(LOGIN, json=WRONG_LOGIN, headers=spoofed)).status_code == 401
    assert_throttled(
        await client.post(LOGIN, json=WRONG_LOGIN, headers={"X-Forwarded-For": "192.0.2.99"})
    )


async def test_an_ipv6_client_is_counted_by_its_slash_64(app: FastAPI) -> None:
    """One IPv6 host can use any address of its /64; counting each address would let it
    walk around the limit."""
    for n in range(PER_MINUTE):
        async with client_from(app, f"2001:db8:1:2::{n + 1:x}") as hopping:
            assert (await hopping.post(LOGIN, json=WRONG_LOGIN)).status_code == 401
    async with client_from(app, "2001:db8:1:2:ffff::1") as hopping:
        assert_throttled(await hopping.post(LOGIN, json=WRONG_LOGIN))
    async with client_from(app, "2001:db8:1:3::1") as neighbour:
        assert (await neighbour.post(LOGIN, json=WRONG_LOGIN)).status_code == 401


async def test_logins_refused_by_the_per_ip_limit_count_as_throttled_logins(
    client: httpx.AsyncClient,
) -> None:
    for path in (LOGIN, TOKEN, SIGNUP):
        await exhaust(client, path)
        assert_throttled(await client.post(path, **THROTTLED[path]))

    metrics = (await client.get("/metrics")).text
    assert 'portcullis_logins_total{outcome="throttled"} 2.0' in metrics  # login and token


async def test_a_refusal_by_the_per_ip_limit_is_counted_once_through_the_security_metrics(
    database_url: str,
) -> None:
    container = build_container(settings_for(database_url, rate_limit_per_minute=PER_MINUTE))
    recorded = RecordingSecurityMetrics()
    with container.security_metrics.override(providers.Object(recorded)):
        app = create_app(container)
        async with LifespanManager(app), client_from(app, "198.51.100.20") as client:
            await exhaust(client)
            assert_throttled(await client.post(LOGIN, json=WRONG_LOGIN))

    assert recorded.logins == [LoginOutcome.INVALID_CREDENTIALS] * PER_MINUTE + [
        LoginOutcome.THROTTLED
    ]


async def test_openapi_documents_429_on_every_throttled_route(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in THROTTLED:
        responses = paths[path]["post"]["responses"]
        assert "429" in responses, path
        assert "application/problem+json" in responses["429"]["content"]


class TestWithTheLimitOff:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"rate_limit_per_minute": 0}

    async def test_zero_per_minute_means_no_per_ip_limit(self, client: httpx.AsyncClient) -> None:
        # Distinct emails: the per-account throttle (a different limit) stays out of the way.
        for n in range(30):
            wrong = {"email": f"nobody{n}@example.com", "password": "not the password"}
            assert (await client.post(LOGIN, json=wrong)).status_code == 401


# The Redis backend: replicas share the buckets, and an unreachable Redis costs no logins.


def random_ipv6_client() -> str:
    """A client /64 of this test's own (documentation range), so runs sharing the Redis server
    never share a bucket."""
    return f"2001:db8:{random.getrandbits(16):x}:{random.getrandbits(16):x}::1"


@asynccontextmanager
async def replicas(
    count: int, database_url: str, ip: str, **overrides: Any
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """`count` apps (as separate processes would be) on one database, each with a client
    calling it from `ip`."""
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(count):
            app = create_app(build_container(settings_for(database_url, **overrides)))
            await stack.enter_async_context(LifespanManager(app))
            clients.append(await stack.enter_async_context(client_from(app, ip)))
        yield clients


@pytest.mark.redis
async def test_two_replicas_on_the_redis_backend_share_the_limit(database_url: str) -> None:
    redis_url = await reachable_redis_url()
    overrides = {
        "rate_limit_per_minute": PER_MINUTE,
        "rate_limit_backend": "redis",
        "redis_url": redis_url,
    }
    ip = random_ipv6_client()
    try:
        async with replicas(2, database_url, ip, **overrides) as (one, two):
            assert (await one.post(LOGIN, json=WRONG_LOGIN)).status_code == 401
            assert (await two.post(LOGIN, json=WRONG_LOGIN)).status_code == 401
            assert (await one.post(LOGIN, json=WRONG_LOGIN)).status_code == 401
            assert_throttled(await two.post(LOGIN, json=WRONG_LOGIN))
            assert_throttled(await one.post(LOGIN, json=WRONG_LOGIN))
    finally:
        await delete_keys(redis_url, f"{KEY_PREFIX}*:{rate_limit_subject(ip)}")


async def test_with_redis_unreachable_logins_still_work(database_url: str) -> None:
    overrides = {
        "rate_limit_per_minute": PER_MINUTE,
        "rate_limit_backend": "redis",
        "redis_url": "redis://127.0.0.1:1/0",  # nothing listens on port 1
    }
    async with replicas(1, database_url, "203.0.113.7", **overrides) as (client,):
        signup = await client.post(
            "/api/v1/auth/signup", json={"email": "ada@example.com", "password": PASSWORD}
        )
        assert signup.status_code == 201
        right = {"email": "ada@example.com", "password": PASSWORD}
        assert (await client.post(LOGIN, json=right)).status_code == 200
        # Each process still limits on its own meanwhile.
        await client.post(LOGIN, json=right)
        await client.post(LOGIN, json=right)
        assert_throttled(await client.post(LOGIN, json=right))
