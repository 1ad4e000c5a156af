from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from asgi_lifespan import LifespanManager

from entrypoints.container import build_container
from entrypoints.http.app import create_app
from tests.e2e.conftest import settings_for


async def test_healthz_and_readyz_answer_ok(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok"}


async def test_jwks_publishes_public_keys_only(client: httpx.AsyncClient) -> None:
    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert sorted((key["alg"], key["kty"]) for key in keys) == [
        ("ES256", "EC"),
        ("EdDSA", "OKP"),
        ("RS256", "RSA"),
    ]
    for key in keys:
        assert key["use"] == "sig"
        # The private members of EC, OKP and RSA keys.
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


async def _client_of_app_without_database() -> AsyncIterator[httpx.AsyncClient]:
    # Port 1 on loopback: nothing listens there, so every connection is refused at once.
    settings = settings_for("postgresql+asyncpg://portcullis@127.0.0.1:1/none")
    app = create_app(build_container(settings))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_without_a_database_readyz_is_503_and_healthz_stays_up() -> None:
    async for client in _client_of_app_without_database():
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["retry-after"].isdigit()
        assert ready.json()["code"] == "service_unavailable"
        login = await client.post(
            "/api/v1/auth/login", json={"email": "a@example.com", "password": "whatever-pass"}
        )
        assert login.status_code == 503
        assert login.json()["code"] == "service_unavailable"
        assert "127.0.0.1" not in login.text
