"""Forged and stale access tokens, over HTTP: each one is 401 `invalid_token` with a Bearer
challenge on GET /api/v1/users/me (contract §2, §4).

Where a forgery needs the real key (an expired token, a wrong issuer, a missing claim) the test
reads it from the database the app uses, so the refusal comes from the claims alone and not from
a bad signature. A control test proves such home-made tokens pass when nothing is wrong."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI

from tests.e2e.conftest import PASSWORD, LogIn, SignUp, bearer

ME = "/api/v1/users/me"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    return header, payload


async def stored_key(app: FastAPI) -> tuple[str, str, str]:
    """(kid, algorithm, private PEM) of the key the app signs with, straight from its database."""
    async with app.state.container.unit_of_work() as uow:
        keys = await uow.signing_keys.list()
    active = next(key for key in keys if key.is_active)
    return active.kid, active.algorithm, active.private_key_pem


async def sign_with_real_key(app: FastAPI, payload: dict[str, Any], **header_overrides: Any) -> str:
    kid, algorithm, pem = await stored_key(app)
    header = {"kid": kid, "typ": "at+jwt", **header_overrides}
    header = {name: value for name, value in header.items() if value is not None}
    return jwt.encode(payload, pem, algorithm=algorithm, headers=header)


async def assert_invalid_token(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.fixture
async def tokens(sign_up: SignUp, log_in: LogIn) -> dict[str, Any]:
    await sign_up()
    return await log_in()


@pytest.fixture
def genuine(tokens: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a token the server issued: the base of every forgery."""
    return unverified_parts(tokens["access_token"])


def claims(genuine: tuple[dict[str, Any], dict[str, Any]], **changes: Any) -> dict[str, Any]:
    """The genuine claims with some changed (a value of None removes the claim)."""
    payload = {**genuine[1], **changes}
    return {name: value for name, value in payload.items() if value is not None}


async def test_control_a_token_signed_with_the_real_key_and_fresh_claims_is_accepted(
    app: FastAPI,
    client: httpx.AsyncClient,
    genuine: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    now = int(time.time())
    token = await sign_with_real_key(app, claims(genuine, iat=now, exp=now + 300))

    response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
async def test_alg_none(
    client: httpx.AsyncClient, genuine: tuple[dict[str, Any], dict[str, Any]], alg: str
) -> None:
    header = {**genuine[0], "alg": alg}
    unsigned = f"{b64url_json(header)}.{b64url_json(genuine[1])}."

    await assert_invalid_token(client, unsigned)


async def _public_key_variants(client: httpx.AsyncClient, kid: str) -> dict[str, bytes]:
    jwks = (await client.get("/.well-known/jwks.json")).json()
    jwk = next(key for key in jwks["keys"] if key["kid"] == kid)
    pem = jwt.PyJWK(jwk).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "pem": pem,
        "pem-without-trailing-newline": pem.rstrip(b"\n"),
        "jwk-json": json.dumps(jwk).encode(),
        "jwk-json-compact": json.dumps(jwk, separators=(",", ":")).encode(),
    }


@pytest.mark.parametrize(
    "variant", ["pem", "pem-without-trailing-newline", "jwk-json", "jwk-json-compact"]
)
async def test_hs256_signed_with_the_servers_public_key(
    client: httpx.AsyncClient, genuine: tuple[dict[str, Any], dict[str, Any]], variant: str
) -> None:
    """The algorithm-confusion attack: the public key, as an HMAC secret."""
    header = {**genuine[0], "alg": "HS256"}
    secret = (await _public_key_variants(client, header["kid"]))[variant]
    message = f"{b64url_json(header)}.{b64url_json(genuine[1])}"
    signature = hmac.new(secret, message.encode(), hashlib.sha256).digest()

    await assert_invalid_token(client, f"{message}.{b64url(signature)}")


async def test_unknown_kid(
    app: FastAPI, client: httpx.AsyncClient, genuine: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    token = await sign_with_real_key(app, claims(genuine), kid="no-such-key")

    await assert_invalid_token(client, token)


async def test_missing_kid(
    app: FastAPI, client: httpx.AsyncClient, genuine: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    token = await sign_with_real_key(app, claims(genuine), kid=None)

    await assert_invalid_token(client, token)


async def test_tampered_payload_with_the_original_signature(
    client: httpx.AsyncClient, tokens: dict[str, Any]
) -> None:
    header_part, _, signature = tokens["access_token"].split(".")
    escalated = claims(unverified_parts(tokens["access_token"]), role="admin")

    await assert_invalid_token(client, f"{header_part}.{b64url_json(escalated)}.{signature}")


async def test_expired_beyond_the_leeway(
    app: FastAPI, client: httpx.AsyncClient, genuine: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    now = int(time.time())
    token = await sign_with_real_key(app, claims(genuine, iat=now - 940, exp=now - 40))

    await assert_invalid_token(client, token)


async def test_not_yet_valid(
    app: FastAPI, client: httpx.AsyncClient, genuine: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    future = int(time.time()) + 60
    token = await sign_with_real_key(app, claims(genuine, iat=future, nbf=future, exp=future + 900))

    await assert_invalid_token(client, token)


async def test_wrong_issuer(
    app: FastAPI, client: httpx.AsyncClient, genuine: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    token = await sign_with_real_key(app, claims(genuine, iss="https://evil.example"))

    await assert_invalid_token(client, token)


async def test_wrong_audience(
    app: FastAPI, client: httpx.AsyncClient, genuine: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    token = await sign_with_real_key(app, claims(genuine, aud="another-service"))

    await assert_invalid_token(client, token)


async def test_missing_sid(
    app: FastAPI, client: httpx.AsyncClient, genuine: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    token = await sign_with_real_key(app, claims(genuine, sid=None))

    await assert_invalid_token(client, token)


async def test_missing_jti(
    app: FastAPI, client: httpx.AsyncClient, genuine: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    token = await sign_with_real_key(app, claims(genuine, jti=None))

    await assert_invalid_token(client, token)


async def test_another_ec_key_claiming_the_real_kid(
    client: httpx.AsyncClient, genuine: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    header, payload = genuine
    impostor = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(payload, impostor, algorithm="ES256", headers=header)

    await assert_invalid_token(client, token)


async def test_token_of_a_revoked_session(
    client: httpx.AsyncClient, tokens: dict[str, Any]
) -> None:
    logout = await client.post("/api/v1/auth/logout", headers=bearer(tokens))
    assert logout.status_code == 204

    await assert_invalid_token(client, tokens["access_token"])


async def test_token_of_a_deleted_user(client: httpx.AsyncClient, tokens: dict[str, Any]) -> None:
    deleted = await client.request(
        "DELETE", ME, headers=bearer(tokens), json={"password": PASSWORD}
    )
    assert deleted.status_code == 204

    await assert_invalid_token(client, tokens["access_token"])
