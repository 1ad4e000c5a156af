from __future__ import annotations

import asyncio

import httpx

from tests.e2e.conftest import PASSWORD, SignUp

SIGNUP = "/api/v1/auth/signup"


async def test_signup_creates_the_user_and_points_to_it(client: httpx.AsyncClient) -> None:
    response = await client.post(
        SIGNUP, json={"email": " Grace@Example.org", "password": PASSWORD, "name": "Grace"}
    )
    assert response.status_code == 201
    user = response.json()
    assert response.headers["location"] == f"/api/v1/users/{user['id']}"
    assert set(user) == {
        "id",
        "email",
        "name",
        "role",
        "is_active",
        "is_verified",
        "mfa_enabled",
        "created_at",
        "updated_at",
    }
    assert user["email"] == "grace@example.org"
    assert user["role"] == "user"
    assert user["is_active"] is True
    assert user["is_verified"] is False
    assert user["created_at"].endswith(("Z", "+00:00"))
    assert "password" not in response.text
    assert PASSWORD not in response.text


async def test_an_email_is_taken_whatever_its_case(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up(email="ada@example.com")
    response = await client.post(SIGNUP, json={"email": "ADA@Example.com", "password": PASSWORD})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "email_taken"


async def test_concurrent_signups_with_one_email_give_one_201_and_the_rest_409(
    client: httpx.AsyncClient,
) -> None:
    responses = await asyncio.gather(
        *(
            client.post(SIGNUP, json={"email": f"{case}@example.com", "password": PASSWORD})
            for case in ["race", "RACE", "Race", "rAce", "raCe"] * 3
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 14
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"email_taken"}


async def test_weak_passwords_are_refused_with_weak_password(client: httpx.AsyncClient) -> None:
    for password in ["short1", "password123", "Password", "eve@example.com", "x" * 257]:
        response = await client.post(
            SIGNUP, json={"email": "eve@example.com", "password": password}
        )
        assert response.status_code == 422, password
        body = response.json()
        assert body["code"] == "weak_password"
        assert body["errors"]
        assert password not in response.text
    assert (
        await client.post(SIGNUP, json={"email": "eve@example.com", "password": PASSWORD})
    ).status_code == 201


async def test_passwords_differing_only_after_72_bytes_are_different(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    prefix = "a-long-passphrase-" * 5  # 90 characters
    await sign_up(email="long@example.com", password=prefix + "one")
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": "long@example.com", "password": prefix + "two"}
    )
    right = await client.post(
        "/api/v1/auth/login", json={"email": "long@example.com", "password": prefix + "one"}
    )
    assert wrong.status_code == 401
    assert right.status_code == 200


async def test_malformed_emails_are_validation_errors(client: httpx.AsyncClient) -> None:
    for email in [
        "Eve <eve@example.com>",
        "eve@example.com\x00",
        "eve\n@example.com",
        "not-an-email",
        "eve@localhost",
        "a" * 250 + "@example.com",
        "",
    ]:
        response = await client.post(SIGNUP, json={"email": email, "password": PASSWORD})
        assert response.status_code == 422, email
        body = response.json()
        assert body["code"] == "validation_error"
        assert body["errors"][0]["loc"] == ["body", "email"]
        assert set(body["errors"][0]) == {"loc", "message", "type"}


async def test_unknown_fields_are_refused_so_nobody_signs_up_as_admin(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        SIGNUP, json={"email": "mallory@example.com", "password": PASSWORD, "role": "admin"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["loc"] == ["body", "role"]


async def test_a_validation_error_never_repeats_the_password(client: httpx.AsyncClient) -> None:
    secret = "my secret passphrase"
    response = await client.post(
        SIGNUP, json={"email": "bad", "password": secret, "name": "n" * 101, "extra": secret}
    )
    assert response.status_code == 422
    assert secret not in response.text
    assert "n" * 101 not in response.text


async def test_malformed_json_is_a_validation_error(client: httpx.AsyncClient) -> None:
    response = await client.post(
        SIGNUP, content=b'{"email": "x@example.com", ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"


async def test_names_are_one_to_a_hundred_printable_characters(client: httpx.AsyncClient) -> None:
    for name in ["", "n" * 101, "bell\x07"]:
        response = await client.post(
            SIGNUP, json={"email": "nina@example.com", "password": PASSWORD, "name": name}
        )
        assert response.status_code == 422, repr(name)
        assert response.json()["errors"][0]["loc"] == ["body", "name"]
    ok = await client.post(
        SIGNUP, json={"email": "nina@example.com", "password": PASSWORD, "name": "Ниной ✓"}
    )
    assert ok.status_code == 201
