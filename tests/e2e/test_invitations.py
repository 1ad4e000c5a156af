"""Invitations over HTTP: the admin API, the mail it writes to .eml files, and the page the
link opens, posted to as a browser without JavaScript would."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.e2e.conftest import LogIn, SignUp, bearer

# The mail fixtures are imported by name, which is how pytest finds them in a module.
from tests.e2e.mail import delivered, read_mail
from tests.e2e.mail import mail_dir as mail_dir
from tests.e2e.mail import settings_overrides as settings_overrides

INVITATIONS = "/api/v1/invitations"
PAGE = "/accept-invitation"
INVITED = "grace@example.com"
CHOSEN = "a compiler on every desk"


def _token_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    match = re.search(
        r"https://auth\.example\.org/accept-invitation\?token=([A-Za-z0-9_-]+)",
        body.get_content(),
    )
    assert match, body.get_content()
    return match.group(1)


async def _invite(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], mail_dir: Path, **body: Any
) -> str:
    response = await client.post(INVITATIONS, json={"email": INVITED, **body}, headers=admin)
    assert response.status_code == 201, response.text
    *_, newest = [m for m in await delivered(app, mail_dir) if m["To"] == INVITED]
    return _token_in(newest)


def _form(token: str, password: str = CHOSEN, **fields: str) -> dict[str, str]:
    return {"token": token, "password": password, "confirm_password": password, **fields}


async def test_an_admin_invites_and_gets_the_invitation_and_the_person_a_mail(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], mail_dir: Path
) -> None:
    before = datetime.now().astimezone()
    response = await client.post(
        INVITATIONS,
        json={"email": " Grace@Example.com", "role": "admin", "name": "Grace"},
        headers=admin,
    )
    after = datetime.now().astimezone()

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "role", "expires_at"}
    assert (body["email"], body["role"]) == (INVITED, "admin")
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.utcoffset() is not None
    assert before + timedelta(days=7) <= expires <= after + timedelta(days=7)
    [message] = await delivered(app, mail_dir)
    assert message["To"] == INVITED
    assert message["Subject"] == "You are invited to open an account"
    assert _token_in(message)
    # No account until it is accepted.
    users = await client.get("/api/v1/users", params={"q": "grace"}, headers=admin)
    assert users.json()["items"] == []


async def test_only_an_admin_may_invite(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn, mail_dir: Path
) -> None:
    await sign_up()
    user = bearer(await log_in())

    as_user = await client.post(INVITATIONS, json={"email": INVITED}, headers=user)
    anonymous = await client.post(INVITATIONS, json={"email": INVITED})

    assert as_user.status_code == 403
    assert as_user.json()["code"] == "forbidden"
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"
    assert read_mail(mail_dir) == []


async def test_an_address_with_an_account_is_taken(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], mail_dir: Path
) -> None:
    taken = await client.post(INVITATIONS, json={"email": "ROOT@example.com"}, headers=admin)

    assert taken.status_code == 409
    assert taken.headers["content-type"].startswith("application/problem+json")
    assert taken.json()["code"] == "email_taken"
    assert await delivered(app, mail_dir) == []


@pytest.mark.parametrize(
    "body",
    [
        {"email": "Grace <grace@example.com>"},
        {"email": INVITED, "role": "owner"},
        {"email": INVITED, "password": "no mass assignment"},
        {"email": INVITED, "name": ""},
    ],
    ids=["display-name-email", "unknown-role", "unknown-field", "empty-name"],
)
async def test_a_bad_invitation_is_a_validation_error(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any]
) -> None:
    response = await client.post(INVITATIONS, json=body, headers=admin)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert "no mass assignment" not in response.text


async def test_the_link_opens_a_form_and_the_post_creates_a_verified_account(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    log_in: LogIn,
    mail_dir: Path,
) -> None:
    token = await _invite(app, client, admin, mail_dir, role="admin", name="Grace")

    for _ in range(2):  # opening it, even twice, spends nothing
        shown = await client.get(PAGE, params={"token": token})
        assert shown.status_code == 200
        assert shown.headers["content-type"].startswith("text/html")
        assert shown.headers["cache-control"] == "no-store"
        assert "script-src" not in shown.headers["content-security-policy"]
        assert INVITED in shown.text
        assert 'value="Grace"' in shown.text

    done = await client.post(PAGE, data=_form(token, name="Grace Hopper"))
    assert done.status_code == 200
    assert "Your account is ready" in done.text

    me = await client.get("/api/v1/users/me", headers=bearer(await log_in(INVITED, CHOSEN)))
    assert me.json()["role"] == "admin"
    assert me.json()["is_verified"] is True
    assert me.json()["name"] == "Grace Hopper"

    again = await client.post(PAGE, data=_form(token, "another long passphrase"))
    assert again.status_code == 400
    assert "already accepted" in again.text
    reopened = await client.get(PAGE, params={"token": token})
    assert reopened.status_code == 400

    events = await client.get("/api/v1/audit-events", headers=admin)
    types = [event["type"] for event in events.json()["items"]]
    assert "invitation.created" in types
    assert "invitation.accepted" in types


async def test_inviting_again_makes_the_earlier_link_useless(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], mail_dir: Path
) -> None:
    first = await _invite(app, client, admin, mail_dir)
    second = await _invite(app, client, admin, mail_dir)

    assert (await client.get(PAGE, params={"token": first})).status_code == 400
    assert (await client.post(PAGE, data=_form(first))).status_code == 400
    assert (await client.post(PAGE, data=_form(second))).status_code == 200


async def test_a_weak_password_or_a_mismatch_is_shown_at_its_field_and_spends_nothing(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], mail_dir: Path
) -> None:
    token = await _invite(app, client, admin, mail_dir)

    weak = await client.post(PAGE, data=_form(token, "password1"))
    assert weak.status_code == 422
    assert 'id="password-error"' in weak.text
    assert "password1" not in weak.text
    mismatch = await client.post(
        PAGE, data={"token": token, "password": CHOSEN, "confirm_password": CHOSEN + "?"}
    )
    assert mismatch.status_code == 422
    assert 'id="confirm_password-error"' in mismatch.text
    assert CHOSEN not in mismatch.text

    assert (await client.post(PAGE, data=_form(token))).status_code == 200


async def test_if_the_address_signed_up_meanwhile_accepting_changes_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    sign_up: SignUp,
    log_in: LogIn,
    mail_dir: Path,
) -> None:
    token = await _invite(app, client, admin, mail_dir, role="admin")
    await sign_up(email=INVITED)

    refused = await client.post(PAGE, data=_form(token))

    assert refused.status_code == 409
    assert "already exists" in refused.text
    me = await client.get("/api/v1/users/me", headers=bearer(await log_in(email=INVITED)))
    assert me.json()["role"] == "user"
    assert me.json()["is_verified"] is False


async def test_two_submissions_of_one_link_at_once_make_one_account(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], mail_dir: Path
) -> None:
    token = await _invite(app, client, admin, mail_dir)

    answers = await asyncio.gather(
        *(client.post(PAGE, data=_form(token, f"{CHOSEN} {n}")) for n in range(4))
    )

    assert sorted(a.status_code for a in answers) == [200, 400, 400, 400]
    users = await client.get("/api/v1/users", params={"q": INVITED}, headers=admin)
    assert len(users.json()["items"]) == 1


@pytest.mark.parametrize("query", ["", "?token=", "?token=not-a-token-we-sent"])
async def test_a_broken_link_says_so_and_shows_no_form(
    client: httpx.AsyncClient, query: str
) -> None:
    shown = await client.get(PAGE + query)
    assert shown.status_code == 400
    assert shown.headers["content-type"].startswith("text/html")
    assert "This invitation is invalid" in shown.text
    assert "<form" not in shown.text
