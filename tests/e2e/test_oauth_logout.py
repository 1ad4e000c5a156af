"""RP-initiated logout over HTTP, through the real app: a confirmation first, then the browser
session ends, and the browser goes back only to a post-logout URI the client registered."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from application.oidc_tokens import IdTokenClaims
from domain.auth_method import PASSWORD_ONLY
from domain.oauth_client import IdTokenAlgorithm
from tests.e2e.conftest import SignUp
from tests.e2e.test_browser_session import COOKIE, FROM_OUR_PAGE, signed_in_browser
from tests.integration.builders import an_oauth_client

LOGOUT = "/oauth2/logout"
BACK = "https://wiki.example.com/signed-out?from=portcullis"
PAGE = {"Accept": "text/html"}


@pytest.fixture(autouse=True)
async def ada(sign_up: SignUp) -> dict[str, Any]:
    return await sign_up()


@pytest.fixture
async def wiki(app: FastAPI) -> str:
    client = an_oauth_client(name="Wiki", post_logout_redirect_uris=(BACK,))
    async with app.state.container.unit_of_work() as uow:
        await uow.oauth_clients.add(client)
        await uow.commit()
    return client.client_id


def fields_of(page: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in found}


async def confirmed(client: httpx.AsyncClient, **parameters: str) -> httpx.Response:
    """Opens the confirmation page with these parameters and submits its form."""
    asked = await client.get(f"{LOGOUT}?{urlencode(parameters)}", headers=PAGE)
    assert asked.status_code == 200, asked.text
    assert "Sign out of Portcullis?" in asked.text
    return await client.post(LOGOUT, data=fields_of(asked.text), headers=FROM_OUR_PAGE)


async def test_a_registered_uri_is_followed_with_state_after_the_confirmation(
    client: httpx.AsyncClient, wiki: str
) -> None:
    await signed_in_browser(client)
    asked = await client.get(
        LOGOUT,
        params={"client_id": wiki, "post_logout_redirect_uri": BACK, "state": "s&1 ✓"},
        headers=PAGE,
    )
    assert "Wiki asks to sign you out of Portcullis too." in asked.text
    policy = asked.headers["content-security-policy"]
    assert "form-action 'self' https://wiki.example.com;" in policy

    done = await client.post(LOGOUT, data=fields_of(asked.text), headers=FROM_OUR_PAGE)

    assert done.status_code == 303
    assert done.headers["location"] == BACK + "&state=s%261+%E2%9C%93"
    assert COOKIE not in client.cookies


async def test_the_browser_session_is_revoked(
    client: httpx.AsyncClient, wiki: str, log_in: Any
) -> None:
    await signed_in_browser(client)
    api = {"Authorization": f"Bearer {(await log_in())['access_token']}"}
    secret = client.cookies[COOKIE]
    assert len((await client.get("/api/v1/users/me/sessions", headers=api)).json()) == 2

    await confirmed(client, client_id=wiki, post_logout_redirect_uri=BACK)

    assert len((await client.get("/api/v1/users/me/sessions", headers=api)).json()) == 1
    client.cookies.set(COOKIE, secret)
    assert (await client.get("/account", headers=PAGE)).status_code == 303


@pytest.mark.parametrize(
    "parameters",
    [
        {"post_logout_redirect_uri": BACK, "state": "x"},
        {"client_id": "wiki", "post_logout_redirect_uri": "https://evil.example/", "state": "x"},
        {"client_id": "wiki", "post_logout_redirect_uri": BACK + "&more=1"},
        {"client_id": "wiki", "post_logout_redirect_uri": "HTTPS://wiki.example.com/signed-out"},
        {"client_id": "an-unknown-client", "post_logout_redirect_uri": BACK},
        {"client_id": "wiki\x00'", "post_logout_redirect_uri": BACK},
        {"id_token_hint": "eyJ.not.checked", "post_logout_redirect_uri": BACK},
    ],
    ids=["no-client", "foreign", "longer", "other-case", "unknown-client", "bad-id", "hint-only"],
)
async def test_an_unregistered_uri_is_never_redirected_to(
    client: httpx.AsyncClient, wiki: str, parameters: dict[str, str]
) -> None:
    if parameters.get("client_id") == "wiki":
        parameters = {**parameters, "client_id": wiki}
    await signed_in_browser(client)

    done = await confirmed(client, **parameters)

    assert done.status_code == 303
    assert done.headers["location"] == LOGOUT
    assert COOKIE not in client.cookies
    signed_out = await client.get(LOGOUT, headers=PAGE)
    assert signed_out.status_code == 200
    assert "You are signed out" in signed_out.text
    # A signed-out browser asking again is not sent anywhere either.
    again = await client.get(f"{LOGOUT}?{urlencode(parameters)}", headers=PAGE)
    assert again.status_code == 200
    assert "You are signed out" in again.text


async def test_a_signed_out_browser_goes_straight_back_to_a_registered_uri(
    client: httpx.AsyncClient, wiki: str
) -> None:
    response = await client.get(
        LOGOUT,
        params={"client_id": wiki, "post_logout_redirect_uri": BACK, "state": "abc"},
        headers=PAGE,
    )

    assert response.status_code == 303
    assert response.headers["location"] == BACK + "&state=abc"


async def test_the_confirmation_needs_its_token_and_this_site(
    client: httpx.AsyncClient, wiki: str
) -> None:
    csrf = await signed_in_browser(client)
    form = {"client_id": wiki, "post_logout_redirect_uri": BACK}
    for data, headers in [
        ({**form, "csrf_token": ""}, FROM_OUR_PAGE),
        ({**form, "csrf_token": csrf}, {"Sec-Fetch-Site": "cross-site", **PAGE}),
    ]:
        refused = await client.post(LOGOUT, data=data, headers=headers)
        assert refused.status_code == 403
        assert "location" not in refused.headers
    assert (await client.get("/account", headers=PAGE)).status_code == 200
    # Opening the page with a GET signs nobody out: only its form does.
    await client.get(LOGOUT, params=form, headers=PAGE)
    assert (await client.get("/account", headers=PAGE)).status_code == 200


async def an_id_token(app: FastAPI, client_id: str, subject: str, *, days_old: int = 0) -> str:
    """An ID token the service signed for this client, as a relying party keeps it."""
    issued = datetime.now(UTC) - timedelta(days=days_old)
    claims = IdTokenClaims(
        subject=UUID(subject),
        client_id=client_id,
        session_id=uuid4(),
        issued_at=issued,
        expires_at=issued + timedelta(minutes=5),
        auth_time=issued,
        amr=PASSWORD_ONLY,
    )
    token: str = await app.state.container.id_tokens().sign(claims, IdTokenAlgorithm.RS256)
    return token


async def test_the_hint_names_the_client_whose_registered_uri_is_followed(
    client: httpx.AsyncClient, app: FastAPI, wiki: str, ada: dict[str, Any]
) -> None:
    # A week old: a hint is often an expired token, and still names its client.
    hint = await an_id_token(app, wiki, ada["id"], days_old=7)
    await signed_in_browser(client)

    done = await confirmed(client, id_token_hint=hint, post_logout_redirect_uri=BACK, state="x")

    assert done.status_code == 303
    assert done.headers["location"] == BACK + "&state=x"
    assert COOKIE not in client.cookies


async def test_a_hint_that_does_not_verify_or_names_another_client_sends_nobody_anywhere(
    client: httpx.AsyncClient, app: FastAPI, wiki: str, ada: dict[str, Any]
) -> None:
    other = an_oauth_client(name="Other", post_logout_redirect_uris=(BACK,))
    async with app.state.container.unit_of_work() as uow:
        await uow.oauth_clients.add(other)
        await uow.commit()
    hint = await an_id_token(app, wiki, ada["id"])
    header, payload, signature = hint.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"

    for parameters in (
        {"id_token_hint": forged, "post_logout_redirect_uri": BACK},
        {"id_token_hint": hint, "client_id": other.client_id, "post_logout_redirect_uri": BACK},
    ):
        response = await client.get(LOGOUT, params=parameters, headers=PAGE)
        assert response.status_code == 200
        assert "You are signed out" in response.text
