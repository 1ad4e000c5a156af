"""Security notices over HTTP: the changes are made through the API, the mail dispatcher runs, and
the notices are the .eml files it wrote."""

from __future__ import annotations

import email.policy
import re
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from application.use_cases.dispatch_outbox import DispatchOutboxCommand
from tests.e2e.conftest import PASSWORD, LogIn, SignUp, bearer

ME = "/api/v1/users/me"
NEW_PASSWORD = "a freshly chosen passphrase"


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def settings_overrides(mail_dir: Path) -> dict[str, Any]:
    # No background dispatcher: the test sends the mail when it wants to look at it.
    return {
        "mail_backend": "file",
        "mail_dir": mail_dir,
        "mail_dispatch_interval_seconds": 0,
        "public_url": "https://auth.example.org",
    }


async def delivered(app: FastAPI, mail_dir: Path) -> list[EmailMessage]:
    await app.state.container.dispatch_outbox().execute(DispatchOutboxCommand())
    return read_mail(mail_dir)


def read_mail(mail_dir: Path) -> list[EmailMessage]:
    parser = BytesParser(policy=email.policy.default)
    return [parser.parsebytes(path.read_bytes()) for path in sorted(mail_dir.glob("*.eml"))]


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
