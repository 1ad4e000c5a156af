"""GET /.well-known/openid-configuration over HTTP: the metadata section 9 promises, every URL
under the issuer (PORTCULLIS_PUBLIC_URL, here with a path), and a relying party's library
(Authlib's) reading it and verifying an ID token through the jwks_uri it names."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from authlib.integrations.starlette_client import OAuth
from fastapi import FastAPI
from joserfc.errors import InvalidClaimError

from application.oidc_tokens import IdTokenClaims, UserClaims
from domain.auth_method import PASSWORD_ONLY
from domain.oauth_client import IdTokenAlgorithm
from entrypoints.container import Container

ISSUER = "https://id.example.org/portcullis"
DISCOVERY = "/.well-known/openid-configuration"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"public_url": ISSUER + "/"}  # the trailing slash is not the issuer's


async def metadata(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(DISCOVERY)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


async def test_discovery_names_every_endpoint_of_section_9_under_the_issuer(
    client: httpx.AsyncClient,
) -> None:
    document = await metadata(client)

    assert document["issuer"] == ISSUER
    assert {name: url for name, url in document.items() if name.endswith(("endpoint", "uri"))} == {
        "authorization_endpoint": f"{ISSUER}/oauth2/authorize",
        "token_endpoint": f"{ISSUER}/oauth2/token",
        "userinfo_endpoint": f"{ISSUER}/oauth2/userinfo",
        "revocation_endpoint": f"{ISSUER}/oauth2/revoke",
        "introspection_endpoint": f"{ISSUER}/oauth2/introspect",
        "end_session_endpoint": f"{ISSUER}/oauth2/logout",
        "jwks_uri": f"{ISSUER}/.well-known/jwks.json",
    }


async def test_discovery_says_what_the_provider_supports(client: httpx.AsyncClient) -> None:
    document = await metadata(client)

    assert document["scopes_supported"] == ["openid", "profile", "email", "offline_access"]
    assert document["response_types_supported"] == ["code"]
    assert document["response_modes_supported"] == ["query"]
    assert document["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert document["subject_types_supported"] == ["public"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256", "ES256", "EdDSA"]
    assert document["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    assert "none" not in document["introspection_endpoint_auth_methods_supported"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert {"sub", "iss", "auth_time", "nonce", "name", "updated_at", "email"} <= set(
        document["claims_supported"]
    )
    assert document["request_uri_parameter_supported"] is False


async def test_discovery_may_be_cached_for_an_hour_and_is_never_an_api_no_store(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(DISCOVERY)

    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert (await client.post(DISCOVERY)).status_code == 405


async def test_a_relying_partys_library_reads_the_metadata_and_verifies_an_id_token_with_it(
    app: FastAPI,
) -> None:
    """Authlib's client, as an application registers Portcullis: from the discovery URL alone.
    It fetches the JWKS from jwks_uri and checks the ID token's signature, issuer, audience,
    expiry and nonce."""
    container: Container = app.state.container
    now = container.clock().now()
    claims = IdTokenClaims(
        subject=uuid4(),
        client_id="the-client",
        session_id=uuid4(),
        issued_at=now,
        expires_at=now + timedelta(minutes=5),
        auth_time=now,
        amr=PASSWORD_ONLY,
        nonce="a-nonce",
        user=UserClaims(name="Ada", email="ada@example.com", email_verified=True),
    )
    id_token = await container.id_tokens().sign(claims, IdTokenAlgorithm.RS256)
    transport = httpx.ASGITransport(app=app)

    # Every URL of the document is under the issuer's host; the transport takes them to the app
    # after the issuer's path is taken off (the app itself is served at the root).
    async def to_the_app(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/portcullis")
        forwarded = httpx.Request(request.method, f"http://portcullis.test{path}")
        return await transport.handle_async_request(forwarded)

    oauth = OAuth()
    oauth.register(
        "portcullis",
        client_id="the-client",
        client_secret="unused-here",
        server_metadata_url=f"{ISSUER}{DISCOVERY}",
        client_kwargs={"transport": httpx.MockTransport(to_the_app)},
    )
    relying_party = oauth.create_client("portcullis")
    assert relying_party is not None

    read = await relying_party.load_server_metadata()
    user = await relying_party.parse_id_token({"id_token": id_token}, nonce="a-nonce")

    assert read["issuer"] == ISSUER
    assert (user["sub"], user["name"], user["email"]) == (
        str(claims.subject),
        "Ada",
        "ada@example.com",
    )
    with pytest.raises(InvalidClaimError, match="nonce"):
        await relying_party.parse_id_token({"id_token": id_token}, nonce="another-nonce")
