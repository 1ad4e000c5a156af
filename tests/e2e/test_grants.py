"""Contract §9, self-service: the applications an account granted, listed and withdrawn through
the API of the real app; withdrawing revokes every token the application holds for the account."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from domain.grant import Grant
from domain.oauth_scope import Scope
from domain.session import Session
from tests.e2e.conftest import LogIn, SignUp, bearer
from tests.e2e.test_browser_session import FROM_OUR_PAGE, signed_in_browser
from tests.integration.builders import NOW, an_oauth_client, an_oauth_session

GRANTS = "/api/v1/users/me/grants"
FAR_AHEAD = timedelta(days=3650)


async def registered(app: FastAPI, name: str) -> str:
    client = an_oauth_client(name=name)
    async with app.state.container.unit_of_work() as uow:
        await uow.oauth_clients.add(client)
        await uow.commit()
    return client.client_id


async def granted(
    app: FastAPI, user_id: str, client_id: str, scopes: set[Scope], days_ago: int = 1
) -> Session:
    """The account's consent to the client, and a session the client holds through it (with
    offline access: it lives on its own)."""
    async with app.state.container.unit_of_work() as uow:
        user = await uow.users.get(UUID(user_id))
        client = await uow.oauth_clients.get(client_id)
        assert user is not None
        assert client is not None
        await uow.oauth_grants.upsert(
            Grant.give(user.id, client_id, scopes, NOW - timedelta(days=days_ago))
        )
        session = replace(an_oauth_session(user, client), expires_at=NOW + FAR_AHEAD)
        await uow.sessions.add(session)
        await uow.commit()
    return session


async def usable_clients_of(app: FastAPI, user_id: str) -> list[str | None]:
    async with app.state.container.unit_of_work() as uow:
        sessions = await uow.sessions.list_usable_of_user(UUID(user_id), NOW)
    return sorted(s.client_id for s in sessions if s.client_id is not None)


@pytest.fixture
async def ada(sign_up: SignUp) -> dict[str, Any]:
    return await sign_up()


@pytest.fixture
async def ada_api(ada: dict[str, Any], log_in: LogIn) -> dict[str, str]:
    assert ada["email"] == "ada@example.com"
    return bearer(await log_in())


async def test_the_grants_are_listed_with_name_scopes_and_rfc3339_dates(
    app: FastAPI, client: httpx.AsyncClient, ada: dict[str, Any], ada_api: dict[str, str]
) -> None:
    wiki = await registered(app, "Wiki")
    chat = await registered(app, "Chat")
    await granted(app, ada["id"], wiki, {Scope.OPENID, Scope.EMAIL}, days_ago=3)
    await granted(app, ada["id"], chat, {Scope.OFFLINE_ACCESS, Scope.OPENID, Scope.PROFILE})

    response = await client.get(GRANTS, headers=ada_api)

    assert response.status_code == 200, response.text
    body = response.json()
    assert [(g["client_id"], g["name"], g["scopes"]) for g in body] == [
        (wiki, "Wiki", ["openid", "email"]),
        (chat, "Chat", ["openid", "profile", "offline_access"]),
    ]
    three_days_ago = (NOW - timedelta(days=3)).isoformat().replace("+00:00", "Z")
    assert body[0]["created_at"] == body[0]["updated_at"] == three_days_ago
    assert set(body[0]) == {"client_id", "name", "scopes", "created_at", "updated_at"}


async def test_withdrawing_a_grant_revokes_that_clients_tokens_and_only_those(
    app: FastAPI,
    client: httpx.AsyncClient,
    sign_up: SignUp,
    ada: dict[str, Any],
    ada_api: dict[str, str],
) -> None:
    wiki = await registered(app, "Wiki")
    chat = await registered(app, "Chat")
    await granted(app, ada["id"], wiki, {Scope.OPENID})
    await granted(app, ada["id"], chat, {Scope.OPENID})
    bob = await sign_up(email="bob@example.com")
    await granted(app, bob["id"], wiki, {Scope.OPENID})
    assert await usable_clients_of(app, ada["id"]) == sorted([wiki, chat])

    withdrawn = await client.delete(f"{GRANTS}/{wiki}", headers=ada_api)

    assert withdrawn.status_code == 204, withdrawn.text
    assert withdrawn.content == b""
    assert await usable_clients_of(app, ada["id"]) == [chat]
    assert await usable_clients_of(app, bob["id"]) == [wiki]
    listed = (await client.get(GRANTS, headers=ada_api)).json()
    assert [g["client_id"] for g in listed] == [chat]
    # The API session that withdrew it goes on.
    assert (await client.get("/api/v1/users/me", headers=ada_api)).status_code == 200


async def test_withdrawing_is_in_the_audit_trail(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    ada: dict[str, Any],
    ada_api: dict[str, str],
) -> None:
    wiki = await registered(app, "Wiki")
    await granted(app, ada["id"], wiki, {Scope.OPENID})
    assert (await client.delete(f"{GRANTS}/{wiki}", headers=ada_api)).status_code == 204

    trail = await client.get(
        "/api/v1/audit-events", params={"type": "consent.withdrawn"}, headers=admin
    )

    assert trail.status_code == 200, trail.text
    [event] = trail.json()["items"]
    assert (event["user_id"], event["actor_id"]) == (ada["id"], ada["id"])
    assert event["data"] == {"client_id": wiki, "sessions_revoked": 1}


@pytest.mark.parametrize(
    "whose", ["someone else's", "unknown", "malformed", "overlong", "already withdrawn"]
)
async def test_a_grant_this_account_does_not_hold_is_the_same_404(
    app: FastAPI,
    client: httpx.AsyncClient,
    sign_up: SignUp,
    ada: dict[str, Any],
    ada_api: dict[str, str],
    whose: str,
) -> None:
    wiki = await registered(app, "Wiki")
    bob = await sign_up(email="bob@example.com")
    await granted(app, bob["id"], wiki, {Scope.OPENID})
    if whose == "already withdrawn":
        await granted(app, ada["id"], wiki, {Scope.OPENID})
        assert (await client.delete(f"{GRANTS}/{wiki}", headers=ada_api)).status_code == 204
    client_id = {
        "someone else's": wiki,
        "unknown": an_oauth_client().client_id,
        "malformed": "wiki%00'%20OR%201=1",
        "overlong": "w" * 3000,
        "already withdrawn": wiki,
    }[whose]

    response = await client.delete(f"{GRANTS}/{client_id}", headers=ada_api)

    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"
    assert await usable_clients_of(app, bob["id"]) == [wiki]


async def test_grants_need_a_bearer_token(client: httpx.AsyncClient) -> None:
    for response in (await client.get(GRANTS), await client.delete(f"{GRANTS}/anything")):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


# --- the account console's "Applications" ---------------------------------------------------


async def test_the_console_lists_granted_applications_in_words(
    app: FastAPI, client: httpx.AsyncClient, ada: dict[str, Any]
) -> None:
    await signed_in_browser(client)
    empty = await client.get("/account", headers={"Accept": "text/html"})
    assert "No application has access to your account." in empty.text
    wiki = await registered(app, "Wiki <b>")
    await granted(app, ada["id"], wiki, {Scope.OPENID, Scope.EMAIL, Scope.OFFLINE_ACCESS})

    console = await client.get("/account", headers={"Accept": "text/html"})

    section = console.text.split('id="applications-heading"')[1].split("</section>")[0]
    assert "<strong>Wiki &lt;b&gt;</strong>" in section
    assert (
        "It may know who you are on this site, see your email address and whether it is "
        "confirmed and stay signed in while you are away." in section
    )
    assert f'action="/account/applications/{wiki}/remove"' in section
    assert "Remove access" in section
    assert "No application has access" not in console.text


@pytest.mark.parametrize(
    ("headers", "with_token"),
    [(FROM_OUR_PAGE, False), ({"Sec-Fetch-Site": "cross-site", "Accept": "text/html"}, True)],
    ids=["without-its-token", "from-another-site"],
)
async def test_removing_access_from_the_console_is_refused_without_token_or_from_elsewhere(
    app: FastAPI,
    client: httpx.AsyncClient,
    ada: dict[str, Any],
    headers: dict[str, str],
    with_token: bool,
) -> None:
    csrf = await signed_in_browser(client)
    wiki = await registered(app, "Wiki")
    await granted(app, ada["id"], wiki, {Scope.OPENID})

    refused = await client.post(
        f"/account/applications/{wiki}/remove",
        data={"csrf_token": csrf if with_token else ""},
        headers=headers,
    )

    assert refused.status_code == 403
    assert await usable_clients_of(app, ada["id"]) == [wiki]


async def test_removing_access_from_the_console_withdraws_and_says_so(
    app: FastAPI, client: httpx.AsyncClient, ada: dict[str, Any]
) -> None:
    csrf = await signed_in_browser(client)
    wiki = await registered(app, "Wiki")
    await granted(app, ada["id"], wiki, {Scope.OPENID})
    path = f"/account/applications/{wiki}/remove"

    removed = await client.post(path, data={"csrf_token": csrf}, headers=FROM_OUR_PAGE)

    assert removed.status_code == 303
    assert removed.headers["location"] == "/account?done=application-removed"
    assert await usable_clients_of(app, ada["id"]) == []
    console = await client.get(removed.headers["location"], headers={"Accept": "text/html"})
    assert "That application no longer has access to your account" in console.text
    assert "No application has access to your account." in console.text
    again = await client.post(path, data={"csrf_token": csrf}, headers=FROM_OUR_PAGE)
    assert again.headers["location"] == "/account?done=application-gone"
