"""The README's pictures of the pages: `make screenshots` serves a fresh instance, walks a
person through it in headless Chromium and writes small PNGs into docs/screenshots/."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import httpx
import pyotp
from playwright.async_api import Page, ViewportSize, async_playwright

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, Site, serve_site

PASSWORD = "correct horse battery staple"
EMAIL = "ada@example.com"
VIEWPORT: ViewportSize = {"width": 720, "height": 640}


async def shoot(page: Page, folder: Path, name: str) -> None:
    await page.screenshot(path=folder / f"{name}.png", full_page=True)
    print(f"{folder / name}.png")


async def take(site: Site, folder: Path) -> None:
    async with httpx.AsyncClient(base_url=site.base_url, timeout=10) as api:
        signed_up = await api.post(
            "/api/v1/auth/signup", json={"email": EMAIL, "password": PASSWORD, "name": "Ada"}
        )
        signed_up.raise_for_status()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        context = await browser.new_context(viewport=VIEWPORT, color_scheme="light")
        page = await context.new_page()
        await page.goto(f"{site.base_url}/signup")
        await shoot(page, folder, "signup")
        await page.goto(f"{site.base_url}/login")
        await page.get_by_label("Email").fill(EMAIL)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.wait_for_selector("[data-passkey-sign-in]:not([hidden])")
        await shoot(page, folder, "login")
        await page.get_by_role("button", name="Sign in", exact=True).click()
        await page.wait_for_url("**/account")

        await page.locator("#totp-password").fill(PASSWORD)
        await page.locator("form[action='/account/totp'] button").click()
        await page.wait_for_load_state()
        await page.locator(".second-factor").screenshot(path=folder / "totp-set-up.png")
        print(folder / "totp-set-up.png")
        key = await page.locator("#totp-secret").input_value()
        await page.locator("#totp-code").fill(pyotp.TOTP(key.replace(" ", "")).now())
        await page.get_by_role("button", name="Turn on two-step sign-in").click()
        await page.wait_for_load_state()
        await shoot(page, folder, "account")

        await page.get_by_role("button", name="Sign out", exact=True).first.click()
        await page.wait_for_url("**/login")
        await page.get_by_label("Email").fill(EMAIL)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in", exact=True).click()
        await page.wait_for_load_state()
        await shoot(page, folder, "login-second-step")
        await browser.close()


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir, serve_site(Path(workdir)) as site:
        asyncio.run(take(site, folder))


if __name__ == "__main__":
    main()
