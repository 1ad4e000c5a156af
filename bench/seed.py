"""Accounts for the workloads, made through the service's own API, and the tokens an OAuth
client holds for them, obtained through the pages and the token endpoint as a relying party
would."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

_SEEDING_IN_FLIGHT = 4  # bcrypt runs in the worker's threads: enough to keep both cores busy


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    access_token: str  # of a session the token workloads share
    refresh_token: str  # of a second session, which nothing but the refresh chain uses
    oauth_access_token: str  # the bench's OAuth client's, for the introspection workload


@dataclass(frozen=True)
class Seeded:
    """The files the wrk scripts read, one line an account."""

    accounts: Path  # "email<TAB>password"
    access_tokens: Path
    refresh_tokens: Path
    oauth_access_tokens: Path


@dataclass(frozen=True)
class Client:
    """An OAuth client registered for the bench: confidential and first party (no consent)."""

    client_id: str
    client_secret: str
    redirect_uri: str

    @property
    def basic_credentials(self) -> str:
        """The id and secret as HTTP Basic sends them (both are URL-safe already)."""
        return base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()


def _expect(response: httpx.Response, status: int, step: str) -> httpx.Response:
    if response.status_code != status:
        raise RuntimeError(f"seeding: {step} {response.status_code} {response.text}")
    return response


# The sign-in form is a page's: it is sent as the browser sends it from this site.
_FROM_THE_SIGN_IN_PAGE = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}


async def _oauth_access_token(base_url: str, oauth: Client, credentials: dict[str, str]) -> str:
    """Signs in on the page (a browser of its own, for its cookie), follows an authorization
    request to the redirect URI's code, and trades it at the token endpoint."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = {
        "response_type": "code",
        "client_id": oauth.client_id,
        "redirect_uri": oauth.redirect_uri,
        "scope": "openid email",
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as browser:
        signed_in = await browser.post("/login", data=credentials, headers=_FROM_THE_SIGN_IN_PAGE)
        _expect(signed_in, 303, "page sign-in")
        redirected = await browser.get("/oauth2/authorize", params=query)
        if redirected.status_code not in (302, 303):
            _expect(redirected, 302, "authorize")
        code = parse_qs(urlsplit(redirected.headers["location"]).query)["code"][0]
        exchange = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": oauth.redirect_uri,
            "code_verifier": verifier,
        }
        answered = await browser.post(
            "/oauth2/token", data=exchange, auth=(oauth.client_id, oauth.client_secret)
        )
        return str(_expect(answered, 200, "token").json()["access_token"])


async def _account(
    client: httpx.AsyncClient,
    limit: asyncio.Semaphore,
    oauth: Client,
    tag: str,
    i: int,
) -> Account:
    credentials = {
        "email": f"user-{tag}-{i}@bench.example.com",
        "password": f"bench-{tag}-{i}-Tr0mbone-quartz",
    }
    async with limit:
        _expect(await client.post("/api/v1/auth/signup", json=credentials), 201, "signup")
        sessions = [
            _expect(await client.post("/api/v1/auth/login", json=credentials), 200, "login").json()
            for _ in range(2)
        ]
        oauth_access_token = await _oauth_access_token(str(client.base_url), oauth, credentials)
    return Account(
        email=credentials["email"],
        password=credentials["password"],
        access_token=str(sessions[0]["access_token"]),
        refresh_token=str(sessions[1]["refresh_token"]),
        oauth_access_token=oauth_access_token,
    )


async def _accounts(base_url: str, oauth: Client, tag: str, count: int) -> list[Account]:
    limit = asyncio.Semaphore(_SEEDING_IN_FLIGHT)
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as client:
        return await asyncio.gather(*(_account(client, limit, oauth, tag, i) for i in range(count)))


def seed(base_url: str, oauth: Client, tag: str, count: int, workdir: Path) -> Seeded:
    """`count` accounts signed up, each logged in twice through the API and once through the
    pages for `oauth`; their files written in `workdir`."""
    accounts = asyncio.run(_accounts(base_url, oauth, tag, count))
    seeded = Seeded(
        workdir / "accounts.tsv",
        workdir / "access.txt",
        workdir / "refresh.txt",
        workdir / "oauth-access.txt",
    )
    seeded.accounts.write_text("".join(f"{a.email}\t{a.password}\n" for a in accounts))
    seeded.access_tokens.write_text("".join(f"{a.access_token}\n" for a in accounts))
    seeded.refresh_tokens.write_text("".join(f"{a.refresh_token}\n" for a in accounts))
    seeded.oauth_access_tokens.write_text("".join(f"{a.oauth_access_token}\n" for a in accounts))
    return seeded
