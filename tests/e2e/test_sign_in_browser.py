"""Signing in, up and out as a person does, in headless Chromium against a real `portcullis
serve`: the password and the second step, a new account, a forgotten password, the cookie as the
browser holds it, and the refusals a page of another site meets.

One server and one browser for the module; each test has accounts of its own and a fresh browser
context (no cookies, no cache)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Cookie, Page, Response, expect

from tests.e2e.browser import (
    NEW_PASSWORD,
    OLD_PASSWORD,
    Site,
    Visitor,
    link_in_mail,
    log_in,
    new_address,
    screenshot,
    serve_site,
    sign_up,
)

# The browser fixtures are imported by name, which is how pytest finds them in a module.
from tests.e2e.browser import api as api
from tests.e2e.browser import browser as browser
from tests.e2e.browser import chromium as chromium
from tests.e2e.browser import javascript as javascript
from tests.e2e.browser import visitor as visitor
from tests.e2e.test_mfa import code_at, enroll

COOKIE = "portcullis_session"
EVIL = "http://evil.test"
SESSIONS = "/api/v1/users/me/sessions"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(tmp_path_factory.mktemp("sign-in")) as served:
        yield served


async def submit(page: Page, button: str) -> Response:
    """Press the button; the page the form's POST ends on, after any redirect."""
    async with page.expect_navigation() as navigation:
        await page.get_by_role("button", name=button, exact=True).click()
    response = await navigation.value
    assert response is not None
    first = response.request
    while first.redirected_from is not None:
        first = first.redirected_from
    assert first.method == "POST"
    return response


async def sign_in(page: Page, address: str, password: str = OLD_PASSWORD) -> Response:
    await page.get_by_label("Email").fill(address)
    await page.get_by_label("Password").fill(password)
    return await submit(page, "Sign in")


def path_of(page: Page) -> str:
    parts = urlsplit(page.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def session_cookie(visitor: Visitor) -> Cookie | None:
    cookies = [c for c in await visitor.context.cookies() if c.get("name") == COOKIE]
    return cookies[0] if cookies else None


async def bearer(api: httpx.AsyncClient, address: str, password: str) -> dict[str, str]:
    tokens = await log_in(api, address, password)
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


async def expect_console(page: Page, address: str) -> None:
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    await expect(page.get_by_text(f"Signed in as {address}")).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript-on", "javascript-off"])
async def test_signing_in_with_a_password_goes_on_to_return_to(
    visitor: Visitor, api: httpx.AsyncClient, site: Site, tmp_path: Path
) -> None:
    address = new_address("password")
    await sign_up(api, address)
    page, shown = await visitor.open(f"{site.base_url}/login?return_to=/account%3Fdone%3Dprofile")
    assert shown.status == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    await expect(page.get_by_label("Email")).to_be_focused()
    await screenshot(page, tmp_path, "login")

    refused = await sign_in(page, address, "not the password at all")
    assert refused.status == 401
    await expect(page.get_by_role("alert")).to_contain_text("do not match an account")
    await expect(page.get_by_label("Password")).to_be_focused()
    await screenshot(page, tmp_path, "login-wrong-password")

    done = await sign_in(page, address)
    assert done.status == 200
    assert path_of(page) == "/account?done=profile"
    await expect_console(page, address)


async def test_an_account_with_totp_signs_in_with_its_code_on_the_second_step(
    visitor: Visitor, api: httpx.AsyncClient, site: Site, tmp_path: Path
) -> None:
    address = new_address("totp")
    await sign_up(api, address)
    secret, _ = await enroll(api, (await log_in(api, address, OLD_PASSWORD)).json())
    page, _ = await visitor.open(f"{site.base_url}/login")

    step = await sign_in(page, address)
    assert step.status == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    code = page.get_by_label("Code from your authenticator app")
    await expect(code).to_be_focused()
    assert await session_cookie(visitor) is None
    await screenshot(page, tmp_path, "login-second-step")

    await code.fill("000000")
    wrong = await submit(page, "Continue")
    assert wrong.status == 401
    await expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    await screenshot(page, tmp_path, "login-second-step-wrong")

    await page.get_by_label("Code from your authenticator app").fill(code_at(secret, 1))
    done = await submit(page, "Continue")
    assert done.status == 200
    await expect_console(page, address)


async def test_a_person_signs_up_on_the_page_and_is_signed_in(
    visitor: Visitor, api: httpx.AsyncClient, site: Site, tmp_path: Path
) -> None:
    address = new_address("new")
    page, _ = await visitor.open(f"{site.base_url}/login?return_to=/account%3Fdone%3Dprofile")
    await page.get_by_role("link", name="Create an account").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Create your account")
    await expect(page.get_by_label("Email")).to_be_focused()
    await screenshot(page, tmp_path, "signup")

    await page.get_by_label("Email").fill(address)
    await page.get_by_label("Name").fill("Grace Hopper")
    await page.get_by_label("Password", exact=True).fill("password123")
    await page.get_by_label("Password again").fill("password1234")
    differ = await submit(page, "Create my account")
    assert differ.status == 422
    again = page.get_by_label("Password again")
    await expect(page.get_by_role("alert")).to_have_text(re.compile("The two passwords differ"))
    await expect(again).to_have_attribute("aria-invalid", "true")
    await expect(again).to_be_focused()
    await expect(page.get_by_label("Email")).to_have_value(address)
    await expect(page.get_by_label("Name")).to_have_value("Grace Hopper")
    await screenshot(page, tmp_path, "signup-passwords-differ")

    await page.get_by_label("Password", exact=True).fill("password123")
    await again.fill("password123")
    weak = await submit(page, "Create my account")
    assert weak.status == 422
    password = page.get_by_label("Password", exact=True)
    await expect(page.get_by_role("alert")).to_contain_text("That password is too common")
    await expect(password).to_have_attribute("aria-describedby", "password-help password-error")
    await expect(password).to_have_value("")
    await screenshot(page, tmp_path, "signup-weak-password")

    await password.fill(NEW_PASSWORD)
    await again.fill(NEW_PASSWORD)
    done = await submit(page, "Create my account")
    assert done.status == 200
    assert path_of(page) == "/account?done=profile"
    await expect_console(page, address)
    assert (await log_in(api, address, NEW_PASSWORD)).status_code == 200


async def test_signing_up_with_an_address_in_use_says_so_kindly(
    visitor: Visitor, api: httpx.AsyncClient, site: Site, tmp_path: Path
) -> None:
    address = new_address("taken")
    await sign_up(api, address)
    page, _ = await visitor.open(f"{site.base_url}/signup")
    await page.get_by_label("Email").fill(address)
    await page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("Password again").fill(NEW_PASSWORD)
    taken = await submit(page, "Create my account")
    assert taken.status == 409
    await expect(page.get_by_role("alert")).to_contain_text("An account already uses this email")
    await expect(page.get_by_label("Email")).to_be_focused()
    await screenshot(page, tmp_path, "signup-taken")

    await page.get_by_role("link", name="Reset the password").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Reset your password")
    assert await session_cookie(visitor) is None


async def test_a_forgotten_password_is_reset_by_mail_and_the_new_one_signs_in(
    visitor: Visitor, api: httpx.AsyncClient, site: Site, tmp_path: Path
) -> None:
    address = new_address("forgot")
    await sign_up(api, address)
    page, _ = await visitor.open(f"{site.base_url}/login")
    await page.get_by_role("link", name="Forgot your password?").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Reset your password")
    await expect(page.get_by_label("Email")).to_be_focused()
    await screenshot(page, tmp_path, "forgot-password")

    await page.get_by_label("Email").fill(address)
    sent = await submit(page, "Send me a link")
    assert sent.status == 200
    await expect(page.get_by_role("status")).to_contain_text(f"If an account uses {address}")
    await screenshot(page, tmp_path, "forgot-password-sent")

    reset, _ = await visitor.open(await link_in_mail(site, address, "reset-password"))
    await reset.get_by_label("New password").fill(NEW_PASSWORD)
    await submit(reset, "Set my new password")
    await expect(reset.get_by_role("status")).to_contain_text("Your password has been changed")

    signing_in, _ = await visitor.open(f"{site.base_url}/login")
    refused = await sign_in(signing_in, address, OLD_PASSWORD)
    assert refused.status == 401
    done = await sign_in(signing_in, address, NEW_PASSWORD)
    assert done.status == 200
    await expect_console(signing_in, address)


async def test_a_malformed_address_is_said_beside_its_field(
    visitor: Visitor, site: Site, tmp_path: Path
) -> None:
    page, _ = await visitor.open(f"{site.base_url}/forgot-password")
    # What the browser's own check lets through, but ours does not: a local part over 64.
    await page.get_by_label("Email").fill("a" * 65 + "@example.com")
    refused = await submit(page, "Send me a link")
    assert refused.status == 422
    email = page.get_by_label("Email")
    await expect(email).to_have_attribute("aria-describedby", "email-error")
    await expect(page.get_by_role("alert")).to_contain_text("not an email address we can use")
    await screenshot(page, tmp_path, "forgot-password-malformed")


async def test_the_cookie_is_http_only_and_lax_and_no_script_sees_it(
    visitor: Visitor, api: httpx.AsyncClient, site: Site
) -> None:
    address = new_address("cookie")
    await sign_up(api, address)
    page, _ = await visitor.open(f"{site.base_url}/login")
    await sign_in(page, address)

    cookie = await session_cookie(visitor)
    assert cookie is not None
    assert (cookie.get("httpOnly"), cookie.get("sameSite"), cookie.get("secure")) == (
        True,
        "Lax",
        False,  # the site is served on http
    )
    assert (cookie.get("domain"), cookie.get("path")) == ("localhost", "/")
    assert COOKIE not in await page.evaluate("document.cookie")


def page_of_another_site(site: Site, action: str, fields: dict[str, str]) -> str:
    inputs = "".join(f'<input name="{name}" value="{value}">' for name, value in fields.items())
    return (
        "<!doctype html><title>Win a prize</title>"
        f'<form method="post" action="{site.base_url}{action}">{inputs}'
        "<button>Claim the prize</button></form>"
    )


async def visit_another_site(visitor: Visitor, site: Site, action: str, **fields: str) -> Page:
    """A page of evil.test with a form aimed at the site, opened in the visitor's browser (and
    not noted as the visitor's own pages: it is the point to load it)."""
    body = page_of_another_site(site, action, fields)
    await visitor.context.route(
        f"{EVIL}/**", lambda route: route.fulfill(content_type="text/html", body=body)
    )
    page = await visitor.context.new_page()
    await page.goto(f"{EVIL}/prize")
    return page


async def test_a_form_on_another_site_cannot_sign_out_nor_sign_in(
    visitor: Visitor, api: httpx.AsyncClient, site: Site
) -> None:
    address = new_address("target")
    await sign_up(api, address)
    mine, _ = await visitor.open(f"{site.base_url}/login")
    await sign_in(mine, address)
    before = await session_cookie(visitor)

    evil = await visit_another_site(visitor, site, "/logout", csrf_token="guessed")
    refused = await submit(evil, "Claim the prize")
    assert refused.status == 403
    await expect(evil.get_by_role("alert")).to_contain_text("did not come from this site")
    assert await session_cookie(visitor) == before
    await mine.reload()
    await expect_console(mine, address)

    # Nor may it sign the browser in to an account of its choosing.
    await visitor.context.clear_cookies()
    planted = await visit_another_site(
        visitor, site, "/login", email=address, password=OLD_PASSWORD
    )
    refused = await submit(planted, "Claim the prize")
    assert refused.status == 403
    assert await session_cookie(visitor) is None


@pytest.mark.parametrize("attempt", ["https://evil.test/", "//evil.test", "/\\evil.test"])
async def test_return_to_another_site_is_ignored_after_sign_in(
    visitor: Visitor, api: httpx.AsyncClient, site: Site, attempt: str
) -> None:
    address = new_address("redirect")
    await sign_up(api, address)
    page, _ = await visitor.open(f"{site.base_url}/login?return_to={attempt}")
    await sign_in(page, address)
    assert f"{site.base_url}/account" == page.url
    await expect_console(page, address)


async def test_revoking_the_browser_session_through_the_api_signs_the_page_out(
    visitor: Visitor, api: httpx.AsyncClient, site: Site
) -> None:
    address = new_address("revoked")
    await sign_up(api, address)
    page, _ = await visitor.open(f"{site.base_url}/login")
    await sign_in(page, address)
    await expect_console(page, address)

    auth = await bearer(api, address, OLD_PASSWORD)
    sessions: list[dict[str, Any]] = (await api.get(SESSIONS, headers=auth)).json()
    (browser_session,) = [s for s in sessions if not s["current"]]
    ended = await api.delete(f"{SESSIONS}/{browser_session['id']}", headers=auth)
    assert ended.status_code == 204

    await page.reload()
    assert path_of(page) == "/login?return_to=%2Faccount"
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


async def test_the_sign_out_button_ends_the_session(
    visitor: Visitor, api: httpx.AsyncClient, site: Site
) -> None:
    address = new_address("leaving")
    await sign_up(api, address)
    page, _ = await visitor.open(f"{site.base_url}/login")
    await sign_in(page, address)

    out = await submit(page, "Sign out")
    assert out.status == 200
    assert path_of(page) == "/login"
    assert await session_cookie(visitor) is None
    auth = await bearer(api, address, OLD_PASSWORD)
    sessions = (await api.get(SESSIONS, headers=auth)).json()
    assert [s["current"] for s in sessions] == [True]  # only the API's own

    await page.goto(f"{site.base_url}/account")
    assert path_of(page) == "/login?return_to=%2Faccount"


async def test_keyboard_alone_signs_up(visitor: Visitor, site: Site) -> None:
    address = new_address("keyboard")
    page, _ = await visitor.open(f"{site.base_url}/signup")
    await expect(page.get_by_label("Email")).to_be_focused()
    await page.keyboard.type(address)
    for text in ("", NEW_PASSWORD, NEW_PASSWORD):
        await page.keyboard.press("Tab")
        await page.keyboard.type(text)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await expect_console(page, address)
