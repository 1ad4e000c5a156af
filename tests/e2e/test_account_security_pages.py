"""The account console's password and second-factor forms over HTTP, through the real app: each
does what its API counterpart does, refuses beside the field it is about, and shows secrets
(the TOTP key, recovery codes) only in the page that answers the form, never in a URL."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import PASSWORD, LogIn, SignUp, bearer
from tests.e2e.test_browser_session import FROM_OUR_PAGE, page_login, signed_in_browser
from tests.e2e.test_mfa import code_at, enroll

MFA = "/api/v1/users/me/mfa"
NEW_PASSWORD = "a lighthouse keeper's seventh kettle"
SECRET = re.compile(r'id="totp-secret"[^>]*value="([A-Z2-7]+)"')
RECOVERY_CODE = re.compile(r"<li><code>([a-z2-9]{4}(?:-[a-z2-9]{4}){3})</code></li>")
SAVE_THEM = "Save your recovery codes now"


@pytest.fixture(autouse=True)
async def ada(sign_up: SignUp) -> dict[str, Any]:
    return await sign_up()


async def post_form(
    client: httpx.AsyncClient, path: str, csrf: str, **fields: str
) -> httpx.Response:
    return await client.post(path, data={"csrf_token": csrf, **fields}, headers=FROM_OUR_PAGE)


async def api_login(
    client: httpx.AsyncClient, password: str = PASSWORD, *, code: str | None = None
) -> httpx.Response:
    """A login through the API, with the second step when `code` is given."""
    first = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": password}
    )
    if code is None or first.status_code != 403:
        return first
    return await client.post(
        "/api/v1/auth/mfa", json={"mfa_token": first.json()["mfa_token"], "code": code}
    )


async def signed_in_with_recovery_code(client: httpx.AsyncClient, recovery_code: str) -> str:
    """Signs in through the page of an account with TOTP on; the console's CSRF token."""
    first = await page_login(client)
    token = re.search(r'name="mfa_token" value="([^"]+)"', first.text)
    assert token, first.text
    second = await client.post(
        "/login/second-step",
        data={"mfa_token": token.group(1), "recovery_code": recovery_code},
        headers=FROM_OUR_PAGE,
    )
    assert second.status_code == 303, second.text
    console = await client.get("/account")
    match = re.search(r'name="csrf_token" value="([^"]+)"', console.text)
    assert match
    return match.group(1)


def field_tag(page: str, field_id: str) -> str:
    tag = re.search(rf'<input id="{field_id}"[^>]*>', page)
    assert tag, f"no field {field_id}"
    return tag.group(0)


def assert_refused_beside(response: httpx.Response, field_id: str, message: str) -> None:
    """A 422 console whose error sits beside its field and is tied to it."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("text/html")
    error = re.search(
        rf'<p class="error" role="alert" id="{field_id}-error">([^<]+)</p>', response.text
    )
    assert error, response.text
    assert message in html.unescape(error.group(1))
    tag = field_tag(response.text, field_id)
    assert re.search(rf'aria-describedby="[^"]*\b{field_id}-error\b', tag)
    assert 'aria-invalid="true"' in tag
    assert "autofocus" in tag


# --- the password ----------------------------------------------------------------------------


async def test_a_password_change_keeps_this_browser_and_ends_the_other_sessions(
    client: httpx.AsyncClient, log_in: LogIn
) -> None:
    api = bearer(await log_in())
    csrf = await signed_in_browser(client)

    changed = await post_form(
        client,
        "/account/password",
        csrf,
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        new_password_again=NEW_PASSWORD,
    )

    assert changed.status_code == 303
    assert changed.headers["location"] == "/account?done=password"
    console = await client.get("/account?done=password")
    assert console.status_code == 200
    assert "Your password is changed" in console.text
    assert (await client.get("/api/v1/users/me", headers=api)).status_code == 401
    assert (await api_login(client, PASSWORD)).status_code == 401
    assert (await api_login(client, NEW_PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    ("current", "new", "again", "field_id", "message"),
    [
        ("not my password", NEW_PASSWORD, NEW_PASSWORD, "password-current", "not right"),
        (PASSWORD, "password123", "password123", "password-new", "That password is too common"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", "password-again", "differ"),
    ],
    ids=["wrong-current-password", "weak", "the-two-differ"],
)
async def test_a_refused_password_change_says_why_beside_the_field(
    client: httpx.AsyncClient,
    current: str,
    new: str,
    again: str,
    field_id: str,
    message: str,
) -> None:
    csrf = await signed_in_browser(client)
    refused = await post_form(
        client,
        "/account/password",
        csrf,
        current_password=current,
        new_password=new,
        new_password_again=again,
    )

    assert_refused_beside(refused, field_id, message)
    assert new not in refused.text  # no password is ever sent back
    assert (await api_login(client, PASSWORD)).status_code == 200
    assert (await client.get("/account")).status_code == 200


FORMS = [
    ("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    ("/account/totp", {"current_password": PASSWORD}),
    ("/account/totp/confirm", {"code": "123456"}),
    ("/account/totp/disable", {"current_password": PASSWORD, "code": "123456"}),
    ("/account/recovery-codes", {"current_password": PASSWORD, "code": "123456"}),
]


@pytest.mark.parametrize(("path", "fields"), FORMS, ids=[path for path, _ in FORMS])
async def test_every_form_needs_its_session_token_and_our_own_page(
    client: httpx.AsyncClient, path: str, fields: dict[str, str]
) -> None:
    csrf = await signed_in_browser(client)
    if path == "/account/password":
        fields = {**fields, "new_password_again": NEW_PASSWORD}
    without_token = await client.post(path, data=fields, headers=FROM_OUR_PAGE)
    cross_site = await client.post(
        path,
        data={"csrf_token": csrf, **fields},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    )

    assert without_token.status_code == 403
    assert cross_site.status_code == 403
    # Nothing changed: the password is the old one, and TOTP is still off.
    tokens = await api_login(client, PASSWORD)
    assert tokens.status_code == 200
    status = await client.get(MFA, headers=bearer(tokens.json()))
    assert status.json()["totp_enabled"] is False


async def test_a_form_posted_signed_out_goes_to_the_sign_in_page(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=FROM_OUR_PAGE,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login?return_to=%2Faccount"


# --- TOTP ------------------------------------------------------------------------------------


async def test_totp_is_set_up_on_the_console_and_sign_in_then_asks_for_a_code(
    client: httpx.AsyncClient, log_in: LogIn
) -> None:
    api = bearer(await log_in())
    csrf = await signed_in_browser(client)

    wrong = await post_form(client, "/account/totp", csrf, current_password="not my password")
    assert_refused_beside(wrong, "totp-password", "not right")

    started = await post_form(client, "/account/totp", csrf, current_password=PASSWORD)
    assert started.status_code == 200
    policy = started.headers["content-security-policy"]
    assert "unsafe" not in policy
    assert "style-src 'self'" in policy
    svg = re.search(r'<div class="qr"><svg .*?</svg></div>', started.text, re.DOTALL)
    assert svg, started.text
    # Inline styles would be blocked by the policy: the drawing has none.
    assert "style" not in svg.group(0)
    secret_match = SECRET.search(started.text)
    assert secret_match
    secret = secret_match.group(1)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    assert f'<p class="secret"><code>{grouped}</code></p>' in started.text
    assert f"otpauth://totp/Portcullis:ada%40example.com?secret={secret}" in started.text
    assert "autofocus" in field_tag(started.text, "totp-code")
    # Nothing changes until a code confirms it.
    assert (await client.get(MFA, headers=api)).json()["totp_enabled"] is False

    wrong_code = await post_form(client, "/account/totp/confirm", csrf, code="000000")
    assert_refused_beside(wrong_code, "totp-code", "not right")
    assert secret not in wrong_code.text  # the key was shown once; the app already holds it

    confirmed = await post_form(client, "/account/totp/confirm", csrf, code=code_at(secret))
    assert confirmed.status_code == 200
    assert "location" not in confirmed.headers
    assert SAVE_THEM in confirmed.text
    assert "Two-step sign-in is on" in confirmed.text
    codes = RECOVERY_CODE.findall(confirmed.text)
    assert len(set(codes)) == 10
    assert '<span class="badge on">On</span>' in confirmed.text

    # Every other session ended; this browser goes on, and its console shows no codes again.
    assert (await client.get(MFA, headers=api)).status_code == 401
    again = await client.get("/account")
    assert again.status_code == 200
    assert SAVE_THEM not in again.text
    assert not any(code in again.text for code in codes)
    assert "You have 10 unused recovery codes." in again.text

    tokens = await api_login(client, code=code_at(secret, 1))
    assert tokens.status_code == 200, tokens.text
    status = await client.get(MFA, headers=bearer(tokens.json()))
    assert status.json() == {"totp_enabled": True, "recovery_codes_remaining": 10}

    client.cookies.clear()
    first_step = await page_login(client)
    assert first_step.status_code == 200
    assert "Code from your authenticator app" in first_step.text
    assert "mfa_token" in first_step.text


async def test_a_stale_page_cannot_start_a_second_set_up(
    client: httpx.AsyncClient, log_in: LogIn
) -> None:
    csrf = await signed_in_browser(client)
    confirmed_too_early = await post_form(client, "/account/totp/confirm", csrf, code="123456")
    assert confirmed_too_early.status_code == 409
    assert "start it again" in confirmed_too_early.text

    _, recovery_codes = await enroll(client, await log_in())
    csrf = await signed_in_with_recovery_code(client, recovery_codes[0])
    started = await post_form(client, "/account/totp", csrf, current_password=PASSWORD)
    assert started.status_code == 409
    assert "already on" in started.text
    assert 'id="totp-secret"' not in started.text


async def test_recovery_codes_are_renewed_then_totp_is_turned_off(
    client: httpx.AsyncClient, log_in: LogIn
) -> None:
    secret, old_codes = await enroll(client, await log_in())
    csrf = await signed_in_with_recovery_code(client, old_codes[0])
    console = await client.get("/account")
    assert "You have 9 unused recovery codes." in console.text

    wrong_password = await post_form(
        client, "/account/recovery-codes", csrf, current_password="nope", code=old_codes[1]
    )
    assert_refused_beside(wrong_password, "renew-password", "not right")
    assert "<details open>" in wrong_password.text  # the form with the error is not folded
    wrong_code = await post_form(
        client, "/account/recovery-codes", csrf, current_password=PASSWORD, code="000000"
    )
    assert_refused_beside(wrong_code, "renew-code", "not right")

    renewed = await post_form(
        client, "/account/recovery-codes", csrf, current_password=PASSWORD, code=code_at(secret, 1)
    )
    assert renewed.status_code == 200
    assert SAVE_THEM in renewed.text
    new_codes = RECOVERY_CODE.findall(renewed.text)
    assert len(set(new_codes)) == 10
    assert not set(new_codes) & set(old_codes)
    later = (await client.get("/account")).text
    assert not any(code in later for code in new_codes)

    # The old set is void: it no longer turns anything off.
    stale = await post_form(
        client, "/account/totp/disable", csrf, current_password=PASSWORD, code=old_codes[2]
    )
    assert_refused_beside(stale, "disable-code", "not right")

    turned_off = await post_form(
        client, "/account/totp/disable", csrf, current_password=PASSWORD, code=new_codes[0]
    )
    assert turned_off.status_code == 303
    assert turned_off.headers["location"] == "/account?done=totp-off"
    console = await client.get("/account?done=totp-off")
    assert "Two-step sign-in is off" in console.text
    assert "Set up an authenticator app" in console.text

    tokens = await api_login(client)
    assert tokens.status_code == 200  # no second step any more
    status = await client.get(MFA, headers=bearer(tokens.json()))
    assert status.json() == {"totp_enabled": False, "recovery_codes_remaining": 0}
    gone = await post_form(
        client, "/account/recovery-codes", csrf, current_password=PASSWORD, code=new_codes[1]
    )
    assert gone.status_code == 409
    assert "not on" in gone.text
