"""The OpenID provider's tokens as the world sees them, through the running app: verified by an
independent JOSE library (jwcrypto) against the JWKS published over HTTP, and an access token
issued to a client refused by /api/v1 even for a real account and session."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import jwt
import pytest
from fastapi import FastAPI

from application.oidc_tokens import IdTokenClaims, OAuthAccessTokenClaims, UserClaims
from domain.auth_method import PASSWORD_ONLY
from domain.oauth_client import IdTokenAlgorithm
from entrypoints.container import Container
from tests.e2e.conftest import LogIn, SignUp
from tests.jose import verify_independently

ISSUER = "https://id.example.org"
CLIENT_ID = "an-application"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"public_url": ISSUER}


def container_of(app: FastAPI) -> Container:
    container: Container = app.state.container
    return container


async def published_jwks(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    jwks: dict[str, Any] = response.json()
    return jwks


async def an_account_signed_in(sign_up: SignUp, log_in: LogIn) -> tuple[UUID, UUID]:
    """The user id and session id of a real login."""
    await sign_up()
    claims = jwt.decode((await log_in())["access_token"], options={"verify_signature": False})
    return UUID(claims["sub"]), UUID(claims["sid"])


@pytest.mark.parametrize("algorithm", list(IdTokenAlgorithm))
async def test_an_id_token_verifies_with_the_published_jwks_by_an_independent_library(
    app: FastAPI, client: httpx.AsyncClient, algorithm: IdTokenAlgorithm
) -> None:
    container = container_of(app)
    now = container.clock().now()
    subject = uuid4()
    claims = IdTokenClaims(
        subject=subject,
        client_id=CLIENT_ID,
        session_id=uuid4(),
        issued_at=now,
        expires_at=now + timedelta(minutes=15),
        auth_time=now,
        amr=PASSWORD_ONLY,
        nonce="n",
        user=UserClaims(updated_at=now),
    )
    id_token = await container.id_tokens().sign(claims, algorithm)

    header, verified = verify_independently(
        id_token,
        await published_jwks(client),
        algorithm=algorithm.value,
        iss=ISSUER,
        aud=CLIENT_ID,
        sub=str(subject),
    )

    assert header["typ"] == "JWT"
    assert verified["updated_at"] == int(now.timestamp())


async def test_an_oauth_access_token_verifies_with_the_published_jwks_as_rs256(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    container = container_of(app)
    now = container.clock().now().replace(microsecond=0)  # a JWT's times are whole seconds
    claims = OAuthAccessTokenClaims(
        subject=uuid4(),
        client_id=CLIENT_ID,
        scope=("openid", "email"),
        token_id=uuid4(),
        session_id=uuid4(),
        issued_at=now,
        expires_at=now + timedelta(minutes=15),
    )
    token = await container.oauth_access_tokens().issue(claims)

    header, verified = verify_independently(
        token, await published_jwks(client), algorithm="RS256", iss=ISSUER, aud=CLIENT_ID
    )

    assert header["typ"] == "at+jwt"
    assert (verified["client_id"], verified["scope"]) == (CLIENT_ID, "openid email")
    assert await container.oauth_access_tokens().verify(token) == claims


async def test_the_api_answers_401_to_an_access_token_issued_to_a_client(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    """Same person, same live session, same keys: only the kind of token differs."""
    user_id, session_id = await an_account_signed_in(sign_up, log_in)
    container = container_of(app)
    now = container.clock().now()
    token = await container.oauth_access_tokens().issue(
        OAuthAccessTokenClaims(
            subject=user_id,
            client_id=CLIENT_ID,
            scope=("openid", "profile", "email"),
            token_id=uuid4(),
            session_id=session_id,
            issued_at=now,
            expires_at=now + timedelta(minutes=15),
        )
    )

    response = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_an_id_token_is_no_bearer_token_for_the_api_either(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    user_id, session_id = await an_account_signed_in(sign_up, log_in)
    container = container_of(app)
    now = container.clock().now()
    id_token = await container.id_tokens().sign(
        IdTokenClaims(
            subject=user_id,
            client_id="portcullis",  # even with the API's audience
            session_id=session_id,
            issued_at=now,
            expires_at=now + timedelta(minutes=15),
            auth_time=now,
            amr=PASSWORD_ONLY,
        ),
        IdTokenAlgorithm.ES256,
    )

    response = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {id_token}"})

    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_token"
