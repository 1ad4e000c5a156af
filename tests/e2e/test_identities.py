"""The upstream providers and linked identities API through the real app, without a provider
configured (signing in through one is tested against a real provider elsewhere)."""

from __future__ import annotations

import uuid

import httpx

from tests.e2e.conftest import LogIn, SignUp, bearer


async def test_without_providers_configured_the_list_is_empty_and_public(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/auth/providers")

    assert response.status_code == 200
    assert response.json() == []


async def test_an_account_without_linked_identities_lists_none(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    auth = bearer(await log_in())

    listed = await client.get("/api/v1/users/me/identities", headers=auth)
    unlinked = await client.delete(f"/api/v1/users/me/identities/{uuid.uuid4()}", headers=auth)

    assert listed.status_code == 200
    assert listed.json() == []
    assert unlinked.status_code == 404
    assert unlinked.json()["code"] == "not_found"


async def test_identities_need_a_bearer_token(client: httpx.AsyncClient) -> None:
    listed = await client.get("/api/v1/users/me/identities")
    unlinked = await client.delete(f"/api/v1/users/me/identities/{uuid.uuid4()}")

    assert (listed.status_code, unlinked.status_code) == (401, 401)
