"""GET /.well-known/jwks.json over HTTP, for every signing algorithm the service supports and
across a rotation: the contract's shape ({"keys": [JWK, ...]}, public members only), an active
key of every algorithm (RS256 for OpenID Connect beside the API's), and what a relying service
does with it (PyJWT's PyJWKSet) verifies the tokens."""

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


async def rotate_keys(database_url: str) -> dict[str, str]:
    """What `portcullis keys rotate` does; the new kid of each algorithm."""
    container = build_container(settings_for(database_url))
    try:
        new_keys = await container.rotate_signing_key().execute(RotateSigningKeyCommand())
    finally:
        await container.database().aclose()
    return {key.algorithm: key.kid for key in new_keys}


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

    assert sorted(jwk["alg"] for jwk in jwks["keys"]) == sorted(ALGORITHMS)
    (jwk,) = (jwk for jwk in jwks["keys"] if jwk["alg"] == algorithm)
    assert jwk["kid"] == jwt.get_unverified_header(token)["kid"]
    assert verify_with(jwks, token)["role"] == "user"


@pytest.mark.parametrize(
    ("before", "after"), [("ES256", "RS256"), ("RS256", "EdDSA"), ("EdDSA", "ES256")]
)
async def test_after_a_rotation_and_a_change_of_algorithm_old_and_new_keys_verify(
    database_url: str, before: str, after: str
) -> None:
    """The operator rotates the keys, then restarts the service with another algorithm set:
    tokens signed before the rotation keep verifying, against the server and against the
    published JWKS, until they expire; the JWKS holds the retired keys and the new ones."""
    async with serving(database_url, before) as client:
        await sign_up(client)
        old_token = await access_token(client)
        old_jwks = await published_jwks(client)
    new_kids = await rotate_keys(database_url)

    async with serving(database_url, after) as client:
        new_token = await access_token(client)
        jwks = await published_jwks(client)
        for token in (old_token, new_token):
            me = await client.get("/api/v1/users/me", headers=bearer({"access_token": token}))
            assert me.status_code == 200, me.text

    assert jwt.get_unverified_header(new_token)["kid"] == new_kids[after]
    assert {(jwk["kid"], jwk["alg"]) for jwk in jwks["keys"]} == {
        (jwk["kid"], jwk["alg"]) for jwk in old_jwks["keys"]
    } | {(kid, algorithm) for algorithm, kid in new_kids.items()}
    for token in (old_token, new_token):
        assert verify_with(jwks, token)["iss"] == "portcullis"


async def test_changing_the_algorithm_needs_no_rotation(database_url: str) -> None:
    """Every algorithm has its active key already: a restart with another one signs with it,
    and the tokens of the first keep verifying."""
    async with serving(database_url, "ES256") as client:
        await sign_up(client)
        es256_token = await access_token(client)

    async with serving(database_url, "EdDSA") as client:
        eddsa_token = await access_token(client)
        jwks = await published_jwks(client)
        me = await client.get("/api/v1/users/me", headers=bearer({"access_token": es256_token}))

    assert me.status_code == 200, me.text
    assert jwt.get_unverified_header(eddsa_token)["alg"] == "EdDSA"
    assert len(jwks["keys"]) == len(ALGORITHMS)
    for token in (es256_token, eddsa_token):
        assert verify_with(jwks, token)["sub"]
