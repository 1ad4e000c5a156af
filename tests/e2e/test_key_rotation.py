"""Two replicas on one database: a key rotation reaches both without a restart."""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack

import httpx
import jwt
from asgi_lifespan import LifespanManager

from application.use_cases.rotate_signing_key import RotateSigningKeyCommand
from entrypoints.container import Container, build_container
from entrypoints.http.app import create_app
from tests.e2e.conftest import PASSWORD, bearer, settings_for

REPLICA_PICKUP_SECONDS = 10  # contract §4


async def _replicas(
    database_url: str, stack: AsyncExitStack
) -> list[tuple[Container, httpx.AsyncClient]]:
    replicas = []
    for name in ("a", "b"):
        container = build_container(settings_for(database_url))
        app = create_app(container)
        await stack.enter_async_context(LifespanManager(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
        )
        replicas.append((container, client))
    return replicas


async def _kid_of_a_new_login(client: httpx.AsyncClient) -> str:
    response = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    return str(jwt.get_unverified_header(response.json()["access_token"])["kid"])


async def test_a_rotation_reaches_every_replica_and_old_tokens_keep_working(
    database_url: str,
) -> None:
    async with AsyncExitStack() as stack:
        (container_a, a), (_, b) = await _replicas(database_url, stack)
        signup = await a.post(
            "/api/v1/auth/signup", json={"email": "ada@example.com", "password": PASSWORD}
        )
        assert signup.status_code == 201
        old_pair = (
            await b.post(
                "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
            )
        ).json()
        old_kid = jwt.get_unverified_header(old_pair["access_token"])["kid"]

        old_kids = {key["kid"] for key in (await a.get("/.well-known/jwks.json")).json()["keys"]}
        new_keys = await container_a.rotate_signing_key().execute(RotateSigningKeyCommand())
        (new_key,) = (key for key in new_keys if key.algorithm == "ES256")  # the API's
        assert new_key.kid != old_kid

        deadline = time.monotonic() + REPLICA_PICKUP_SECONDS
        for name, client in (("b", b), ("a", a)):
            while await _kid_of_a_new_login(client) != new_key.kid:
                assert time.monotonic() < deadline, f"replica {name} still signs with the old key"
                await asyncio.sleep(0.5)

        for client in (a, b):
            assert (
                await client.get("/api/v1/users/me", headers=bearer(old_pair))
            ).status_code == 200
            kids = {
                key["kid"] for key in (await client.get("/.well-known/jwks.json")).json()["keys"]
            }
            assert kids == old_kids | {key.kid for key in new_keys}
