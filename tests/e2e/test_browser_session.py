"""The browser session over HTTP, through the real app: the cookie, what it opens and what it
never opens, the forms' protection against other sites, and where sign-in sends the browser."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import PASSWORD, LogIn, SignUp, bearer
from tests.e2e.test_mfa import code_at, enroll

PUBLIC_ORIGIN = "http://localhost:8000"  # the default PORTCULLIS_PUBLIC_URL's origin
FROM_OUR_PAGE = {"Origin": "null", "Sec-Fetch-Site": "same-origin", "Accept": "text/html"}
COOKIE = "portcullis_session"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def page_login(
    client: httpx.AsyncClient,
    email: str = "ada@example.com",
    password: str = PASSWORD,
    return_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    form = {"email": email, "password": password}
    if return_to is not None:
        form["return_to"] = return_to
    return await client.post("/login", data=form, headers=headers or FROM_OUR_PAGE)


async def signed_in_browser(client: httpx.AsyncClient) -> str:
    """Signs in through the page; the CSRF token of the account console. The client keeps
    the cookie, as a browser does."""
    response = await page_login(client)
    assert response.status_code == 303, response.text
    console = await client.get("/account", headers={"Accept": "text/html"})
    assert console.status_code == 200, console.text
    match = CSRF.search(console.text)
    assert match
    return match.group(1)


@pytest.fixture(autouse=True)
async def ada(sign_up: SignUp) -> dict[str, Any]:
    """ada@example.com, with the tests' password, signed up through the API."""
    return await sign_up()


async def test_signing_in_on_the_page_sets_a_cookie_no_script_can_read(
    client: httpx.AsyncClient,
) -> None:
    shown = await client.get("/login")
    assert shown.status_code == 200
    assert "script-src 'self'" in shown.headers["content-security-policy"]  # the passkey button
    assert shown.headers["cache-control"] == "no-store"

    response = await page_login(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= flags
    assert "secure" not in flags  # the public URL is http here
    value = client.cookies[COOKIE]
    # A random secret, not a token with claims.
    assert "." not in value
    assert len(value) == 43

    console = await client.get("/account")
    assert console.status_code == 200
    assert "ada@example.com" in console.text


@pytest.mark.parametrize("settings_overrides", [{"public_url": "https://id.example.com"}])
async def test_on_https_the_cookie_is_secure_and_bound_to_the_host(
    client: httpx.AsyncClient,
) -> None:
    response = await page_login(client)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-portcullis_session=")
    assert "secure" in cookie.lower()


async def test_the_browser_session_is_listed_and_revoking_it_signs_the_page_out(
    client: httpx.AsyncClient, log_in: LogIn
) -> None:
    await signed_in_browser(client)
    api = bearer(await log_in())
    listed = (await client.get("/api/v1/users/me/sessions", headers=api)).json()
    browser = [s for s in listed if not s["current"]]
    assert len(browser) == 1

    ended = await client.delete(f"/api/v1/users/me/sessions/{browser[0]['id']}", headers=api)
    assert ended.status_code == 204
    after = await client.get("/account", headers={"Accept": "text/html"})
    assert after.status_code == 303
    assert after.headers["location"] == "/login?return_to=%2Faccount"


async def test_the_cookie_never_authenticates_the_api_nor_refreshes(
    client: httpx.AsyncClient,
) -> None:
    await signed_in_browser(client)
    secret = client.cookies[COOKIE]
    assert (await client.get("/api/v1/users/me")).status_code == 401
    as_bearer = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"})
    assert as_bearer.status_code == 401
    refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": secret})
    assert refreshed.status_code == 401
    assert refreshed.json()["code"] == "invalid_refresh_token"
    # Nor was the session harmed by the attempt.
    assert (await client.get("/account")).status_code == 200


async def test_an_api_refresh_token_is_no_cookie(client: httpx.AsyncClient, log_in: LogIn) -> None:
    tokens = await log_in()
    client.cookies.set(COOKIE, tokens["refresh_token"])
    response = await client.get("/account", headers={"Accept": "text/html"})
    assert response.status_code == 303


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://sub.localhost:8000"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ],
    ids=["cross-site", "same-site", "foreign-origin", "opaque-origin-alone"],
)
async def test_a_form_posted_from_another_site_is_refused(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    refused = await page_login(client, headers={**headers, "Accept": "text/html"})
    assert refused.status_code == 403
    assert "did not come from this site" in refused.text
    assert COOKIE not in client.cookies


async def test_our_own_origin_and_same_origin_fetches_are_accepted(
    client: httpx.AsyncClient,
) -> None:
    by_origin = await page_login(client, headers={"Origin": PUBLIC_ORIGIN})
    assert by_origin.status_code == 303
    client.cookies.clear()
    # What Chromium sends for a form on a page served with Referrer-Policy: no-referrer.
    by_fetch_site = await page_login(
        client, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    )
    assert by_fetch_site.status_code == 303


async def test_a_signed_in_form_needs_its_session_token(client: httpx.AsyncClient) -> None:
    csrf = await signed_in_browser(client)
    for token in ("", "x" * 43, csrf[:-1] + ("A" if csrf[-1] != "A" else "B")):
        refused = await client.post("/logout", data={"csrf_token": token}, headers=FROM_OUR_PAGE)
        assert refused.status_code == 403
    assert (await client.get("/account")).status_code == 200

    done = await client.post("/logout", data={"csrf_token": csrf}, headers=FROM_OUR_PAGE)
    assert done.status_code == 303
    assert done.headers["location"] == "/login"
    assert COOKIE not in client.cookies
    assert (await client.get("/account", headers={"Accept": "text/html"})).status_code == 303


async def test_logout_ends_only_the_browser_session(
    client: httpx.AsyncClient, log_in: LogIn
) -> None:
    api = bearer(await log_in())
    csrf = await signed_in_browser(client)
    secret = client.cookies[COOKIE]
    assert (
        await client.post("/logout", data={"csrf_token": csrf}, headers=FROM_OUR_PAGE)
    ).status_code == 303
    assert (await client.get("/api/v1/users/me", headers=api)).status_code == 200
    # The old cookie, kept by someone, opens nothing any more.
    client.cookies.set(COOKIE, secret)
    assert (await client.get("/account", headers={"Accept": "text/html"})).status_code == 303


@pytest.mark.parametrize(
    "attempt",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
    ],
)
async def test_return_to_never_leaves_the_site(client: httpx.AsyncClient, attempt: str) -> None:
    response = await page_login(client, return_to=attempt)
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    client.cookies.clear()
    shown = await client.get("/login", params={"return_to": attempt})
    assert 'name="return_to" value="/account"' in shown.text


async def test_return_to_a_path_of_this_site_is_followed_with_its_query(
    client: httpx.AsyncClient,
) -> None:
    response = await page_login(client, return_to="/account?done=profile")
    assert response.headers["location"] == "/account?done=profile"
    # Already signed in, the sign-in page goes straight on.
    again = await client.get("/login", params={"return_to": "/account?x=1"})
    assert again.status_code == 303
    assert again.headers["location"] == "/account?x=1"


async def test_a_wrong_password_and_an_unknown_email_read_the_same(
    client: httpx.AsyncClient,
) -> None:
    wrong = await page_login(client, password="not the password at all")
    unknown = await page_login(client, email="nobody@example.com", password="not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.text.replace("ada@example.com", "X") == unknown.text.replace(
        "nobody@example.com", "X"
    )
    assert "do not match an account" in wrong.text
    assert "not the password" not in wrong.text  # a password is never sent back


async def test_an_account_with_totp_takes_its_code_on_the_second_step(
    client: httpx.AsyncClient, log_in: LogIn
) -> None:
    secret, recovery_codes = await enroll(client, await log_in())
    first = await page_login(client, return_to="/account?done=profile")
    assert first.status_code == 200
    assert COOKIE not in client.cookies
    token = re.search(r'name="mfa_token" value="([^"]+)"', first.text)
    assert token
    assert "Code from your authenticator app" in first.text

    step = {"mfa_token": token.group(1), "return_to": "/account?done=profile"}
    wrong = await client.post(
        "/login/second-step", data={**step, "code": "000000"}, headers=FROM_OUR_PAGE
    )
    assert wrong.status_code == 401
    assert "That code is not right" in wrong.text
    right = await client.post(
        "/login/second-step", data={**step, "code": code_at(secret, 1)}, headers=FROM_OUR_PAGE
    )
    assert right.status_code == 303
    assert right.headers["location"] == "/account?done=profile"
    assert (await client.get("/account")).status_code == 200

    # A recovery code on a second browser, once.
    client.cookies.clear()
    second = await page_login(client)
    token = re.search(r'name="mfa_token" value="([^"]+)"', second.text)
    assert token
    by_recovery = await client.post(
        "/login/second-step",
        data={"mfa_token": token.group(1), "recovery_code": recovery_codes[0]},
        headers=FROM_OUR_PAGE,
    )
    assert by_recovery.status_code == 303


async def test_the_console_changes_the_name_and_ends_other_sessions(
    client: httpx.AsyncClient, log_in: LogIn
) -> None:
    api = bearer(await log_in())
    csrf = await signed_in_browser(client)
    saved = await client.post(
        "/account/profile",
        data={"csrf_token": csrf, "name": "Ada Lovelace", "email": "ada@example.com"},
        headers=FROM_OUR_PAGE,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/account?done=profile"
    assert (await client.get("/api/v1/users/me", headers=api)).json()["name"] == "Ada Lovelace"

    moved = await client.post(
        "/account/profile",
        data={"csrf_token": csrf, "name": "Ada", "email": "ada@elsewhere.example"},
        headers=FROM_OUR_PAGE,
    )
    assert moved.status_code == 422
    assert "type your password" in moved.text

    ended = await client.post(
        "/account/sessions/end-others", data={"csrf_token": csrf}, headers=FROM_OUR_PAGE
    )
    assert ended.status_code == 303
    assert (await client.get("/api/v1/users/me", headers=api)).status_code == 401
    assert (await client.get("/account")).status_code == 200


async def test_a_page_error_is_a_page(client: httpx.AsyncClient) -> None:
    response = await client.post("/login/second-step", data={}, headers=FROM_OUR_PAGE)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "missing or too long" in response.text


async def test_signing_in_again_ends_the_session_the_browser_held(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await signed_in_browser(client)
    first = client.cookies[COOKIE]
    await sign_up(email="grace@example.com")

    again = await page_login(client, email="grace@example.com")

    assert again.status_code == 303
    assert client.cookies[COOKIE] != first
    client.cookies.set(COOKIE, first)
    assert (await client.get("/account", headers={"Accept": "text/html"})).status_code == 303
