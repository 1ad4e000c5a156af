"""Security notices over HTTP: the changes are made through the API, the mail dispatcher runs, and
the notices are the .eml files it wrote."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path

import httpx
import pyotp
from fastapi import FastAPI

from tests.e2e.conftest import PASSWORD, LogIn, SignUp, bearer

# The mail fixtures are imported by name, which is how pytest finds them in a module.
from tests.e2e.mail import delivered
from tests.e2e.mail import mail_dir as mail_dir
from tests.e2e.mail import settings_overrides as settings_overrides

ME = "/api/v1/users/me"
NEW_PASSWORD = "a freshly chosen passphrase"


def contents(message: EmailMessage) -> str:
    """The plain text and the HTML of the message, together."""
    parts = [message.get_body((kind,)) for kind in ("plain", "html")]
    return "\n".join(part.get_content() for part in parts if part is not None)


async def test_a_password_change_and_an_email_change_are_mailed_to_the_account(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn, mail_dir: Path
) -> None:
    await sign_up()
    auth = bearer(await log_in())

    changed = await client.put(
        f"{ME}/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=auth,
    )
    assert changed.status_code == 204
    refused = await client.patch(
        ME, json={"email": "ada@new.example", "current_password": PASSWORD}, headers=auth
    )
    assert refused.json()["code"] == "invalid_current_password"
    moved = await client.patch(
        ME, json={"email": "ada@new.example", "current_password": NEW_PASSWORD}, headers=auth
    )
    assert moved.status_code == 200

    messages = await delivered(app, mail_dir)
    assert sorted((m["To"], m["Subject"]) for m in messages) == [
        ("ada@example.com", "The email address of your account was changed"),
        ("ada@example.com", "Your password was changed"),
    ]
    for message in messages:
        text = contents(message)
        assert " UTC" in text
        assert "Forgot password" in text or "administrator" in text
        assert PASSWORD not in text
        assert NEW_PASSWORD not in text
        assert "ada@new.example" not in text


async def test_a_password_reset_is_mailed_without_the_link_that_made_it(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, mail_dir: Path
) -> None:
    await sign_up()
    await client.post("/api/v1/auth/password/forgot", json={"email": "ada@example.com"})
    [link_mail] = await delivered(app, mail_dir)
    plain = link_mail.get_body(("plain",))
    assert plain is not None
    match = re.search(r"/reset-password\?token=([A-Za-z0-9_-]+)", plain.get_content())
    assert match
    token = match.group(1)

    reset = await client.post(
        "/api/v1/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert reset.status_code == 204

    [notice] = [m for m in await delivered(app, mail_dir) if m["Subject"] != link_mail["Subject"]]
    assert (notice["To"], notice["Subject"]) == ("ada@example.com", "Your password was reset")
    assert token not in contents(notice)
    assert NEW_PASSWORD not in contents(notice)


async def test_turning_totp_on_and_off_is_mailed_without_the_secret_or_the_codes(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn, mail_dir: Path
) -> None:
    await sign_up()
    auth = bearer(await log_in())
    setup = await client.post(f"{ME}/mfa/totp", json={"current_password": PASSWORD}, headers=auth)
    secret = setup.json()["secret"]
    confirmed = await client.post(
        f"{ME}/mfa/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=auth
    )
    codes = confirmed.json()["recovery_codes"]
    off = await client.request(
        "DELETE",
        f"{ME}/mfa/totp",
        json={"current_password": PASSWORD, "code": codes[0]},
        headers=auth,
    )
    assert off.status_code == 204

    messages = await delivered(app, mail_dir)
    assert [m["To"] for m in messages] == ["ada@example.com", "ada@example.com"]
    assert len({m["Subject"] for m in messages}) == 2
    for message in messages:
        text = contents(message)
        assert secret not in text
        assert not any(code in text for code in codes)
