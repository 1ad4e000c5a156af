"""Signing in through an upstream provider as a person does, in headless Chromium against a real
`portcullis serve` and a real OpenID provider (oidc-provider-mock): from the sign-in page to the
provider's page and back, signed in; and linking from the console, whose form leads off the site.

The provider's page is another origin (and loads a stylesheet from the internet, which fails
here): these tests use a browser context of their own rather than the `visitor` fixture, which
holds every page to this site."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.e2e.browser import OLD_PASSWORD, Site, new_address, screenshot, serve_site, sign_up

# The browser fixtures are imported by name, which is how pytest finds them in a module.
from tests.e2e.browser import api as api
from tests.e2e.browser import browser as browser
from tests.e2e.browser import chromium as chromium
from tests.oidc_provider import oidc_provider, put_user

# The provider runs on Authlib's server side through calls Authlib has since deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with oidc_provider() as address:
        yield address


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, issuer: str) -> Iterator[Site]:
    with serve_site(
        tmp_path_factory.mktemp("upstream"),
        PORTCULLIS_OIDC_PROVIDERS="corp",
        PORTCULLIS_OIDC_CORP_ISSUER=issuer,
        PORTCULLIS_OIDC_CORP_CLIENT_ID="portcullis",
        PORTCULLIS_OIDC_CORP_CLIENT_SECRET="upstream-secret",
    ) as served:
        yield served


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context()
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        await context.close()


async def sign_in_at_the_provider(page: Page, issuer: str, subject: str) -> None:
    await page.wait_for_url(lambda url: url.startswith(f"{issuer}/"))
    await page.get_by_placeholder("sub").fill(subject)
    await page.get_by_role("button", name="Authorize").click()


async def test_continue_with_corp_signs_in_and_lands_on_the_console(
    context: BrowserContext, site: Site, issuer: str, tmp_path: Path
) -> None:
    subject = f"sub-{uuid.uuid4().hex[:12]}"
    address = new_address("upstream")
    put_user(issuer, subject, {"email": address, "email_verified": True})
    page = await context.new_page()
    await page.goto(f"{site.base_url}/login")
    await screenshot(page, tmp_path, "login-with-providers")

    await page.get_by_role("link", name="Continue with Corp").click()
    await sign_in_at_the_provider(page, issuer, subject)

    await page.wait_for_url(f"{site.base_url}/account")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    await expect(page.get_by_text(f"Signed in as {address}")).to_be_visible()
    linked = page.get_by_role("region", name="Linked accounts")
    unlink = linked.get_by_role("button", name=f"Unlink your Corp account {address}")
    await expect(unlink).to_be_visible()
    await screenshot(page, tmp_path, "console-linked")
    cookies = {c.get("name") for c in await context.cookies(site.base_url)}
    assert "portcullis_session" in cookies


async def test_linking_from_the_console_goes_to_the_provider_and_back(
    context: BrowserContext, site: Site, issuer: str, api: httpx.AsyncClient
) -> None:
    address = new_address("linking")
    await sign_up(api, address)
    subject = f"sub-{uuid.uuid4().hex[:12]}"
    put_user(issuer, subject, {"email": "elsewhere@example.com", "email_verified": True})
    page = await context.new_page()
    await page.goto(f"{site.base_url}/login")
    await page.get_by_label("Email").fill(address)
    await page.get_by_label("Password").fill(OLD_PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url(f"{site.base_url}/account")

    await page.get_by_role("button", name="Link Corp").click()
    await sign_in_at_the_provider(page, issuer, subject)

    await page.wait_for_url(f"{site.base_url}/account?done=identity-linked")
    await expect(page.get_by_role("status")).to_contain_text("is linked")
    assert urlsplit(page.url).path == "/account"
    linked = page.get_by_role("region", name="Linked accounts")
    await expect(linked).to_contain_text("elsewhere@example.com")
