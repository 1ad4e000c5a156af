"""The authorization endpoint and the consent page over HTTP, through the real app: what is
never redirected, what is refused at the redirect URI, sign-in and consent on the way, and the
code that comes back."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from application.secret_tokens import hash_secret_token
from domain.pkce import s256_challenge
from tests.e2e.conftest import SignUp
from tests.e2e.test_browser_session import FROM_OUR_PAGE, page_login

CALLBACK = "https://notes.example.com/callback"
OTHER_CALLBACK = "https://wiki.example.com/cb"
CLIENTS = "/api/v1/oauth-clients"
AUTHORIZE = "/oauth2/authorize"
VERIFIER = "the-verifier-of-a-relying-party-long-enough-for-rfc-7636"
PAGE = {"Accept": "text/html"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def register(
    client: httpx.AsyncClient, admin: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"name": "Notes", "redirect_uris": [CALLBACK], "type": "public", **fields}
    response = await client.post(CLIENTS, json=body, headers=admin)
    assert response.status_code == 201, response.text
    registered: dict[str, Any] = response.json()
    return registered


def authorize_query(client_id: str, **overrides: str | None) -> str:
    parameters: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid email",
        "state": "state-123",
        "nonce": "nonce-456",
        "code_challenge": s256_challenge(VERIFIER),
        "code_challenge_method": "S256",
        **overrides,
    }
    return "/oauth2/authorize?" + urlencode(
        {name: value for name, value in parameters.items() if value is not None}
    )


def at_callback(response: httpx.Response, callback: str = CALLBACK) -> dict[str, str]:
    """The query the browser is sent to the client with."""
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(callback + "?"), location
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
async def notes(client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    return str((await register(client, admin))["client_id"])


@pytest.fixture(autouse=True)
async def ada(sign_up: SignUp) -> dict[str, Any]:
    """ada@example.com, with the tests' password, signed up through the API."""
    return await sign_up()


async def signed_in(client: httpx.AsyncClient) -> None:
    response = await page_login(client)
    assert response.status_code == 303, response.text


async def consent_form(client: httpx.AsyncClient, query: str) -> dict[str, list[str]]:
    """The consent page's form, as fields to post back."""
    shown = await client.get(query, headers=PAGE)
    assert shown.status_code == 200, shown.text
    assert "Notes" in shown.text
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', shown.text):
        fields.setdefault(name, []).append(value.replace("&amp;", "&"))
    return fields


async def decide(
    client: httpx.AsyncClient, fields: dict[str, list[str]], decision: str
) -> httpx.Response:
    return await client.post(
        "/oauth2/authorize/consent", data={**fields, "decision": decision}, headers=FROM_OUR_PAGE
    )


# --- never redirected --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://notes.example.com/other",
        "https://notes.example.com/callback/",
        "https://NOTES.example.com/callback",
        "https://notes.example.com/callback?extra=1",
        "https://notes.example.com:8443/callback",
        "http://notes.example.com/callback",
        "https://notes.example.com/callback#fragment",
        "https://notes.example.com/%63allback",
        "https://notes.example.com@evil.example.net/callback",
        "https://notes.example.com.evil.example.net/callback",
        "/callback",
        OTHER_CALLBACK,
    ],
    ids=[
        "path",
        "trailing slash",
        "case",
        "extra query",
        "port",
        "scheme",
        "fragment",
        "percent-encoded",
        "user info",
        "suffixed host",
        "relative",
        "another client's",
    ],
)
async def test_a_redirect_uri_not_registered_exactly_is_shown_on_a_page_never_followed(
    client: httpx.AsyncClient, admin: dict[str, str], notes: str, redirect_uri: str
) -> None:
    await register(client, admin, name="Wiki", redirect_uris=[OTHER_CALLBACK])
    await signed_in(client)

    for extra in ({}, {"response_type": "token"}, {"prompt": "none"}):
        response = await client.get(
            authorize_query(notes, redirect_uri=redirect_uri, **extra), headers=PAGE
        )
        assert response.status_code == 400
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")
        assert "cannot be followed" in response.text


async def test_an_unknown_client_is_shown_on_a_page(client: httpx.AsyncClient) -> None:
    response = await client.get(
        authorize_query("00000000-0000-4000-8000-000000000000"), headers=PAGE
    )

    assert response.status_code == 400
    assert "not registered" in response.text


# --- refused at the redirect URI ---------------------------------------------------------------


async def test_a_public_client_must_send_pkce(client: httpx.AsyncClient, notes: str) -> None:
    response = await client.get(
        authorize_query(notes, code_challenge=None, code_challenge_method=None)
    )

    query = at_callback(response)
    assert query["error"] == "invalid_request"
    assert query["state"] == "state-123"


async def test_prompt_none_without_a_session_is_login_required_at_the_redirect_uri(
    client: httpx.AsyncClient, notes: str
) -> None:
    query = at_callback(await client.get(authorize_query(notes, prompt="none")))

    assert query["error"] == "login_required"
    assert query["state"] == "state-123"


# --- sign-in and consent -----------------------------------------------------------------------


async def test_without_a_session_the_browser_signs_in_first_then_comes_back(
    client: httpx.AsyncClient, notes: str
) -> None:
    query = authorize_query(notes, login_hint="ada@example.com")

    sent = await client.get(query, headers=PAGE)
    assert sent.status_code == 303
    login = sent.headers["location"]
    assert urlsplit(login).path == "/login"
    assert parse_qs(urlsplit(login).query)["return_to"] == [query]
    shown = await client.get(login, headers=PAGE)
    assert 'value="ada@example.com"' in shown.text

    signed = await page_login(client, return_to=query)
    assert signed.status_code == 200  # a page that moves on by itself, not a redirect
    assert re.search(r'http-equiv="refresh" content="0; url=/oauth2/authorize\?', signed.text)
    assert isinstance(await consent_form(client, query), dict)


def authorize_form(client_id: str, **overrides: str | None) -> dict[str, list[str]]:
    """The parameters of authorize_query, as the form of a POST (OpenID Connect Core
    §3.1.2.1)."""
    return parse_qs(urlsplit(authorize_query(client_id, **overrides)).query)


# What a browser sends with a form a client's page posts to us.
FROM_THE_CLIENTS_PAGE = {
    **PAGE,
    "Origin": "https://notes.example.com",
    "Sec-Fetch-Site": "cross-site",
}


async def test_the_request_may_come_as_a_form_from_the_clients_page(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    first_party = str((await register(client, admin, first_party=True))["client_id"])
    await signed_in(client)

    sent = await client.post(
        AUTHORIZE, data=authorize_form(first_party), headers=FROM_THE_CLIENTS_PAGE
    )

    assert sent.status_code == 303  # the browser goes on to the client with a GET
    query = at_callback(sent)
    assert query["state"] == "state-123"
    assert "code" in query


async def test_every_answer_at_the_redirect_uri_names_the_issuer(
    client: httpx.AsyncClient, admin: dict[str, str], notes: str
) -> None:
    first_party = str((await register(client, admin, first_party=True))["client_id"])
    refused = at_callback(await client.get(authorize_query(notes, prompt="none")))
    await signed_in(client)
    granted = at_callback(await client.get(authorize_query(first_party), headers=PAGE))
    discovery = (await client.get("/.well-known/openid-configuration")).json()

    assert discovery["authorization_response_iss_parameter_supported"] is True
    assert refused["iss"] == granted["iss"] == discovery["issuer"]
    assert "code" in granted
    assert refused["error"] == "login_required"


async def test_a_posted_request_without_a_session_signs_in_first_and_comes_back_as_a_get(
    client: httpx.AsyncClient, notes: str
) -> None:
    sent = await client.post(AUTHORIZE, data=authorize_form(notes), headers=FROM_THE_CLIENTS_PAGE)

    assert sent.status_code == 303
    login = urlsplit(sent.headers["location"])
    assert login.path == "/login"
    [return_to] = parse_qs(login.query)["return_to"]
    assert urlsplit(return_to).path == AUTHORIZE
    assert parse_qs(urlsplit(return_to).query) == authorize_form(notes)


async def test_a_posted_request_that_is_not_a_form_or_names_a_parameter_twice_is_a_page(
    client: httpx.AsyncClient, notes: str
) -> None:
    as_json = await client.post(AUTHORIZE, json={"client_id": notes}, headers=PAGE)
    twice = await client.post(
        AUTHORIZE,
        data={**authorize_form(notes), "redirect_uri": [CALLBACK, OTHER_CALLBACK]},
        headers=PAGE,
    )

    for response in (as_json, twice):
        assert response.status_code == 400
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")


async def test_prompt_login_shows_the_form_to_a_signed_in_browser_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    first_party = str((await register(client, admin, first_party=True))["client_id"])
    await signed_in(client)

    sent = await client.get(authorize_query(first_party, prompt="login"), headers=PAGE)
    login = sent.headers["location"]
    assert "reauthenticate=true" in login
    shown = await client.get(login, headers=PAGE)
    assert shown.status_code == 200
    assert 'action="/login"' in shown.text
    [return_to] = parse_qs(urlsplit(login).query)["return_to"]
    assert "prompt" not in parse_qs(urlsplit(return_to).query)
    signed = await page_login(client, return_to=return_to)
    assert signed.status_code == 200

    assert "code" in at_callback(await client.get(return_to, headers=PAGE))


async def test_a_first_party_client_skips_consent(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    first_party = str((await register(client, admin, first_party=True))["client_id"])
    await signed_in(client)

    query = at_callback(await client.get(authorize_query(first_party), headers=PAGE))

    assert query["state"] == "state-123"
    assert "code" in query


async def test_consent_is_asked_once_then_remembered(client: httpx.AsyncClient, notes: str) -> None:
    await signed_in(client)

    fields = await consent_form(client, authorize_query(notes))
    shown = await client.get(authorize_query(notes), headers=PAGE)
    policy = shown.headers["content-security-policy"]
    assert "form-action 'self' https://notes.example.com;" in policy
    assert "See your email address" in shown.text
    allowed = at_callback(await decide(client, fields, "allow"))
    assert "code" in allowed
    assert allowed["state"] == "state-123"

    again = at_callback(await client.get(authorize_query(notes), headers=PAGE))
    assert "code" in again
    silent = at_callback(await client.get(authorize_query(notes, prompt="none"), headers=PAGE))
    assert "code" in silent
    wider = await client.get(authorize_query(notes, scope="openid profile"), headers=PAGE)
    assert wider.status_code == 200


async def test_deny_is_access_denied(client: httpx.AsyncClient, notes: str) -> None:
    await signed_in(client)
    fields = await consent_form(client, authorize_query(notes))

    query = at_callback(await decide(client, fields, "deny"))

    assert query["error"] == "access_denied"
    assert query["state"] == "state-123"
    assert (await client.get(authorize_query(notes), headers=PAGE)).status_code == 200


async def test_the_consent_form_needs_its_session_token_and_is_checked_again(
    client: httpx.AsyncClient, notes: str
) -> None:
    await signed_in(client)
    fields = await consent_form(client, authorize_query(notes))

    forged = await decide(client, {**fields, "csrf_token": ["forged"]}, "allow")
    elsewhere = await decide(client, {**fields, "redirect_uri": [OTHER_CALLBACK]}, "allow")

    assert forged.status_code == 403
    assert elsewhere.status_code == 400
    assert "location" not in elsewhere.headers


# --- the code ----------------------------------------------------------------------------------


async def test_the_code_is_stored_hashed_and_redeemed_once(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    first_party = str((await register(client, admin, first_party=True))["client_id"])
    await signed_in(client)

    code = at_callback(await client.get(authorize_query(first_party), headers=PAGE))["code"]

    container = app.state.container
    now = datetime.now(UTC)
    async with container.unit_of_work() as uow:
        assert await uow.oauth_codes.redeem(code, now) is None  # not stored as itself
        redeemed = await uow.oauth_codes.redeem(hash_secret_token(code), now)
        again = await uow.oauth_codes.redeem(hash_secret_token(code), now)
        await uow.commit()
    assert redeemed is not None
    assert again is None
    assert (redeemed.client_id, redeemed.redirect_uri) == (first_party, CALLBACK)
    assert redeemed.code_challenge == s256_challenge(VERIFIER)
    assert redeemed.nonce == "nonce-456"
