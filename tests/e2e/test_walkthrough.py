"""The README's walk-through, as a test: sign up, log in, read and edit the profile."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import LogIn, SignUp, bearer


async def test_signup_login_read_and_edit_profile(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    user = await sign_up(email="  Ada@Example.COM ", name="Ada")
    assert user["email"] == "ada@example.com"
    tokens = await log_in(email="ADA@example.com")

    me = await client.get("/api/v1/users/me", headers=bearer(tokens))
    assert me.status_code == 200
    assert me.json() == user

    patched = await client.patch(
        "/api/v1/users/me", json={"name": "Ada Lovelace"}, headers=bearer(tokens)
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Ada Lovelace"
    assert patched.json()["email"] == "ada@example.com"
