"""The token endpoint and userinfo through the real app: a code obtained by driving
/oauth2/authorize with a browser session, traded by Authlib's OAuth 2.0 client with PKCE, its
ID token verified by an independent JOSE library against the JWKS; the refusals of RFC 6749
§5.2 over HTTP; and how long an OAuth session lasts after its browser session ends."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import FastAPI

from tests.e2e.conftest import LogIn, SignUp, bearer
from tests.e2e.test_authorize import CALLBACK, VERIFIER, at_callback, authorize_query, register
from tests.e2e.test_browser_session import FROM_OUR_PAGE, signed_in_browser
from tests.jose import verify_independently

BASE = "http://portcullis.test"
TOKEN = "/oauth2/token"
USERINFO = "/oauth2/userinfo"
PAGE = {"Accept": "text/html"}


@pytest.fixture
def issuer(app: FastAPI) -> str:
    public_url: str = app.state.container.settings().public_url
    return public_url


@pytest.fixture(autouse=True)
async def ada(sign_up: SignUp) -> dict[str, Any]:
    return await sign_up(name="Ada")


@pytest.fixture(autouse=True)
async def csrf(client: httpx.AsyncClient) -> str:
    """The browser signed in as ada; the account console's CSRF token, for logging out."""
    return await signed_in_browser(client)


@pytest.fixture
async def relying_party(app: FastAPI) -> AsyncIterator[httpx.AsyncBaseTransport]:
    """The in-process app, reached from a relying party's own HTTP client."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50000))
    yield transport
    await transport.aclose()


async def first_party(
    client: httpx.AsyncClient, admin: dict[str, str], **fields: Any
) -> dict[str, Any]:
    return await register(client, admin, first_party=True, **fields)


async def code_for(client: httpx.AsyncClient, client_id: str, **overrides: str | None) -> str:
    response = await client.get(authorize_query(client_id, **overrides), headers=PAGE)
    return at_callback(response)["code"]


def authlib_client(
    transport: httpx.AsyncBaseTransport, registered: dict[str, Any], **options: Any
) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=registered["client_id"],
        client_secret=registered.get("client_secret"),
        token_endpoint_auth_method=options.pop(
            "auth_method",
            "client_secret_basic" if registered.get("client_secret") else "none",
        ),
        redirect_uri=CALLBACK,
        transport=transport,
        base_url=BASE,
        **options,
    )


async def exchange(
    client: httpx.AsyncClient, code: str, client_id: str, /, **overrides: str | None
) -> httpx.Response:
    form: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": VERIFIER,
        "client_id": client_id,
        **overrides,
    }
    return await client.post(TOKEN, data={k: v for k, v in form.items() if v is not None})


def refusal(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"error", "error_description"}
    error: str = body["error"]
    return error


async def userinfo_status(client: httpx.AsyncClient, access_token: str) -> int:
    response = await client.get(USERINFO, headers={"Authorization": f"Bearer {access_token}"})
    if response.status_code == 401:
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    return response.status_code


async def jwks(client: httpx.AsyncClient) -> dict[str, Any]:
    keys: dict[str, Any] = (await client.get("/.well-known/jwks.json")).json()
    return keys


# --- a relying party's library -----------------------------------------------------------------


async def test_a_public_client_signs_in_with_authlib_and_pkce(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    relying_party: httpx.AsyncBaseTransport,
    ada: dict[str, Any],
    issuer: str,
) -> None:
    notes = await first_party(client, admin, type="public")
    code = await code_for(client, notes["client_id"], scope="openid profile email")

    async with authlib_client(relying_party, notes) as oauth:
        token = await oauth.fetch_token(TOKEN, code=code, code_verifier=VERIFIER)
        assert token["token_type"] == "Bearer"
        assert token["scope"] == "openid profile email"
        assert "refresh_token" not in token
        header, claims = verify_independently(
            token["id_token"],
            await jwks(client),
            algorithm="RS256",
            iss=issuer,
            aud=notes["client_id"],
            sub=ada["id"],
            nonce="nonce-456",
        )
        assert claims["amr"] == ["pwd"]
        assert claims["email"] == "ada@example.com"
        assert claims["name"] == "Ada"
        assert isinstance(claims["updated_at"], int)
        assert isinstance(claims["auth_time"], int)
        assert claims["exp"] - claims["iat"] <= token["expires_in"]
        _, access = verify_independently(
            token["access_token"], await jwks(client), algorithm="RS256", iss=issuer
        )
        assert access["sid"] == claims["sid"]

        info = await oauth.get(USERINFO)

    assert info.status_code == 200
    assert info.json() == {
        "sub": ada["id"],
        "name": "Ada",
        "updated_at": claims["updated_at"],
        "email": "ada@example.com",
        "email_verified": False,
    }
    assert header["kid"]


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
async def test_a_confidential_client_refreshes_and_a_reused_refresh_token_ends_the_session(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    relying_party: httpx.AsyncBaseTransport,
    auth_method: str,
) -> None:
    wiki = await first_party(client, admin, type="confidential")
    code = await code_for(client, wiki["client_id"], scope="openid email offline_access")

    async with authlib_client(relying_party, wiki, auth_method=auth_method) as oauth:
        first = await oauth.fetch_token(TOKEN, code=code, code_verifier=VERIFIER)
        second = await oauth.refresh_token(TOKEN, refresh_token=first["refresh_token"])
        assert second["refresh_token"] != first["refresh_token"]
        assert await userinfo_status(client, second["access_token"]) == 200
        narrowed = await oauth.refresh_token(
            TOKEN, refresh_token=second["refresh_token"], scope="openid"
        )
        assert narrowed["scope"] == "openid"
        info = await client.get(USERINFO, headers=bearer(narrowed))
        assert info.json() == {"sub": info.json()["sub"]}

    reused = await client.post(
        TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(wiki["client_id"], wiki["client_secret"]),
    )
    assert refusal(reused) == "invalid_grant"
    assert await userinfo_status(client, narrowed["access_token"]) == 401


# --- refusals ----------------------------------------------------------------------------------


async def test_a_code_used_twice_is_refused_and_its_tokens_stop_working(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    notes = (await first_party(client, admin, type="public"))["client_id"]
    code = await code_for(client, notes)
    first = await exchange(client, code, notes)
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    assert first.headers["pragma"] == "no-cache"
    assert await userinfo_status(client, first.json()["access_token"]) == 200

    assert refusal(await exchange(client, code, notes)) == "invalid_grant"
    assert await userinfo_status(client, first.json()["access_token"]) == 401
    audited = await client.get(
        "/api/v1/audit-events", params={"type": "authorization_code.reused"}, headers=admin
    )
    [replay] = audited.json()["items"]
    assert replay["data"]["client_id"] == notes
    metrics = (await client.get("/metrics")).text
    assert "portcullis_authorization_code_reuse_detections_total 1.0" in metrics


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_verifier": "a-different-verifier-that-is-also-long-enough-for-rfc7636"},
        {"code_verifier": None},
        {"redirect_uri": CALLBACK + "/"},
        {"code": "a-code-never-issued"},
    ],
    ids=["pkce mismatch", "missing verifier", "redirect mismatch", "unknown code"],
)
async def test_a_wrong_proof_is_invalid_grant(
    client: httpx.AsyncClient, admin: dict[str, str], overrides: dict[str, str | None]
) -> None:
    notes = (await first_party(client, admin, type="public"))["client_id"]
    code = await code_for(client, notes)

    assert refusal(await exchange(client, code, notes, **overrides)) == "invalid_grant"


async def test_a_code_issued_to_another_client_is_invalid_grant(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    notes = (await first_party(client, admin, type="public"))["client_id"]
    other = (await first_party(client, admin, type="public", name="Other"))["client_id"]
    code = await code_for(client, notes)

    assert refusal(await exchange(client, code, other)) == "invalid_grant"


def basic(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


async def test_client_authentication_failures_are_invalid_client(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    wiki = await first_party(client, admin, type="confidential")
    client_id, secret = wiki["client_id"], wiki["client_secret"]
    code = await code_for(client, client_id)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}

    wrong = await client.post(TOKEN, data=form, headers=basic(client_id, secret + "x"))
    assert refusal(wrong, 401) == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    unknown = await client.post(TOKEN, data={**form, "client_id": "nobody", "client_secret": "x"})
    assert refusal(unknown, 401) == "invalid_client"
    assert "www-authenticate" not in unknown.headers
    no_secret = await client.post(TOKEN, data={**form, "client_id": client_id})
    assert refusal(no_secret, 401) == "invalid_client"
    both = await client.post(
        TOKEN, data={**form, "client_secret": secret}, headers=basic(client_id, secret)
    )
    assert refusal(both) == "invalid_request"
    # The code was never redeemed by the refused requests: it still works.
    good = await client.post(
        TOKEN, data={**form, "code_verifier": VERIFIER}, headers=basic(client_id, secret)
    )
    assert good.status_code == 200, good.text


async def test_basic_credentials_are_form_url_decoded(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    wiki = await first_party(client, admin, type="confidential")
    code = await code_for(client, wiki["client_id"])
    # A secret is URL-safe base64, whose "-" and "_" are unreserved: encoding "-" as %2D must
    # make no difference.
    secret = wiki["client_secret"].replace("-", "%2D")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": VERIFIER,
    }

    response = await client.post(TOKEN, data=form, headers=basic(wiki["client_id"], secret))

    assert response.status_code == 200, response.text


async def test_a_public_client_presenting_a_secret_is_invalid_client(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    notes = (await first_party(client, admin, type="public"))["client_id"]
    code = await code_for(client, notes)

    assert refusal(await exchange(client, code, notes, client_secret="x"), 401) == "invalid_client"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "username": "a", "password": "b"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({}, "invalid_request"),
    ],
)
async def test_unsupported_grants_and_missing_parameters(
    client: httpx.AsyncClient, admin: dict[str, str], form: dict[str, str], error: str
) -> None:
    notes = (await first_party(client, admin, type="public"))["client_id"]

    assert refusal(await client.post(TOKEN, data={**form, "client_id": notes})) == error


async def test_a_body_that_is_not_a_form_is_invalid_request(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN, json={"grant_type": "authorization_code"})

    assert refusal(response) == "invalid_request"


# --- userinfo ----------------------------------------------------------------------------------


async def test_userinfo_wants_an_oauth_access_token(
    client: httpx.AsyncClient, log_in: LogIn
) -> None:
    missing = await client.get(USERINFO)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"

    assert await userinfo_status(client, (await log_in())["access_token"]) == 401
    assert await userinfo_status(client, "not-a-token") == 401


async def test_userinfo_by_post_takes_the_token_from_the_form_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    notes = (await first_party(client, admin, type="public"))["client_id"]
    token = (await exchange(client, await code_for(client, notes), notes)).json()["access_token"]

    by_form = await client.post(USERINFO, data={"access_token": token})
    assert by_form.status_code == 200
    assert by_form.json()["email"] == "ada@example.com"
    twice = await client.post(
        USERINFO, data={"access_token": token}, headers={"Authorization": f"Bearer {token}"}
    )
    assert refusal(twice) == "invalid_request"


async def test_an_oauth_access_token_is_refused_by_the_api(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    notes = (await first_party(client, admin, type="public"))["client_id"]
    token = (await exchange(client, await code_for(client, notes), notes)).json()["access_token"]

    me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})

    assert me.status_code == 401


# --- sessions ----------------------------------------------------------------------------------


async def test_logging_out_ends_the_sessions_without_offline_access_only(
    client: httpx.AsyncClient, admin: dict[str, str], csrf: str
) -> None:
    notes = (await first_party(client, admin, type="public"))["client_id"]
    online = await exchange(client, await code_for(client, notes), notes)
    offline = await exchange(
        client, await code_for(client, notes, scope="openid offline_access"), notes
    )
    assert "refresh_token" not in online.json()
    assert "refresh_token" in offline.json()

    logged_out = await client.post("/logout", data={"csrf_token": csrf}, headers=FROM_OUR_PAGE)
    assert logged_out.status_code == 303

    assert await userinfo_status(client, online.json()["access_token"]) == 401
    assert await userinfo_status(client, offline.json()["access_token"]) == 200
    refreshed = await client.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": offline.json()["refresh_token"],
            "client_id": notes,
        },
    )
    assert refreshed.status_code == 200, refreshed.text
