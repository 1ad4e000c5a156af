"""The sign-up and forgot-password pages over HTTP, through the real app, posted to as a browser
without JavaScript would: the account they make and the session they open, where they send the
browser, what they say and what they keep to themselves, and their refusal of other sites."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.e2e.conftest import PASSWORD, LogIn, SignUp, bearer
from tests.e2e.mail import delivered
from tests.e2e.mail import mail_dir as mail_dir
from tests.e2e.test_browser_session import COOKIE, FROM_OUR_PAGE

NEW = "grace@example.com"
CHOSEN = "a compiler on every desk"
CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
RESET_LINK = re.compile(r"http://localhost:8000/reset-password\?token=[A-Za-z0-9_-]+")


@pytest.fixture
def settings_overrides(mail_dir: Path) -> dict[str, Any]:
    """Mail to files, sent when a test asks; the default public URL (http), so the test
    client, like a browser, sends the cookie back."""
    return {"mail_backend": "file", "mail_dir": mail_dir, "mail_dispatch_interval_seconds": 0}


async def post_sign_up(
    client: httpx.AsyncClient,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """The form filled in for NEW, but for `fields`."""
    form = {"email": NEW, "password": CHOSEN, "confirm_password": CHOSEN, **(fields or {})}
    return await client.post("/signup", data=form, headers=headers or FROM_OUR_PAGE)


async def api_login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_signing_up_on_the_page_makes_the_account_and_signs_in(
    client: httpx.AsyncClient, log_in: LogIn
) -> None:
    shown = await client.get("/signup")
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    assert "script-src" not in shown.headers["content-security-policy"]
    assert 'name="return_to" value="/account"' in shown.text

    response = await post_sign_up(
        client, {"name": "Grace Hopper", "return_to": "/account?done=profile"}
    )

    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/account?done=profile"
    flags = {part.strip().lower() for part in response.headers["set-cookie"].split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= flags
    console = await client.get("/account")
    assert console.status_code == 200
    assert NEW in console.text

    api = bearer(await log_in(NEW, CHOSEN))
    me = (await client.get("/api/v1/users/me", headers=api)).json()
    assert (me["name"], me["role"], me["is_verified"]) == ("Grace Hopper", "user", False)
    sessions = (await client.get("/api/v1/users/me/sessions", headers=api)).json()
    assert [s["current"] for s in sessions].count(False) == 1  # the browser's


async def test_a_blank_name_is_no_name(client: httpx.AsyncClient, log_in: LogIn) -> None:
    assert (await post_sign_up(client, {"name": "  "})).status_code == 303
    me = await client.get("/api/v1/users/me", headers=bearer(await log_in(NEW, CHOSEN)))
    assert me.json()["name"] is None


@pytest.mark.parametrize(
    "attempt",
    ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)", ""],
)
async def test_return_to_is_followed_only_on_this_site(
    client: httpx.AsyncClient, attempt: str
) -> None:
    shown = await client.get("/signup", params={"return_to": attempt})
    assert 'name="return_to" value="/account"' in shown.text
    response = await post_sign_up(client, {"return_to": attempt})
    assert response.status_code == 303
    assert response.headers["location"] == "/account"


async def test_someone_signed_in_goes_straight_on(client: httpx.AsyncClient) -> None:
    assert (await post_sign_up(client)).status_code == 303
    again = await client.get("/signup", params={"return_to": "/account?x=1"})
    assert again.status_code == 303
    assert again.headers["location"] == "/account?x=1"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"password": "password123", "confirm_password": "password123"},
            "password",
            "That password is too common",
        ),
        ({"confirm_password": CHOSEN + "!"}, "confirm_password", "The two passwords differ"),
        ({"email": "eve.example.com"}, "email", "not an email address we can use"),
        ({"name": "x" * 101}, "name", "That name must be 1 to 100 characters"),
    ],
    ids=["weak-password", "passwords-differ", "bad-email", "long-name"],
)
async def test_a_mistake_is_said_beside_its_field_and_makes_nothing(
    client: httpx.AsyncClient, fields: dict[str, str], field: str, message: str
) -> None:
    response = await post_sign_up(client, fields)

    assert response.status_code == 422
    assert message in response.text
    assert f'id="{field}-error"' in response.text
    field_tag = re.search(rf'<input id="{field}"[^>]*>', response.text)
    assert field_tag
    assert f"{field}-error" in field_tag.group(0)
    assert 'aria-invalid="true"' in field_tag.group(0)
    assert "autofocus" in field_tag.group(0)
    for password in {fields.get("password", CHOSEN), fields.get("confirm_password", CHOSEN)}:
        assert password not in response.text
    assert COOKIE not in client.cookies
    email = fields.get("email", NEW)
    assert (await api_login(client, email, fields.get("password", CHOSEN))).status_code == 401


async def test_every_mistake_known_before_trying_is_said_at_once(
    client: httpx.AsyncClient,
) -> None:
    response = await post_sign_up(
        client, {"email": "nope", "name": "\x07", "confirm_password": "other"}
    )
    assert response.status_code == 422
    for field in ("email", "name", "confirm_password"):
        assert f'id="{field}-error"' in response.text
    assert re.search(r'<input id="email"[^>]*autofocus', response.text)


async def test_an_address_in_use_is_said_kindly_and_nothing_more_is_told(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up(name="Ada Lovelace")
    api = await client.post(
        "/api/v1/auth/signup", json={"email": "ada@example.com", "password": CHOSEN}
    )
    assert (api.status_code, api.json()["code"]) == (409, "email_taken")

    response = await post_sign_up(client, {"email": "ADA@example.com ", "name": "Someone Else"})

    assert response.status_code == 409
    assert "An account already uses this email address" in response.text
    assert 'href="/forgot-password"' in response.text
    assert "Lovelace" not in response.text
    assert CHOSEN not in response.text
    assert COOKIE not in client.cookies
    # The account is untouched.
    assert (await api_login(client, "ada@example.com", PASSWORD)).status_code == 200
    assert (await api_login(client, "ada@example.com", CHOSEN)).status_code == 401


async def test_a_weak_password_is_said_before_whether_the_address_is_in_use(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    weak = {"password": "password123", "confirm_password": "password123"}
    taken = await post_sign_up(client, {"email": "ada@example.com", **weak})
    free = await post_sign_up(client, {"email": "nobody@example.com", **weak})
    assert taken.status_code == free.status_code == 422
    assert taken.text.replace("ada@", "X@") == free.text.replace("nobody@", "X@")


@pytest.mark.parametrize(
    "headers",
    [CROSS_SITE, {"Origin": "https://evil.example"}, {"Origin": "null"}],
    ids=["cross-site", "foreign-origin", "opaque-origin-alone"],
)
async def test_a_sign_up_from_another_site_is_refused(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    refused = await post_sign_up(client, headers={**headers, "Accept": "text/html"})
    assert refused.status_code == 403
    assert "did not come from this site" in refused.text
    assert COOKIE not in client.cookies
    assert (await api_login(client, NEW, CHOSEN)).status_code == 401


@pytest.mark.parametrize("settings_overrides", [{"rate_limit_per_minute": 2}])
async def test_the_page_and_the_api_share_the_sign_up_budget(client: httpx.AsyncClient) -> None:
    for who in ("one", "two"):
        body = {"email": f"{who}@example.com", "password": CHOSEN}
        assert (await client.post("/api/v1/auth/signup", json=body)).status_code == 201
    throttled = await post_sign_up(client)
    assert throttled.status_code == 429
    assert "retry-after" in throttled.headers
    assert "Too many attempts" in throttled.text
    assert (await api_login(client, NEW, CHOSEN)).status_code == 401


# --- forgot-password -------------------------------------------------------------------------


async def ask_for_a_link(
    client: httpx.AsyncClient, email: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(
        "/forgot-password", data={"email": email}, headers=headers or FROM_OUR_PAGE
    )


async def test_forgot_password_answers_the_same_and_mails_only_an_account(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, mail_dir: Path
) -> None:
    await sign_up()
    shown = await client.get("/forgot-password")
    assert shown.status_code == 200
    assert 'action="/forgot-password"' in shown.text

    known = await ask_for_a_link(client, "Ada@Example.com")
    unknown = await ask_for_a_link(client, "nobody@example.com")

    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("ada@", "X@") == unknown.text.replace("nobody@", "X@")
    assert "If an account uses ada@example.com, we sent it a link" in known.text
    mail = await delivered(app, mail_dir)
    assert [str(message["To"]) for message in mail] == ["ada@example.com"]
    body = mail[0].get_body(("plain",))
    assert body is not None
    assert RESET_LINK.search(body.get_content())


async def test_forgot_password_says_when_an_address_is_malformed(
    app: FastAPI, client: httpx.AsyncClient, mail_dir: Path
) -> None:
    response = await ask_for_a_link(client, "nobody.example.com")
    assert response.status_code == 422
    assert "not an email address we can use" in response.text
    assert 'aria-describedby="email-error"' in response.text
    assert await delivered(app, mail_dir) == []


async def test_forgot_password_from_another_site_is_refused_and_sends_nothing(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, mail_dir: Path
) -> None:
    await sign_up()
    refused = await ask_for_a_link(
        client, "ada@example.com", headers={**CROSS_SITE, "Accept": "text/html"}
    )
    assert refused.status_code == 403
    assert await delivered(app, mail_dir) == []


@pytest.mark.parametrize("settings_overrides", [{"rate_limit_per_minute": 1}])
async def test_the_page_and_the_api_share_the_forgot_password_budget(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/api/v1/auth/password/forgot", json={"email": "a@example.com"})
    assert first.status_code == 202
    throttled = await ask_for_a_link(client, "b@example.com")
    assert throttled.status_code == 429
    assert "retry-after" in throttled.headers


# --- the invitation form ---------------------------------------------------------------------


async def test_the_invitation_form_refuses_another_site_and_still_works_after(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], mail_dir: Path
) -> None:
    invited = await client.post("/api/v1/invitations", json={"email": NEW}, headers=admin)
    assert invited.status_code == 201
    (message,) = [m for m in await delivered(app, mail_dir) if m["To"] == NEW]
    body = message.get_body(("plain",))
    assert body is not None
    token = re.search(r"accept-invitation\?token=([A-Za-z0-9_-]+)", body.get_content())
    assert token
    form = {"token": token.group(1), "password": CHOSEN, "confirm_password": CHOSEN}

    refused = await client.post(
        "/accept-invitation", data=form, headers={**CROSS_SITE, "Accept": "text/html"}
    )
    assert refused.status_code == 403
    assert (await api_login(client, NEW, CHOSEN)).status_code == 401

    accepted = await client.post("/accept-invitation", data=form, headers=FROM_OUR_PAGE)
    assert accepted.status_code == 200
    assert (await api_login(client, NEW, CHOSEN)).status_code == 200
