from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.e2e.conftest import PASSWORD, LogIn, SignUp, bearer, set_active

ME = "/api/v1/users/me"
NEW_PASSWORD = "a brand new passphrase"


async def test_reading_me_needs_a_bearer_token(client: httpx.AsyncClient) -> None:
    response = await client.get(ME)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "not_authenticated"


async def test_a_token_is_read_from_the_header_only(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    tokens = await log_in()
    in_query = await client.get(ME, params={"access_token": tokens["access_token"]})
    assert in_query.status_code == 401
    basic = await client.get(ME, headers={"Authorization": "Basic YWRhOnB3"})
    assert basic.json()["code"] == "not_authenticated"


async def test_a_forged_or_garbled_token_is_invalid_token(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    token = (await log_in())["access_token"]
    header, payload, signature = token.split(".")
    for bad in ["garbage", f"{header}.{payload}.{signature[::-1]}", f"{header}.{payload}."]:
        response = await client.get(ME, headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_token"
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up(name="Ada")
    auth = bearer(await log_in())
    renamed = await client.patch(ME, json={"name": "Countess"}, headers=auth)
    assert renamed.json()["name"] == "Countess"
    unchanged = await client.patch(ME, json={}, headers=auth)
    assert unchanged.json()["name"] == "Countess"
    cleared = await client.patch(ME, json={"name": None}, headers=auth)
    assert cleared.status_code == 200
    assert cleared.json()["name"] is None


async def test_patch_email_is_normalised_and_must_be_free(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up(email="taken@example.com")
    await sign_up()
    auth = bearer(await log_in())
    moved = await client.patch(
        ME, json={"email": " Ada@New.example ", "current_password": PASSWORD}, headers=auth
    )
    assert moved.status_code == 200
    assert moved.json()["email"] == "ada@new.example"
    assert moved.json()["is_verified"] is False
    taken = await client.patch(
        ME, json={"email": "TAKEN@example.com", "current_password": PASSWORD}, headers=auth
    )
    assert taken.status_code == 409
    assert taken.json()["code"] == "email_taken"
    null = await client.patch(ME, json={"email": None}, headers=auth)
    assert null.status_code == 422
    assert (await client.get(ME, headers=auth)).json()["email"] == "ada@new.example"


async def test_a_new_email_takes_the_current_password(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up(name="Ada")
    auth = bearer(await log_in())

    missing = await client.patch(
        ME, json={"name": "Countess", "email": "ada@new.example"}, headers=auth
    )
    assert missing.status_code == 422
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "validation_error"
    assert [error["loc"] for error in missing.json()["errors"]] == [["body", "current_password"]]
    null = await client.patch(
        ME, json={"email": "ada@new.example", "current_password": None}, headers=auth
    )
    assert null.status_code == 422
    wrong = await client.patch(
        ME, json={"email": "ada@new.example", "current_password": "not the password"}, headers=auth
    )
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "invalid_current_password"
    assert "not the password" not in wrong.text
    unchanged = (await client.get(ME, headers=auth)).json()
    assert (unchanged["email"], unchanged["name"]) == ("ada@example.com", "Ada")

    moved = await client.patch(
        ME,
        json={"name": "Countess", "email": "ada@new.example", "current_password": PASSWORD},
        headers=auth,
    )
    assert moved.status_code == 200
    assert (moved.json()["email"], moved.json()["name"]) == ("ada@new.example", "Countess")


async def test_an_edit_that_keeps_the_email_needs_no_password(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up(name="Ada")
    auth = bearer(await log_in())

    renamed = await client.patch(ME, json={"name": "Countess"}, headers=auth)
    same = await client.patch(ME, json={"email": "ADA@example.com"}, headers=auth)

    assert (renamed.status_code, same.status_code) == (200, 200)
    assert same.json()["email"] == "ada@example.com"


async def test_patch_refuses_fields_a_user_may_not_set(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    auth = bearer(await log_in())
    for field, value in [
        ("role", "admin"),
        ("is_verified", True),
        ("is_active", True),
        ("id", "x"),
    ]:
        response = await client.patch(ME, json={field: value}, headers=auth)
        assert response.status_code == 422, field
    me = (await client.get(ME, headers=auth)).json()
    assert me["role"] == "user"
    assert me["is_verified"] is False


async def test_changing_the_password_revokes_every_other_session(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    here = bearer(await log_in())
    elsewhere = bearer(await log_in())
    response = await client.put(
        f"{ME}/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=here,
    )
    assert response.status_code == 204
    assert (await client.get(ME, headers=here)).status_code == 200
    revoked = await client.get(ME, headers=elsewhere)
    assert revoked.status_code == 401
    assert revoked.json()["code"] == "invalid_token"
    assert (await log_in(password=NEW_PASSWORD))["access_token"]
    old = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert old.status_code == 401


async def test_changing_the_password_needs_the_current_one_and_a_strong_new_one(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    auth = bearer(await log_in())
    wrong = await client.put(
        f"{ME}/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers=auth,
    )
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "invalid_current_password"
    weak = await client.put(
        f"{ME}/password",
        json={"current_password": PASSWORD, "new_password": "123456789"},
        headers=auth,
    )
    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"
    assert (await log_in())["access_token"]  # the old password still works


async def test_deleting_the_account_needs_the_password_then_frees_the_email(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    auth = bearer(await log_in())
    other_device = bearer(await log_in())
    wrong = await client.request("DELETE", ME, json={"password": "not my password"}, headers=auth)
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "invalid_current_password"

    deleted = await client.request("DELETE", ME, json={"password": PASSWORD}, headers=auth)
    assert deleted.status_code == 204
    for token in (auth, other_device):
        gone = await client.get(ME, headers=token)
        assert gone.status_code == 401
        assert gone.json()["code"] == "invalid_token"
    again = await sign_up()
    assert again["email"] == "ada@example.com"


async def test_a_deactivated_users_token_stops_working_at_once(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    user = await sign_up()
    auth = bearer(await log_in())
    await set_active(app, user["id"], active=False)
    response = await client.get(ME, headers=auth)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
