from __future__ import annotations

import httpx
import jwt
from fastapi import FastAPI

from tests.e2e.conftest import PASSWORD, LogIn, SignUp, bearer, set_active

LOGIN = "/api/v1/auth/login"


async def test_login_returns_a_token_pair_that_is_never_cached(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    response = await client.post(LOGIN, json={"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    pair = response.json()
    assert set(pair) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
    }
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 900
    assert pair["refresh_expires_in"] == 2_592_000
    assert len(pair["refresh_token"]) >= 43  # 256 bits, base64url


async def test_access_token_is_a_jwt_verifiable_with_the_published_jwks(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    user = await sign_up()
    pair = await log_in()
    jwks = (await client.get("/.well-known/jwks.json")).json()
    header = jwt.get_unverified_header(pair["access_token"])
    assert header["alg"] == "ES256"
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    claims = jwt.decode(
        pair["access_token"],
        key.key,
        algorithms=["ES256"],
        audience="portcullis",
        issuer="portcullis",
    )
    assert claims["sub"] == user["id"]
    assert claims["role"] == "user"
    assert {"sid", "jti", "iat", "exp"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 900


async def test_unknown_email_and_wrong_password_get_the_same_answer(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    wrong = await client.post(
        LOGIN, json={"email": "ada@example.com", "password": "wrong-password"}
    )
    unknown = await client.post(
        LOGIN, json={"email": "bob@example.com", "password": "wrong-password"}
    )
    malformed = await client.post(LOGIN, json={"email": "not an email", "password": "x"})
    for response in (wrong, unknown, malformed):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    bodies = [{**r.json(), "request_id": None} for r in (wrong, unknown, malformed)]
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0]["code"] == "invalid_credentials"


async def test_a_deactivated_account_with_the_right_password_is_told_so(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    user = await sign_up()
    await set_active(app, user["id"], active=False)
    response = await client.post(LOGIN, json={"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert response.json()["code"] == "account_disabled"
    wrong = await client.post(LOGIN, json={"email": "ada@example.com", "password": "wrong-pass"})
    assert wrong.json()["code"] == "invalid_credentials"


async def test_the_oauth2_form_endpoint_logs_in_as_the_docs_authorize_button_does(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    response = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "password",
            "username": "ada@example.com",
            "password": PASSWORD,
            "scope": "",
            "client_id": "",
            "client_secret": "",
        },
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    me = await client.get("/api/v1/users/me", headers=bearer(response.json()))
    assert me.status_code == 200


async def test_the_form_endpoint_refuses_unknown_fields_and_wrong_passwords(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    extra = await client.post(
        "/api/v1/auth/token",
        data={"username": "ada@example.com", "password": PASSWORD, "role": "admin"},
    )
    assert extra.status_code == 422
    wrong = await client.post(
        "/api/v1/auth/token", data={"username": "ada@example.com", "password": "nope-nope"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_credentials"


async def test_login_records_the_device_on_the_session(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    user = await sign_up()
    response = await client.post(
        LOGIN,
        json={"email": "ada@example.com", "password": PASSWORD},
        headers={"user-agent": "curl/8.0"},
    )
    assert response.status_code == 200
    from sqlalchemy import select

    from adapters.persistence.tables import sessions

    engine = app.state.container.database().engine
    async with engine.connect() as connection:
        row = (await connection.execute(select(sessions))).one()
    assert str(row.user_id) == user["id"]
    assert row.user_agent == "curl/8.0"
    assert row.ip == "203.0.113.7"
    assert response.json()["refresh_token"] not in row.refresh_token_hash
