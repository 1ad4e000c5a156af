"""Headless Chromium for the page tests: Debian's `chromium`, driven by Playwright, against a
real `portcullis serve` whose `file` mail backend writes every email into a folder, from which
the tests take the link a person would click.

A test module imports the fixtures it uses by name (`from tests.e2e.browser import browser as
browser`), which is how pytest finds them, and defines its own module-scoped `site`, usually
with `serve_site`. One browser and one server per module; each test gets a fresh browser context
(no cookies, no cache), which notes every request its pages make."""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    async_playwright,
)

from tests.e2e.processes import free_port, serving

CHROMIUM = Path("/usr/bin/chromium")
# Nothing here can be downloaded, and a test has no business phoning home anyway.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OLD_PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a lighthouse keeper's seventh kettle"
BROKEN_LINK = "This link is invalid, was already used, or has expired."
MAIL_WAIT_SECONDS = 20

FORGOT = "/api/v1/auth/password/forgot"
LOGIN = "/api/v1/auth/login"


@dataclass(frozen=True)
class Site:
    base_url: str
    mail_dir: Path
    workdir: Path


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's chromium, which .ci/run installs. Without it the browser tests are skipped on a
    laptop, but fail in CI: there a skip would hide that the pages were never tried."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = f"{CHROMIUM} is missing: the browser tests need Debian's chromium package"
    if os.environ.get("CI"):
        pytest.fail(message + " (in CI it must be installed)")
    pytest.skip(message + " (apt-get install chromium)")


@pytest.fixture(scope="module")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def api(site: Site) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=site.base_url, timeout=10) as client:
        yield client


class Visitor:
    """A person at the browser. Every request of every page it opens is noted, every failed
    load of a stylesheet or image, and every console error (where the browser reports what the
    Content-Security-Policy blocked)."""

    def __init__(self, context: BrowserContext, site: Site) -> None:
        self.context = context
        self.site = site
        self.requests: list[str] = []
        self.failed_resources: list[str] = []
        self.console_errors: list[str] = []

    async def open(self, url: str) -> tuple[Page, Response]:
        page = await self.context.new_page()
        page.on("request", self._note_request)
        page.on("requestfailed", self._note_failure)
        page.on("response", self._note_response)
        page.on("console", self._note_console)
        response = await page.goto(url)
        assert response is not None
        return page, response

    async def press(self, page: Page, button: str) -> Response:
        """Press the button, wait for the page that the form's POST brings."""
        async with page.expect_navigation() as navigation:
            await page.get_by_role("button", name=button).click()
        response = await navigation.value
        assert response is not None
        assert response.request.method == "POST"
        return response

    def _note_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _note_failure(self, request: Request) -> None:
        self.failed_resources.append(f"{request.url}: {request.failure}")

    def _note_response(self, response: Response) -> None:
        # A failure page is a 400 or 422 document on purpose; what it loads must all work. A
        # 304 is the browser's cached copy confirmed (a stylesheet edited moments ago is
        # revalidated on every load).
        if response.request.resource_type != "document" and not (
            response.ok or response.status == 304
        ):
            self.failed_resources.append(f"{response.url}: {response.status}")

    def _note_console(self, message: ConsoleMessage) -> None:
        # Chromium logs every 4xx document as "Failed to load resource"; see _note_response.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(message.text)

    def assert_stayed_on_the_site(self) -> None:
        home = urlsplit(self.site.base_url)
        elsewhere = [
            url
            for url in self.requests
            if (urlsplit(url).scheme, urlsplit(url).netloc) != (home.scheme, home.netloc)
        ]
        assert not elsewhere, f"the pages loaded from other origins: {elsewhere}"
        assert not self.failed_resources, self.failed_resources
        assert not self.console_errors, self.console_errors


@pytest.fixture
def javascript() -> bool:
    """Whether the browser runs JavaScript; a test parametrizes this to try the pages without."""
    return True


@pytest.fixture
async def visitor(browser: Browser, site: Site, javascript: bool) -> AsyncIterator[Visitor]:
    context = await browser.new_context(java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    visitor = Visitor(context, site)
    try:
        yield visitor
    finally:
        await context.close()
    visitor.assert_stayed_on_the_site()


def new_address(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:10]}@example.com"


async def sign_up(api: httpx.AsyncClient, address: str) -> None:
    response = await api.post(
        "/api/v1/auth/signup", json={"email": address, "password": OLD_PASSWORD}
    )
    assert response.status_code == 201, response.text


async def log_in(api: httpx.AsyncClient, address: str, password: str) -> httpx.Response:
    return await api.post(LOGIN, json={"email": address, "password": password})


async def link_in_mail(site: Site, address: str, page: str) -> str:
    """The link to `page` in the newest email to `address`, taken from the text part as a person
    would copy it; waits (bounded) for the server's dispatcher to have written the email."""
    pattern = re.compile(rf"{re.escape(site.base_url)}/{page}\?token=\S+")
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while True:
        links = [
            match.group(0)
            for message in _messages_to(site.mail_dir, address)
            if (match := pattern.search(_text_of(message)))
        ]
        if links:
            return links[-1]
        assert time.monotonic() < deadline, f"no {page} email to {address} in the mail folder"
        await asyncio.sleep(0.2)


def _messages_to(mail_dir: Path, address: str) -> list[EmailMessage]:
    parser = email.parser.BytesParser(policy=email.policy.default)
    messages = []
    for path in sorted(mail_dir.glob("*.eml")):  # the names sort by time of writing
        message = parser.parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        if str(message["To"]).lower() == address.lower():
            messages.append(message)
    return messages


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    text: str = part.get_content()
    return text


async def screenshot(page: Page, tmp_path: Path, name: str) -> None:
    await page.screenshot(path=tmp_path / f"{name}.png", full_page=True)


@contextlib.contextmanager
def serve_site(workdir: Path, **variables: str) -> Iterator[Site]:
    """A server at http://localhost:<port> whose public URL is that address: a secure context
    for WebAuthn (browsers refuse an IP address as a passkey's RP ID), and the origin its forms
    and emails use. The API is reached at the same address."""
    port = free_port()
    base_url = f"http://localhost:{port}"
    mail_dir = workdir / "mail"
    with serving(
        workdir,
        {
            "PORTCULLIS_PUBLIC_URL": base_url,
            "PORTCULLIS_MAIL_BACKEND": "file",
            "PORTCULLIS_MAIL_DIR": str(mail_dir),
            "PORTCULLIS_MAIL_DISPATCH_INTERVAL_SECONDS": "1",
            **variables,
        },
        port=port,
    ):
        yield Site(base_url, mail_dir, workdir)
