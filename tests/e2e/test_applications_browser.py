"""What a person does about the applications signed in with their account, in headless Chromium
against a real `portcullis serve`: removing one's access on the console, and signing out at an
application's request, after which Chromium follows the redirect to the application's registered
post-logout URI (which the confirmation page's policy must allow its form to lead to)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import UUID

import httpx
import pytest
from playwright.async_api import expect

from domain.email import Email
from domain.grant import Grant
from domain.oauth_scope import Scope
from entrypoints.container import build_container
from entrypoints.lifecycle import running
from tests.e2e.browser import Site, Visitor, new_address, serve_site, sign_up

# The browser fixtures are imported by name, which is how pytest finds them in a module.
from tests.e2e.browser import api as api
from tests.e2e.browser import browser as browser
from tests.e2e.browser import chromium as chromium
from tests.e2e.browser import javascript as javascript
from tests.e2e.browser import visitor as visitor
from tests.e2e.conftest import settings_for
from tests.e2e.test_account_security_browser import follow, section, sign_in
from tests.integration.builders import NOW, an_oauth_client


class TheWikisPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>Wiki</title><h1>Signed out of the wiki</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def wiki_signed_out_page() -> Iterator[str]:
    """The application's own page for people it signed out, served on a loopback port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), TheWikisPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/signed-out"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(tmp_path_factory.mktemp("applications")) as site:
        yield site


async def registered_wiki(site: Site, back: str, granted_to: str | None = None) -> str:
    """A client registered straight into the site's database, granted by this account."""
    wiki = an_oauth_client(name="Team Wiki", post_logout_redirect_uris=(back,))
    database_url = f"sqlite+aiosqlite:///{site.workdir}/var/portcullis.db"
    container = build_container(settings_for(database_url))
    async with running(container, serving=False), container.unit_of_work() as uow:
        await uow.oauth_clients.add(wiki)
        if granted_to is not None:
            user = await uow.users.get_by_email(Email.parse(granted_to))
            assert user is not None
            scopes = {Scope.OPENID, Scope.EMAIL}
            await uow.oauth_grants.upsert(
                Grant.give(UUID(str(user.id)), wiki.client_id, scopes, NOW)
            )
        await uow.commit()
    return wiki.client_id


async def test_a_person_removes_an_applications_access_on_the_console(
    visitor: Visitor, api: httpx.AsyncClient, wiki_signed_out_page: str
) -> None:
    address = new_address("apps")
    await sign_up(api, address)
    await registered_wiki(visitor.site, wiki_signed_out_page, granted_to=address)
    page = await sign_in(visitor, address)

    applications = section(page, "Applications")
    await expect(applications).to_contain_text("Team Wiki")
    await expect(applications).to_contain_text("It may know who you are on this site and see")
    await follow(page, page.get_by_role("button", name="Remove the access of “Team Wiki”"))

    await expect(page.get_by_role("status")).to_contain_text("no longer has access")
    await expect(section(page, "Applications")).to_contain_text("No application has access")


async def test_an_application_signs_the_person_out_and_gets_them_back(
    visitor: Visitor, api: httpx.AsyncClient, wiki_signed_out_page: str
) -> None:
    address = new_address("logout")
    await sign_up(api, address)
    client_id = await registered_wiki(visitor.site, wiki_signed_out_page)
    page = await sign_in(visitor, address)

    query = f"client_id={client_id}&post_logout_redirect_uri={wiki_signed_out_page}&state=xyz"
    await page.goto(f"{visitor.site.base_url}/oauth2/logout?{query}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign out of Portcullis?")
    await expect(page.get_by_text("Team Wiki asks to sign you out")).to_be_visible()

    async with page.expect_navigation(url=f"{wiki_signed_out_page}?state=xyz"):
        await page.get_by_role("button", name="Sign out").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Signed out of the wiki")
    # Back on Portcullis, the browser is signed out.
    response = await page.goto(f"{visitor.site.base_url}/account")
    assert response is not None
    assert "/login" in page.url
    # The application's page was the one visit off the site.
    visitor.requests = [url for url in visitor.requests if not url.startswith(wiki_signed_out_page)]
