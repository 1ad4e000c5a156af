"""An application's sign-in as a person goes through it, in headless Chromium against a real
`portcullis serve`: the authorization request finds no session, the sign-in page (and its
second step) and the consent page follow, and the browser lands on the client's redirect URI,
on another origin, with a code and the state it was sent with.

Then relying parties' own libraries finish the job, each from the provider's discovery
document: Authlib's client (a confidential client, client_secret_basic, PKCE) and
requests-oauthlib (a public client, PKCE, offline_access) trade the code the browser brought
for tokens, read userinfo with the access token, and requests-oauthlib refreshes once. Their
ID tokens are verified by jwcrypto, a JOSE library of its own, against the published JWKS, and
tell how the person signed in (amr).

The client is a small HTTP server on another port (another origin) that notes the URLs the
browser brings it. (Playwright's routing would not do: it does not see the request a redirect
makes.) The visitor's own checks (no console error, which is where Chromium reports a
navigation its Content-Security-Policy blocked) still apply."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from playwright.async_api import Page, expect
from requests_oauthlib import OAuth2Session

from domain.pkce import s256_challenge
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
from tests.e2e.conftest import bearer
from tests.e2e.processes import free_port, run_portcullis
from tests.e2e.test_mfa import code_at, enroll
from tests.jose import verify_independently

CLIENT_PORT = free_port()
CLIENT_ORIGIN = f"http://127.0.0.1:{CLIENT_PORT}"
CALLBACK = f"{CLIENT_ORIGIN}/callback"
VERIFIER = "a-relying-partys-code-verifier-that-is-long-enough-for-pkce"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(tmp_path_factory.mktemp("authorize")) as served:
        yield served


def registered(site: Site, *options: str) -> dict[str, str]:
    """The client's id, and a confidential one's secret."""
    created = run_portcullis(
        site.workdir, "clients", "create", "Team notes", "--redirect-uri", CALLBACK, *options
    )
    assert created.returncode == 0, created.stderr
    shown: dict[str, str] = json.loads(created.stdout)
    return shown


@pytest.fixture(scope="module")
def client_id(site: Site) -> str:
    return registered(site, "--public")["client_id"]


@pytest.fixture(scope="module")
def first_party_client_id(site: Site) -> str:
    return registered(site, "--public", "--first-party")["client_id"]


class ClientPages(BaseHTTPRequestHandler):
    """The relying party: notes each URL it is asked for and answers with a plain page."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        if self.path != "/favicon.ico":  # the browser's own request, not the flow's
            self.seen.append(CLIENT_ORIGIN + self.path)
        body = b"<!doctype html><title>Notes</title><p>Signed in</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def relying_party() -> Iterator[list[str]]:
    """The URLs the client has been asked for."""
    server = ThreadingHTTPServer(("127.0.0.1", CLIENT_PORT), ClientPages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ClientPages.seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def landed(relying_party: list[str], visitor: Visitor) -> Iterator[list[str]]:
    """The URLs the browser was sent to at the client, in this test."""
    relying_party.clear()
    yield relying_party
    # The client's page is the one request off the site, on purpose.
    visitor.requests[:] = [url for url in visitor.requests if not url.startswith(CLIENT_ORIGIN)]


def authorization_url(site: Site, client_id: str, state: str) -> str:
    return f"{site.base_url}/oauth2/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid profile email",
            "state": state,
            "nonce": "n-0S6_WzA2Mj",
            "code_challenge": s256_challenge(VERIFIER),
            "code_challenge_method": "S256",
        }
    )


async def password_step(page: Page, address: str) -> None:
    assert urlsplit(page.url).path == "/login"
    await page.get_by_label("Email").fill(address)
    await page.get_by_label("Password").fill(OLD_PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()


async def totp_step(page: Page, secret: str) -> None:
    await expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    # A step ahead: the enrolment's confirmation spent the current one.
    await page.get_by_label("Code from your authenticator app").fill(code_at(secret, 1))
    await page.get_by_role("button", name="Continue").click()


async def consent_then_land(
    page: Page, landed: list[str], tmp_path: Path, state: str
) -> dict[str, list[str]]:
    await expect(page.get_by_role("heading", level=1)).to_have_text("Allow access to your account?")
    await expect(page.get_by_text("Team notes")).to_be_visible()
    await expect(page.get_by_text("See your email address")).to_be_visible()
    await screenshot(page, tmp_path, "consent")
    async with page.expect_navigation(url=f"{CALLBACK}?**"):
        await page.get_by_role("button", name="Allow").click()
    [url] = landed
    assert url.startswith(CALLBACK + "?")
    query = parse_qs(urlsplit(url).query)
    assert query["state"] == [state]
    assert len(query["code"]) == 1
    return query


async def test_sign_in_then_consent_lands_on_the_client_with_a_code_and_the_state(
    visitor: Visitor,
    api: httpx.AsyncClient,
    site: Site,
    client_id: str,
    landed: list[str],
    tmp_path: Path,
) -> None:
    address = new_address("oidc")
    await sign_up(api, address)

    page, _ = await visitor.open(authorization_url(site, client_id, "xyz-state"))
    await password_step(page, address)

    await consent_then_land(page, landed, tmp_path, "xyz-state")


async def test_an_account_with_totp_passes_its_second_step_on_the_way(
    visitor: Visitor,
    api: httpx.AsyncClient,
    site: Site,
    client_id: str,
    landed: list[str],
    tmp_path: Path,
) -> None:
    address = new_address("oidc-totp")
    await sign_up(api, address)
    secret, _ = await enroll(api, (await log_in(api, address, OLD_PASSWORD)).json())

    page, _ = await visitor.open(authorization_url(site, client_id, "totp-state"))
    await password_step(page, address)
    await totp_step(page, secret)

    await consent_then_land(page, landed, tmp_path, "totp-state")


async def test_for_a_first_party_client_the_sign_in_form_leads_straight_to_the_client(
    visitor: Visitor,
    api: httpx.AsyncClient,
    site: Site,
    first_party_client_id: str,
    landed: list[str],
) -> None:
    address = new_address("oidc-first-party")
    await sign_up(api, address)

    page, _ = await visitor.open(authorization_url(site, first_party_client_id, "fp-state"))
    async with page.expect_navigation(url=f"{CALLBACK}?**"):
        await password_step(page, address)

    [url] = landed
    query = parse_qs(urlsplit(url).query)
    assert query["state"] == ["fp-state"]
    assert len(query["code"]) == 1


# --- relying parties' own libraries --------------------------------------------------------------


async def discovered(api: httpx.AsyncClient) -> dict[str, Any]:
    """The provider as a relying party learns it: its discovery document."""
    response = await api.get("/.well-known/openid-configuration")
    assert response.status_code == 200, response.text
    provider: dict[str, Any] = response.json()
    return provider


async def published_keys(api: httpx.AsyncClient, provider: dict[str, Any]) -> dict[str, Any]:
    keys: dict[str, Any] = (await api.get(provider["jwks_uri"])).json()
    return keys


async def test_authlib_signs_in_a_person_with_totp_and_verifies_the_id_token(
    visitor: Visitor,
    api: httpx.AsyncClient,
    site: Site,
    landed: list[str],
    tmp_path: Path,
) -> None:
    address = new_address("authlib")
    await sign_up(api, address)
    tokens = (await log_in(api, address, OLD_PASSWORD)).json()
    person = (await api.get("/api/v1/users/me", headers=bearer(tokens))).json()
    secret, _ = await enroll(api, tokens)
    provider = await discovered(api)
    notes = registered(site)
    verifier = generate_token(48)
    nonce = generate_token(20)

    async with AsyncOAuth2Client(
        client_id=notes["client_id"],
        client_secret=notes["client_secret"],
        token_endpoint_auth_method="client_secret_basic",
        redirect_uri=CALLBACK,
        scope="openid profile email",
        code_challenge_method="S256",
        timeout=10,
    ) as oauth:
        url, state = oauth.create_authorization_url(
            provider["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        page, _ = await visitor.open(url)
        await password_step(page, address)
        await totp_step(page, secret)
        await consent_then_land(page, landed, tmp_path, state)
        [callback] = landed
        token = await oauth.fetch_token(
            provider["token_endpoint"],
            authorization_response=callback,
            state=state,
            code_verifier=verifier,
        )
        info = await oauth.get(provider["userinfo_endpoint"])

    assert provider["issuer"] == site.base_url
    header, claims = verify_independently(
        token["id_token"],
        await published_keys(api, provider),
        algorithm="RS256",
        iss=provider["issuer"],
        aud=notes["client_id"],
        sub=person["id"],
        nonce=nonce,
    )
    assert header["typ"] == "JWT"
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["email"] == address
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == person["id"]
    assert info.json()["email"] == address


async def test_requests_oauthlib_signs_in_a_public_client_then_refreshes(
    visitor: Visitor,
    api: httpx.AsyncClient,
    site: Site,
    landed: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # oauthlib refuses any endpoint that is not https, and the test server speaks plain HTTP.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    address = new_address("oauthlib")
    await sign_up(api, address)
    tokens = (await log_in(api, address, OLD_PASSWORD)).json()
    person = (await api.get("/api/v1/users/me", headers=bearer(tokens))).json()
    provider = await discovered(api)
    public_id = registered(site, "--public")["client_id"]
    nonce = secrets.token_urlsafe(16)
    with OAuth2Session(
        public_id,
        redirect_uri=CALLBACK,
        scope=["openid", "email", "offline_access"],
        pkce="S256",
    ) as oauth:
        url, state = oauth.authorization_url(provider["authorization_endpoint"], nonce=nonce)
        assert parse_qs(urlsplit(url).query)["code_challenge_method"] == ["S256"]
        page, _ = await visitor.open(url)
        await password_step(page, address)
        await expect(page.get_by_text("Keep this access after you sign out")).to_be_visible()
        await consent_then_land(page, landed, tmp_path, state)
        [callback] = landed
        # requests is synchronous: its calls go to a thread, so that the browser's loop runs on.
        first: dict[str, Any] = dict(
            await asyncio.to_thread(
                oauth.fetch_token,
                provider["token_endpoint"],
                authorization_response=callback,
                include_client_id=True,
                timeout=10,
            )
        )
        refreshed: dict[str, Any] = dict(
            await asyncio.to_thread(
                oauth.refresh_token, provider["token_endpoint"], client_id=public_id, timeout=10
            )
        )
        info = await asyncio.to_thread(oauth.get, provider["userinfo_endpoint"], timeout=10)

    keys = await published_keys(api, provider)
    _, claims = verify_independently(
        first["id_token"],
        keys,
        algorithm="RS256",
        iss=provider["issuer"],
        aud=public_id,
        sub=person["id"],
        nonce=nonce,
    )
    assert claims["amr"] == ["pwd"]
    assert refreshed["refresh_token"] != first["refresh_token"]
    assert refreshed["access_token"] != first["access_token"]
    _, renewed = verify_independently(
        refreshed["id_token"],
        keys,
        algorithm="RS256",
        iss=provider["issuer"],
        aud=public_id,
        sub=person["id"],
        sid=claims["sid"],
    )
    # A refresh is not a sign-in: the person's proof of who they are is the one they gave.
    assert (renewed["auth_time"], renewed["amr"]) == (claims["auth_time"], claims["amr"])
    assert "nonce" not in renewed
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == person["id"]
    assert info.json()["email"] == address
