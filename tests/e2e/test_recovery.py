"""Password recovery and email verification over HTTP, with mail written to .eml files."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path

import httpx
from fastapi import FastAPI

from tests.e2e.conftest import PASSWORD, LogIn, SignUp, bearer

# The mail fixtures are imported by name, which is how pytest finds them in a module.
from tests.e2e.mail import delivered
from tests.e2e.mail import mail_dir as mail_dir
from tests.e2e.mail import settings_overrides as settings_overrides

FORGOT = "/api/v1/auth/password/forgot"
RESET = "/api/v1/auth/password/reset"
NEW_PASSWORD = "a freshly chosen passphrase"


def _token_in(message: EmailMessage, page: str) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    match = re.search(
        rf"https://auth\.example\.org/{page}\?token=([A-Za-z0-9_-]+)", body.get_content()
    )
    assert match, body.get_content()
    return match.group(1)


async def test_forgot_password_answers_the_same_whether_or_not_the_account_exists(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, mail_dir: Path
) -> None:
    await sign_up()
    known = await client.post(FORGOT, json={"email": "ADA@example.com"})
    unknown = await client.post(FORGOT, json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    messages = await delivered(app, mail_dir)
    assert [m["To"] for m in messages] == ["ada@example.com"]
    assert messages[0]["Subject"] == "Reset your password"


async def test_a_reset_link_sets_the_password_once_and_logs_out_everywhere(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn, mail_dir: Path
) -> None:
    await sign_up()
    old_session = bearer(await log_in())
    await client.post(FORGOT, json={"email": "ada@example.com"})
    token = _token_in((await delivered(app, mail_dir))[0], "reset-password")

    weak = await client.post(RESET, json={"token": token, "new_password": "password1"})
    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"
    done = await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})
    assert done.status_code == 204
    again = await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD + "!"})
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_or_expired_token"

    assert (await client.get("/api/v1/users/me", headers=old_session)).status_code == 401
    assert (await log_in(password=NEW_PASSWORD))["access_token"]
    old = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert old.status_code == 401


async def test_a_newer_reset_request_makes_the_older_link_useless(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, mail_dir: Path
) -> None:
    await sign_up()
    await client.post(FORGOT, json={"email": "ada@example.com"})
    await client.post(FORGOT, json={"email": "ada@example.com"})
    older, newer = (_token_in(m, "reset-password") for m in await delivered(app, mail_dir))
    stale = await client.post(RESET, json={"token": older, "new_password": NEW_PASSWORD})
    assert stale.json()["code"] == "invalid_or_expired_token"
    assert (
        await client.post(RESET, json={"token": newer, "new_password": NEW_PASSWORD})
    ).status_code == 204


async def test_reset_emails_are_quietly_throttled(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, mail_dir: Path
) -> None:
    await sign_up()
    answers = [await client.post(FORGOT, json={"email": "ada@example.com"}) for _ in range(6)]
    assert {a.status_code for a in answers} == {202}
    assert len({a.text for a in answers}) == 1
    assert len(await delivered(app, mail_dir)) == 3


async def test_garbage_reset_tokens_and_bodies_are_refused(client: httpx.AsyncClient) -> None:
    bad = await client.post(RESET, json={"token": "not-a-token", "new_password": NEW_PASSWORD})
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_or_expired_token"
    for body in [
        {"token": "x"},
        {"token": "", "new_password": NEW_PASSWORD},
        {"email": "a@b.co", "x": 1},
    ]:
        assert (await client.post(RESET, json=body)).status_code == 422
    assert (await client.post(FORGOT, json={"email": "not an email"})).status_code == 422


async def test_verifying_an_email_through_its_link(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn, mail_dir: Path
) -> None:
    await sign_up()
    auth = bearer(await log_in())
    assert (await client.post("/api/v1/auth/verify-email/request")).status_code == 401
    requested = await client.post("/api/v1/auth/verify-email/request", headers=auth)
    assert requested.status_code == 202
    (message,) = await delivered(app, mail_dir)
    assert message["Subject"] == "Confirm your email address"
    token = _token_in(message, "verify-email")

    assert (
        await client.post("/api/v1/auth/verify-email", json={"token": token})
    ).status_code == 204
    assert (await client.get("/api/v1/users/me", headers=auth)).json()["is_verified"] is True
    again = await client.post("/api/v1/auth/verify-email", json={"token": token})
    assert again.json()["code"] == "invalid_or_expired_token"

    # A verified address gets no more mail; a new address must be verified again.
    await client.post("/api/v1/auth/verify-email/request", headers=auth)
    assert len(await delivered(app, mail_dir)) == 1
    moved = await client.patch(
        "/api/v1/users/me",
        json={"email": "ada@new.example", "current_password": PASSWORD},
        headers=auth,
    )
    assert moved.json()["is_verified"] is False


async def test_a_verification_link_for_an_old_address_proves_nothing(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn, mail_dir: Path
) -> None:
    await sign_up()
    auth = bearer(await log_in())
    await client.post("/api/v1/auth/verify-email/request", headers=auth)
    token = _token_in((await delivered(app, mail_dir))[0], "verify-email")
    await client.patch(
        "/api/v1/users/me",
        json={"email": "ada@elsewhere.example", "current_password": PASSWORD},
        headers=auth,
    )
    response = await client.post("/api/v1/auth/verify-email", json={"token": token})
    assert response.status_code == 400
    assert (await client.get("/api/v1/users/me", headers=auth)).json()["is_verified"] is False


async def test_a_get_of_a_page_spends_no_token(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn, mail_dir: Path
) -> None:
    await sign_up()
    auth = bearer(await log_in())
    await client.post("/api/v1/auth/verify-email/request", headers=auth)
    token = _token_in((await delivered(app, mail_dir))[0], "verify-email")
    for _ in range(3):  # a link scanner, a preview, a curious person
        page = await client.get("/verify-email", params={"token": token})
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assert "default-src 'none'" in page.headers["content-security-policy"]
    assert (await client.get("/api/v1/users/me", headers=auth)).json()["is_verified"] is False
    confirmed = await client.post("/verify-email", data={"token": token})
    assert confirmed.status_code == 200
    assert "confirmed" in confirmed.text
    assert (await client.get("/api/v1/users/me", headers=auth)).json()["is_verified"] is True


async def test_pages_escape_what_they_are_given(client: httpx.AsyncClient) -> None:
    page = await client.get("/reset-password", params={"token": '"><script>alert(1)</script>'})
    assert "<script>" not in page.text
    assert "&#34;&gt;&lt;script&gt;" in page.text or "&quot;&gt;&lt;script&gt;" in page.text
    missing = await client.get("/reset-password")
    assert missing.status_code == 400
