"""GET /.well-known/jwks.json over HTTP, for every signing algorithm the service supports and
across a rotation to another algorithm: the contract's shape ({"keys": [JWK, ...]}, public
members only), and what a relying service does with it (PyJWT's PyJWKSet) verifies the tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager

from application.use_cases.rotate_signing_key import RotateSigningKeyCommand
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from tests.e2e.conftest import PASSWORD, bearer, settings_for

JWKS = "/.well-known/jwks.json"
ALGORITHMS = ["ES256", "EdDSA", "RS256"]
KEY_TYPES = {"ES256": "EC", "EdDSA": "OKP", "RS256": "RSA"}
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@asynccontextmanager
async def serving(database_url: str, algorithm: str) -> AsyncIterator[httpx.AsyncClient]:
    """One replica configured with this algorithm, started and stopped as a server would be."""
    async with AsyncExitStack() as stack:
        app = create_app(build_container(settings_for(database_url, jwt_algorithm=algorithm)))
        await stack.enter_async_context(LifespanManager(app))
        yield await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        )


async def rotate_keys(database_url: str, algorithm: str) -> str:
    """What `PORTCULLIS_JWT_ALGORITHM=<algorithm> portcullis keys rotate` does; the new kid."""
    container = build_container(settings_for(database_url, jwt_algorithm=algorithm))
    try:
        return (await container.rotate_signing_key().execute(RotateSigningKeyCommand())).kid
    finally:
        await container.database().aclose()


async def access_token(client: httpx.AsyncClient) -> str:
    response = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def sign_up(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/signup", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert response.status_code == 201, response.text


async def published_jwks(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(JWKS)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert list(body) == ["keys"]
    for jwk in body["keys"]:
        assert not PRIVATE_JWK_MEMBERS & set(jwk), jwk
        assert jwk["use"] == "sig"
        assert jwk["kty"] == KEY_TYPES[jwk["alg"]]
        assert isinstance(jwk["kid"], str)
    return body


def verify_with(jwks: dict[str, Any], token: str) -> dict[str, Any]:
    """As a relying service verifies: the key named by the token's kid, its own algorithm."""
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=[key.algorithm_name], audience="portcullis", issuer="portcullis"
    )
    return claims


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_the_jwks_of_each_algorithm_publishes_the_key_that_verifies_its_tokens(
    database_url: str, algorithm: str
) -> None:
    async with serving(database_url, algorithm) as client:
        await sign_up(client)
        token = await access_token(client)

        jwks = await published_jwks(client)

    (jwk,) = jwks["keys"]
    assert jwk["alg"] == algorithm
    assert jwk["kid"] == jwt.get_unverified_header(token)["kid"]
    assert verify_with(jwks, token)["role"] == "user"


@pytest.mark.parametrize(
    ("before", "after"), [("ES256", "RS256"), ("RS256", "EdDSA"), ("EdDSA", "ES256")]
)
async def test_after_a_rotation_to_another_algorithm_both_keys_are_published_and_verify(
    database_url: str, before: str, after: str
) -> None:
    """The operator rotates the keys with the new algorithm set, then restarts the service
    with it: tokens signed before the rotation keep verifying, against the server and against
    the published JWKS, until they expire."""
    async with serving(database_url, before) as client:
        await sign_up(client)
        old_token = await access_token(client)
    new_kid = await rotate_keys(database_url, after)

    async with serving(database_url, after) as client:
        new_token = await access_token(client)
        jwks = await published_jwks(client)
        for token in (old_token, new_token):
            me = await client.get("/api/v1/users/me", headers=bearer({"access_token": token}))
            assert me.status_code == 200, me.text

    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    assert {(jwk["kid"], jwk["alg"]) for jwk in jwks["keys"]} == {
        (jwt.get_unverified_header(old_token)["kid"], before),
        (new_kid, after),
    }
    for token in (old_token, new_token):
        assert verify_with(jwks, token)["iss"] == "portcullis"
