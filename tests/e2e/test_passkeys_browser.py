"""Passkeys in headless Chromium, with Chromium's own virtual authenticator standing in for the
device: a person adds a passkey on the account console, signs out, and signs in again with it.
The page script, the browser's WebAuthn and the server meet as they do for real.

The virtual authenticator belongs to the tab it was added to, so each test keeps to one page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser import (
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
from tests.webauthn_authenticator import SoftwareAuthenticator

PASSKEYS = "/api/v1/users/me/passkeys"
# A platform authenticator that verifies its user (a fingerprint, a PIN) without being asked.
VIRTUAL_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(tmp_path_factory.mktemp("passkeys")) as site:
        yield site


async def with_authenticator(visitor: Visitor, page: Page) -> None:
    cdp = await visitor.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR})


async def api_passkeys(api: httpx.AsyncClient, address: str) -> list[dict[str, Any]]:
    tokens = (await log_in(api, address, OLD_PASSWORD)).json()
    listed = await api.get(PASSKEYS, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert listed.status_code == 200
    passkeys: list[dict[str, Any]] = listed.json()
    return passkeys


async def sign_in_with_password(page: Page, address: str) -> None:
    await page.get_by_label("Email").fill(address)
    await page.get_by_label("Password").fill(OLD_PASSWORD)
    async with page.expect_navigation(url="**/account"):
        await page.get_by_role("button", name="Sign in", exact=True).click()


async def add_passkey(page: Page, password: str, name: str) -> None:
    form = page.get_by_role("form", name="Add a passkey")
    await form.get_by_label("Current password").fill(password)
    await form.get_by_label("Name of the passkey").fill(name)
    await form.get_by_role("button", name="Add a passkey").click()


async def test_a_person_adds_a_passkey_and_signs_in_with_it(
    visitor: Visitor, api: httpx.AsyncClient, site: Site, tmp_path: Path
) -> None:
    address = new_address("passkey")
    await sign_up(api, address)
    page, _ = await visitor.open(f"{site.base_url}/login")
    await with_authenticator(visitor, page)
    await expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_visible()
    await screenshot(page, tmp_path, "login-with-passkey-button")
    await sign_in_with_password(page, address)

    passkeys = page.get_by_role("region", name="Passkeys")
    await expect(passkeys).to_contain_text("You have no passkeys yet.")
    await expect(passkeys.get_by_text("takes JavaScript")).to_be_hidden()
    async with page.expect_navigation(url="**/account?done=passkey-added"):
        await add_passkey(page, OLD_PASSWORD, "Test key")
    await expect(page.get_by_role("status")).to_contain_text("Your passkey is added")
    await expect(passkeys.get_by_role("listitem")).to_have_count(1)
    await expect(passkeys.get_by_role("listitem")).to_contain_text("Test key")
    await expect(passkeys.get_by_role("listitem")).to_contain_text("not used yet")
    await screenshot(page, tmp_path, "account-with-a-passkey")
    [listed] = await api_passkeys(api, address)
    assert listed["name"] == "Test key"
    assert listed["last_used_at"] is None

    async with page.expect_navigation(url="**/login"):
        await page.get_by_role("button", name="Sign out", exact=True).click()
    async with page.expect_navigation(url="**/account"):
        await page.get_by_role("button", name="Sign in with a passkey").click()
    await expect(page.get_by_text("Signed in as")).to_contain_text(address)
    await expect(passkeys.get_by_role("listitem")).to_contain_text("last used")
    [listed] = await api_passkeys(api, address)
    assert listed["last_used_at"] is not None


async def test_a_wrong_password_is_said_beside_its_field_and_adds_nothing(
    visitor: Visitor, api: httpx.AsyncClient, site: Site, tmp_path: Path
) -> None:
    address = new_address("wrong")
    await sign_up(api, address)
    page, _ = await visitor.open(f"{site.base_url}/login")
    await with_authenticator(visitor, page)
    await sign_in_with_password(page, address)

    await add_passkey(page, "not my password at all", "Test key")

    error = page.get_by_role("alert")
    await expect(error).to_have_text("That password is not right.")
    password = page.locator("#passkey-password")
    await expect(password).to_be_focused()
    await expect(password).to_have_attribute("aria-invalid", "true")
    await expect(password).to_have_attribute("aria-describedby", "passkey-add-error")
    await screenshot(page, tmp_path, "account-passkey-wrong-password")
    assert await api_passkeys(api, address) == []
    assert visitor.failed_resources == [f"{site.base_url}/account/passkeys/options: 400"]
    visitor.failed_resources.clear()

    # Put right, the same form goes on.
    async with page.expect_navigation(url="**/account?done=passkey-added"):
        await add_passkey(page, OLD_PASSWORD, "Test key")
    assert [p["name"] for p in await api_passkeys(api, address)] == ["Test key"]


async def test_a_passkey_removed_from_the_account_no_longer_signs_in(
    visitor: Visitor, api: httpx.AsyncClient, site: Site, tmp_path: Path
) -> None:
    address = new_address("removed")
    await sign_up(api, address)
    page, _ = await visitor.open(f"{site.base_url}/login")
    await with_authenticator(visitor, page)
    await sign_in_with_password(page, address)
    async with page.expect_navigation(url="**/account?done=passkey-added"):
        await add_passkey(page, OLD_PASSWORD, "Soon gone")
    async with page.expect_navigation(url="**/account?done=passkey-removed"):
        await page.get_by_role("button", name="Remove the passkey “Soon gone”").click()
    await expect(page.get_by_role("status")).to_contain_text("That passkey is removed")
    async with page.expect_navigation(url="**/login"):
        await page.get_by_role("button", name="Sign out", exact=True).click()

    button = page.get_by_role("button", name="Sign in with a passkey")
    await button.click()  # the device still holds it; the service no longer knows it

    await expect(page.get_by_role("alert")).to_contain_text("That passkey was not accepted")
    await expect(button).to_be_focused()
    await expect(button).to_be_enabled()
    await screenshot(page, tmp_path, "login-passkey-refused")
    assert page.url == f"{site.base_url}/login"
    assert visitor.failed_resources == [f"{site.base_url}/login/passkey: 401"]
    visitor.failed_resources.clear()


@pytest.mark.parametrize("javascript", [False], ids=["javascript-off"])
async def test_without_javascript_passkeys_are_renamed_and_removed_and_never_offered(
    visitor: Visitor, api: httpx.AsyncClient, site: Site, tmp_path: Path
) -> None:
    address = new_address("nojs")
    await sign_up(api, address)
    tokens = (await log_in(api, address, OLD_PASSWORD)).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    options = await api.post(
        f"{PASSKEYS}/options", json={"current_password": OLD_PASSWORD}, headers=bearer
    )
    credential = SoftwareAuthenticator().register(options.json()["public_key"], site.base_url)
    body = {"challenge_id": options.json()["challenge_id"], "credential": credential}
    assert (await api.post(PASSKEYS, json={**body, "name": "Phone"}, headers=bearer)).is_success

    page, _ = await visitor.open(f"{site.base_url}/login")
    await expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
    await sign_in_with_password(page, address)
    passkeys = page.get_by_role("region", name="Passkeys")
    await expect(passkeys.get_by_text("Adding a passkey takes JavaScript")).to_be_visible()
    await expect(page.get_by_role("button", name="Add a passkey")).to_be_hidden()
    await expect(passkeys.get_by_role("listitem")).to_contain_text("Phone")

    await passkeys.get_by_text("Rename").click()
    new_name = page.get_by_label("New name for “Phone”")
    await new_name.fill("   ")
    refused = await visitor.press(page, "Save name")
    assert refused.status == 422
    await expect(page.get_by_role("alert")).to_have_text("That name must not be blank.")
    await expect(new_name).to_be_focused()  # its disclosure open again, the cursor in it
    await screenshot(page, tmp_path, "account-passkey-bad-name")
    await new_name.fill("Old phone")
    async with page.expect_navigation(url="**/account?done=passkey-renamed"):
        await page.get_by_role("button", name="Save name").click()
    await expect(passkeys.get_by_role("listitem")).to_contain_text("Old phone")
    await screenshot(page, tmp_path, "account-passkeys-without-javascript")

    async with page.expect_navigation(url="**/account?done=passkey-removed"):
        await page.get_by_role("button", name="Remove the passkey “Old phone”").click()
    await expect(passkeys).to_contain_text("You have no passkeys yet.")
    assert await api_passkeys(api, address) == []
