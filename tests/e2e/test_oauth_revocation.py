"""Revocation (RFC 7009) and introspection (RFC 7662) through the real app, driven by Authlib's
OAuth 2.0 client where a relying party would use it: a resource server learns of a logout, a
revocation or a withdrawn grant at once, and every refusal is RFC 6749 §5.2 JSON."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LogIn, bearer
from tests.e2e.test_authorize import (
    VERIFIER,
    at_callback,
    authorize_query,
    consent_form,
    decide,
    register,
)
from tests.e2e.test_browser_session import FROM_OUR_PAGE
from tests.e2e.test_oauth_token import (
    TOKEN,
    authlib_client,
    code_for,
    exchange,
    first_party,
    refusal,
    userinfo_status,
)
from tests.e2e.test_oauth_token import ada as ada
from tests.e2e.test_oauth_token import csrf as csrf
from tests.e2e.test_oauth_token import issuer as issuer
from tests.e2e.test_oauth_token import relying_party as relying_party

REVOKE = "/oauth2/revoke"
INTROSPECT = "/oauth2/introspect"


async def tokens(
    client: httpx.AsyncClient, registered: dict[str, Any], scope: str = "openid email"
) -> dict[str, Any]:
    """What the client's code exchange answered (with client_secret_post when it has a
    secret)."""
    client_id = registered["client_id"]
    code = await code_for(client, client_id, scope=scope)
    secret = {"client_secret": registered["client_secret"]} if "client_secret" in registered else {}
    response = await exchange(client, code, client_id, **secret)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def introspect(
    client: httpx.AsyncClient, resource_server: dict[str, Any], token: str
) -> dict[str, Any]:
    response = await client.post(
        INTROSPECT,
        data={"token": token},
        auth=(resource_server["client_id"], resource_server["client_secret"]),
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture
async def resource_server(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    """The API of the team's application, registered apart from the application itself."""
    return await first_party(client, admin, name="Notes API", type="confidential")


async def test_authlib_introspects_then_revokes_and_the_token_is_inactive(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    relying_party: httpx.AsyncBaseTransport,
    ada: dict[str, Any],
    issuer: str,
) -> None:
    notes = await first_party(client, admin, type="confidential")
    code = await code_for(client, notes["client_id"], scope="openid email offline_access")

    async with authlib_client(relying_party, notes) as oauth:
        token = await oauth.fetch_token(TOKEN, code=code, code_verifier=VERIFIER)
        introspected = await oauth.introspect_token(INTROSPECT, token=token["access_token"])
        of_refresh = await oauth.introspect_token(
            INTROSPECT, token=token["refresh_token"], token_type_hint="refresh_token"
        )
        revoked = await oauth.revoke_token(
            REVOKE, token=token["refresh_token"], token_type_hint="refresh_token"
        )
        after = await oauth.introspect_token(INTROSPECT, token=token["access_token"])

    assert introspected.status_code == 200
    active = introspected.json()
    assert active["active"] is True
    assert active["token_type"] == "Bearer"
    assert active["scope"] == "openid email offline_access"
    assert (active["client_id"], active["aud"]) == (notes["client_id"], notes["client_id"])
    assert (active["sub"], active["iss"]) == (ada["id"], issuer)
    assert active["exp"] - active["iat"] == token["expires_in"]
    assert {"jti", "sid"} <= set(active)
    refresh = of_refresh.json()
    assert refresh["active"] is True
    assert refresh["token_type"] == "refresh_token"
    assert refresh["sid"] == active["sid"]
    assert "jti" not in refresh
    assert revoked.status_code == 200
    assert after.json() == {"active": False}
    assert await userinfo_status(client, token["access_token"]) == 401


async def test_a_public_client_revokes_its_access_token_and_its_refresh_token_ends_too(
    client: httpx.AsyncClient, admin: dict[str, str], resource_server: dict[str, Any]
) -> None:
    notes = await first_party(client, admin, type="public")
    issued = await tokens(client, notes, scope="openid offline_access")

    response = await client.post(
        REVOKE, data={"token": issued["access_token"], "client_id": notes["client_id"]}
    )

    assert response.status_code == 200
    assert response.content == b""
    assert await introspect(client, resource_server, issued["access_token"]) == {"active": False}
    refreshed = await client.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": issued["refresh_token"],
            "client_id": notes["client_id"],
        },
    )
    assert refusal(refreshed) == "invalid_grant"


async def test_introspection_after_logout_is_inactive(
    client: httpx.AsyncClient, admin: dict[str, str], resource_server: dict[str, Any], csrf: str
) -> None:
    notes = await first_party(client, admin, type="public")
    issued = await tokens(client, notes)
    assert (await introspect(client, resource_server, issued["access_token"]))["active"] is True

    logged_out = await client.post("/logout", data={"csrf_token": csrf}, headers=FROM_OUR_PAGE)
    assert logged_out.status_code == 303

    assert await introspect(client, resource_server, issued["access_token"]) == {"active": False}


async def test_introspection_after_the_grant_is_withdrawn_is_inactive(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    resource_server: dict[str, Any],
    log_in: LogIn,
) -> None:
    wiki = await register(client, admin, type="confidential")
    query = authorize_query(wiki["client_id"], scope="openid offline_access")
    code = at_callback(await decide(client, await consent_form(client, query), "allow"))["code"]
    response = await exchange(client, code, wiki["client_id"], client_secret=wiki["client_secret"])
    issued = response.json()
    assert (await introspect(client, resource_server, issued["refresh_token"])) == {
        "active": False  # a refresh token is shown to its own client only
    }
    own = await client.post(
        INTROSPECT,
        data={"token": issued["refresh_token"]},
        auth=(wiki["client_id"], wiki["client_secret"]),
    )
    assert own.json()["active"] is True

    withdrawn = await client.delete(
        f"/api/v1/users/me/grants/{wiki['client_id']}", headers=bearer(await log_in())
    )
    assert withdrawn.status_code == 204

    assert await introspect(client, resource_server, issued["access_token"]) == {"active": False}


@pytest.mark.parametrize("endpoint", [REVOKE, INTROSPECT])
async def test_a_wrong_secret_is_invalid_client_and_challenges_basic(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    resource_server: dict[str, Any],
    endpoint: str,
) -> None:
    notes = await first_party(client, admin, type="public")
    issued = await tokens(client, notes)

    response = await client.post(
        endpoint,
        data={"token": issued["access_token"]},
        auth=(resource_server["client_id"], "not-the-secret"),
    )

    assert refusal(response, 401) == "invalid_client"
    assert response.headers["www-authenticate"] == 'Basic realm="portcullis"'
    assert (await introspect(client, resource_server, issued["access_token"]))["active"] is True


async def test_a_public_client_may_not_introspect(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    notes = await first_party(client, admin, type="public")
    issued = await tokens(client, notes)

    response = await client.post(
        INTROSPECT, data={"token": issued["access_token"], "client_id": notes["client_id"]}
    )

    assert refusal(response, 401) == "invalid_client"


async def test_another_clients_token_is_not_revoked(
    client: httpx.AsyncClient, admin: dict[str, str], resource_server: dict[str, Any]
) -> None:
    notes = await first_party(client, admin, type="public")
    issued = await tokens(client, notes)

    response = await client.post(
        REVOKE,
        data={"token": issued["access_token"]},
        auth=(resource_server["client_id"], resource_server["client_secret"]),
    )

    assert refusal(response) == "invalid_grant"
    assert (await introspect(client, resource_server, issued["access_token"]))["active"] is True


@pytest.mark.parametrize("token", ["never-issued", "a.forged.token", "x" * 3000])
async def test_an_unknown_token_is_revoked_quietly_and_inactive(
    client: httpx.AsyncClient, resource_server: dict[str, Any], token: str
) -> None:
    credentials = (resource_server["client_id"], resource_server["client_secret"])

    revoked = await client.post(REVOKE, data={"token": token}, auth=credentials)

    assert revoked.status_code == 200
    assert await introspect(client, resource_server, token) == {"active": False}


@pytest.mark.parametrize("endpoint", [REVOKE, INTROSPECT])
@pytest.mark.parametrize(
    "body",
    [{}, {"token": ["a", "b"]}, {"token": "x" * 5000}],
    ids=["no token", "token twice", "token too long"],
)
async def test_a_malformed_request_is_invalid_request(
    client: httpx.AsyncClient,
    resource_server: dict[str, Any],
    endpoint: str,
    body: dict[str, Any],
) -> None:
    credentials = (resource_server["client_id"], resource_server["client_secret"])

    response = await client.post(endpoint, data=body, auth=credentials)

    assert refusal(response) == "invalid_request"


@pytest.mark.parametrize("endpoint", [REVOKE, INTROSPECT])
async def test_a_body_that_is_not_a_form_is_invalid_request(
    client: httpx.AsyncClient, resource_server: dict[str, Any], endpoint: str
) -> None:
    credentials = (resource_server["client_id"], resource_server["client_secret"])

    response = await client.post(endpoint, json={"token": "x"}, auth=credentials)

    assert refusal(response) == "invalid_request"


async def test_revocation_is_audited(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    notes = await first_party(client, admin, type="public")
    issued = await tokens(client, notes)
    await client.post(
        REVOKE, data={"token": issued["access_token"], "client_id": notes["client_id"]}
    )

    events = await client.get(
        "/api/v1/audit-events", params={"type": "oauth_token.revoked"}, headers=admin
    )

    assert events.status_code == 200, events.text
    [event] = events.json()["items"]
    assert event["data"]["client_id"] == notes["client_id"]
    assert event["data"]["kind"] == "access_token"
