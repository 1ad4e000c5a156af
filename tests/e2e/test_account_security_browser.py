"""The account console's password and two-step sign-in sections as a person uses them: in
headless Chromium against a real `portcullis serve`, reading the TOTP key off the page as they
would type it into an authenticator app (here pyotp). Every test's visitor also checks that
nothing the pages load is blocked by their Content-Security-Policy (the inline QR code among
them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest
from playwright.async_api import Locator, Page, Response, expect

from tests.e2e.browser import (
    NEW_PASSWORD,
    OLD_PASSWORD,
    Site,
    Visitor,
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
from tests.e2e.test_mfa import code_at

WHITE = "rgb(255, 255, 255)"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(tmp_path_factory.mktemp("account-security")) as site:
        yield site


async def follow(page: Page, button: Locator) -> Response:
    """Press the button and wait for the page the browser lands on (after any redirect)."""
    async with page.expect_navigation() as navigation:
        await button.click()
    response = await navigation.value
    assert response is not None
    return response


async def sign_in(visitor: Visitor, address: str, password: str = OLD_PASSWORD) -> Page:
    page, _ = await visitor.open(f"{visitor.site.base_url}/login")
    await page.get_by_label("Email").fill(address)
    await page.get_by_label("Password").fill(password)
    await follow(page, page.get_by_role("button", name="Sign in", exact=True))
    return page


def section(page: Page, heading: str) -> Locator:
    return page.get_by_role("region", name=heading, exact=True)


async def test_a_person_turns_on_two_step_sign_in_and_signs_in_with_it(
    visitor: Visitor, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    address = new_address("totp")
    await sign_up(api, address)
    page = await sign_in(visitor, address)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    await screenshot(page, tmp_path, "console")

    second_factor = section(page, "Two-step sign-in")
    await second_factor.get_by_label("Current password").fill(OLD_PASSWORD)
    started = await visitor.press(page, "Set up an authenticator app")
    assert started.status == 200
    qr = second_factor.locator(".qr svg")
    await expect(qr).to_be_visible()
    box = await qr.bounding_box()
    assert box is not None
    assert box["width"] >= 150
    key = (await second_factor.locator(".secret code").inner_text()).strip()
    assert " " in key  # grouped for reading
    secret = key.replace(" ", "")
    await expect(second_factor.get_by_label("The key, to copy")).to_have_value(secret)
    code_field = second_factor.get_by_label("Code from your app")
    await expect(code_field).to_be_focused()
    await expect(code_field).to_have_attribute("inputmode", "numeric")
    await expect(code_field).to_have_attribute("autocomplete", "one-time-code")
    await screenshot(page, tmp_path, "totp-setup")
    # In dark mode the QR code keeps its dark modules on a light ground, or no camera reads it.
    await page.emulate_media(color_scheme="dark")
    background = await qr.evaluate("svg => getComputedStyle(svg).backgroundColor")
    assert background == WHITE
    await screenshot(page, tmp_path, "totp-setup-dark")
    await page.emulate_media(color_scheme="light")

    await code_field.fill(pyotp.TOTP(secret).now())
    confirmed = await visitor.press(page, "Turn on two-step sign-in")
    assert confirmed.status == 200
    await expect(page.get_by_role("status")).to_contain_text("Two-step sign-in is on")
    await expect(
        second_factor.get_by_role("heading", name="Save your recovery codes now")
    ).to_be_visible()
    codes = second_factor.locator(".codes li")
    await expect(codes).to_have_count(10)
    recovery_code = (await codes.first.inner_text()).strip()
    await screenshot(page, tmp_path, "recovery-codes")

    await follow(page, page.get_by_role("button", name="Sign out", exact=True))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    await page.get_by_label("Email").fill(address)
    await page.get_by_label("Password").fill(OLD_PASSWORD)
    step = await follow(page, page.get_by_role("button", name="Sign in", exact=True))
    assert (step.request.method, step.status) == ("POST", 200)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    await page.get_by_label("Code from your authenticator app").fill(code_at(secret, 1))
    await follow(page, page.get_by_role("button", name="Continue"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    await expect(section(page, "Two-step sign-in")).to_contain_text("You have 10 unused")
    await expect(page.get_by_text(recovery_code)).to_have_count(0)
    await screenshot(page, tmp_path, "console-with-totp")

    # Turning it off is folded away until asked for; its code field takes a recovery code too.
    turn_off = page.locator("details", has_text="Turn off two-step sign-in")
    await turn_off.locator("summary").click()
    off_code = turn_off.get_by_label("Code from your app, or a recovery code")
    await expect(off_code).to_be_visible()
    await expect(off_code).to_have_attribute("autocomplete", "one-time-code")
    await expect(off_code).not_to_have_attribute("inputmode", "numeric")
    await screenshot(page, tmp_path, "turn-off-form")


async def test_a_person_changes_their_password_on_the_console(
    visitor: Visitor, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    address = new_address("password")
    await sign_up(api, address)
    elsewhere = await log_in(api, address, OLD_PASSWORD)
    page = await sign_in(visitor, address)
    password = section(page, "Password")

    async def fill(current: str, new: str, again: str) -> None:
        await password.get_by_label("Current password").fill(current)
        await password.get_by_label("New password", exact=True).fill(new)
        await password.get_by_label("New password again").fill(again)

    await fill(OLD_PASSWORD, "password123", "password123")
    refused = await visitor.press(page, "Change password")
    assert refused.status == 422
    new_field = section(page, "Password").get_by_label("New password", exact=True)
    await expect(page.get_by_role("alert")).to_contain_text("That password is too common")
    await expect(new_field).to_have_attribute("aria-invalid", "true")
    await expect(new_field).to_be_focused()
    await expect(new_field).to_have_value("")
    await screenshot(page, tmp_path, "password-weak")

    await fill(OLD_PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    await follow(page, page.get_by_role("button", name="Change password"))
    await expect(page).to_have_url(f"{visitor.site.base_url}/account?done=password")
    await expect(page.get_by_role("status")).to_contain_text("Your password is changed")
    await screenshot(page, tmp_path, "password-changed")

    assert (await log_in(api, address, NEW_PASSWORD)).status_code == 200
    assert (await log_in(api, address, OLD_PASSWORD)).status_code == 401
    stale = await api.get(
        "/api/v1/users/me",
        headers={"Authorization": f"Bearer {elsewhere.json()['access_token']}"},
    )
    assert stale.status_code == 401
