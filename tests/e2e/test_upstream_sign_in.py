"""Signing in through an upstream provider on the pages, through the real app, against a real
OpenID provider (oidc-provider-mock): the browser is followed by hand from /login/corp to the
provider's page, back to the callback, and on; the console links and unlinks accounts. Every
failure ends on a page that says what happened, signs nobody in, and is audited."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pydantic import SecretStr

from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.settings import UpstreamProviderSettings
from tests.e2e.conftest import LogIn, SignUp, bearer, set_active, settings_for
from tests.e2e.test_authorize import at_callback, authorize_query, register
from tests.e2e.test_browser_session import CSRF, FROM_OUR_PAGE, page_login
from tests.e2e.test_mfa import code_at, enroll
from tests.e2e.test_oauth_token import exchange
from tests.integration.test_upstream_providers import closed_port
from tests.oidc_provider import choose_user, oidc_provider, proxy, put_user

# The provider runs on Authlib's server side through calls Authlib has since deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")

CALLBACK = "http://localhost:8000/login/corp/callback"  # the default public URL's
STATE_COOKIE = "portcullis_upstream"
SESSION_COOKIE = "portcullis_session"
PAGE = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with oidc_provider() as address:
        yield address


@pytest.fixture(scope="module")
def forged_issuer(issuer: str) -> Iterator[str]:
    """The provider behind a proxy that publishes another provider's keys: its ID tokens no
    longer check out."""
    with oidc_provider() as other:
        foreign = httpx.get(f"{other}/jwks").content
        assert json.loads(foreign)["keys"]
        with proxy(issuer, answers={"/jwks": foreign}) as front:
            yield front.url


def provider(provider_id: str, name: str, issuer: str) -> UpstreamProviderSettings:
    return UpstreamProviderSettings(
        id=provider_id,
        name=name,
        issuer=issuer,
        client_id="portcullis",
        client_secret=SecretStr("upstream-secret"),
    )


@pytest.fixture
def settings_overrides(issuer: str, forged_issuer: str) -> dict[str, Any]:
    return {
        "oidc_providers": (
            provider("corp", "Corp", issuer),
            provider("forged", "Forged", forged_issuer),
        )
    }


@asynccontextmanager
async def another_app(
    database_url: str, base_url: str, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with other settings than this module's, and a client of it."""
    application = create_app(build_container(settings_for(database_url, **overrides)))
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


def subject() -> str:
    return f"sub-{uuid.uuid4().hex[:12]}"


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


async def begin(
    client: httpx.AsyncClient, provider_id: str = "corp", return_to: str | None = None
) -> str:
    """GET /login/{provider}: the provider's authorization URL it sends the browser to."""
    params = {"return_to": return_to} if return_to is not None else {}
    started = await client.get(f"/login/{provider_id}", params=params, headers=PAGE)
    assert started.status_code == 303, started.text
    return started.headers["location"]


async def come_back(
    client: httpx.AsyncClient, answer: Mapping[str, str], provider_id: str = "corp"
) -> httpx.Response:
    """The provider's redirect back, followed by the browser."""
    return await client.get(f"/login/{provider_id}/callback", params=answer, headers=PAGE)


async def sign_in_upstream(
    client: httpx.AsyncClient, sub: str, *, provider_id: str = "corp", return_to: str | None = None
) -> httpx.Response:
    authorization = await begin(client, provider_id, return_to)
    return await come_back(client, await choose_user(authorization, sub), provider_id)


async def console(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get("/account", headers=PAGE)


async def link_from_the_console(client: httpx.AsyncClient) -> str:
    """Press "Link Corp" on the console: the provider's authorization URL the page moves on to."""
    onward = await client.post(
        "/account/identities/link",
        data={"provider": "corp", "csrf_token": csrf_of(await console(client))},
        headers=FROM_OUR_PAGE,
    )
    assert onward.status_code == 200, onward.text
    assert '<meta http-equiv="refresh"' in onward.text
    destination = re.search(r'<a href="([^"]+)">Continue to Corp</a>', onward.text)
    assert destination is not None
    return destination.group(1).replace("&amp;", "&")


def csrf_of(page: httpx.Response) -> str:
    match = CSRF.search(page.text)
    assert match is not None, page.text
    return match.group(1)


async def failures(client: httpx.AsyncClient, admin: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/audit-events", params={"type": "upstream.sign_in_failed"}, headers=admin
    )
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["items"]
    return events


def text_of(page: httpx.Response) -> str:
    """The page's words, as one line (the templates wrap their sentences)."""
    return re.sub(r"\s+", " ", page.text)


def signed_out(client: httpx.AsyncClient) -> bool:
    return SESSION_COOKIE not in client.cookies


async def verified_account(
    client: httpx.AsyncClient, sign_up: SignUp, admin: dict[str, str], email: str
) -> dict[str, Any]:
    user = await sign_up(email=email)
    patched = await client.patch(
        f"/api/v1/users/{user['id']}", json={"is_verified": True}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    return user


async def test_a_new_person_gets_an_account_and_lands_on_the_console(
    client: httpx.AsyncClient, issuer: str
) -> None:
    sub = subject()
    put_user(issuer, sub, {"email": "nova@example.com", "email_verified": True, "name": "Nova"})

    login = await client.get("/login", params={"return_to": "/account?done=profile"}, headers=PAGE)
    assert 'href="/login/corp?return_to=/account%3Fdone%3Dprofile"' in login.text
    assert "Continue with Corp" in login.text
    authorization = await begin(client, return_to="/account?done=profile")
    sent = query_of(authorization)
    assert authorization.startswith(f"{issuer}/")
    assert sent["redirect_uri"] == [CALLBACK]
    assert sent["code_challenge_method"] == ["S256"]
    assert {"state", "nonce", "code_challenge"} <= set(sent)
    answer = await choose_user(authorization, sub)
    back = await come_back(client, answer)

    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/account?done=profile"
    assert STATE_COOKIE not in client.cookies  # spent, and cleared
    page = await console(client)
    assert page.status_code == 200
    assert "nova@example.com" in page.text
    assert "Linked accounts" in page.text
    assert "Unlink your Corp account nova@example.com" in page.text
    assert "Link Corp" not in page.text  # linked already
    assert "Link Forged" in page.text
    # No password yet: the console offers to set one by email, and asks for none.
    assert "Email me a link to set a password" in page.text
    assert 'name="current_password"' not in page.text
    set_password = await client.post(
        "/forgot-password", data={"email": "nova@example.com"}, headers=FROM_OUR_PAGE
    )
    assert set_password.status_code == 200
    assert "Check your email" in set_password.text


async def test_the_state_cookie_is_httponly_lax_and_only_for_the_callbacks(
    client: httpx.AsyncClient,
) -> None:
    started = await client.get("/login/corp", headers=PAGE)

    assert started.status_code == 303
    name, _, rest = started.headers["set-cookie"].partition("=")
    flags = {part.strip().lower() for part in rest.split(";")[1:]}
    assert name == STATE_COOKIE
    assert {"httponly", "samesite=lax", "path=/login/", "max-age=600"} <= flags
    assert "secure" not in flags  # the public URL is http here
    assert query_of(started.headers["location"])["state"] == [client.cookies[STATE_COOKIE]]


async def test_over_https_the_state_cookie_is_secure(database_url: str, issuer: str) -> None:
    async with another_app(
        database_url,
        "https://id.example.com",
        public_url="https://id.example.com",
        oidc_providers=(provider("corp", "Corp", issuer),),
    ) as client:
        started = await client.get("/login/corp", headers=PAGE)

    assert started.status_code == 303
    assert "secure" in started.headers["set-cookie"].lower()
    assert query_of(started.headers["location"])["redirect_uri"] == [
        "https://id.example.com/login/corp/callback"
    ]


async def test_a_returning_subject_with_a_new_email_opens_the_same_account(
    client: httpx.AsyncClient, issuer: str, admin: dict[str, str]
) -> None:
    sub = subject()
    put_user(issuer, sub, {"email": "first@example.com", "email_verified": True})
    assert (await sign_in_upstream(client, sub)).status_code == 303
    client.cookies.clear()
    put_user(issuer, sub, {"email": "renamed@example.com", "email_verified": True})

    again = await sign_in_upstream(client, sub)

    assert again.status_code == 303, again.text
    page = await console(client)
    assert "Signed in as <strong>first@example.com</strong>" in page.text
    assert "renamed@example.com" in page.text  # the linked account, as last seen
    users = await client.get("/api/v1/users", headers=admin)
    emails = [user["email"] for user in users.json()["items"]]
    assert "renamed@example.com" not in emails


async def test_a_verified_email_on_both_sides_links_the_existing_account(
    client: httpx.AsyncClient, issuer: str, sign_up: SignUp, admin: dict[str, str]
) -> None:
    await verified_account(client, sign_up, admin, "grace@example.com")
    sub = subject()
    put_user(issuer, sub, {"email": "grace@example.com", "email_verified": True})

    back = await sign_in_upstream(client, sub)

    assert back.status_code == 303, back.text
    page = await console(client)
    assert "Signed in as <strong>grace@example.com</strong>" in page.text
    assert "Unlink" in page.text


@pytest.mark.parametrize("side", ["local", "provider"])
async def test_an_email_unverified_on_either_side_asks_to_sign_in_first(
    client: httpx.AsyncClient,
    issuer: str,
    sign_up: SignUp,
    admin: dict[str, str],
    side: str,
) -> None:
    if side == "local":
        target = await sign_up(email="hedy@example.com")
    else:
        target = await verified_account(client, sign_up, admin, "hedy@example.com")
    sub = subject()
    put_user(issuer, sub, {"email": "hedy@example.com", "email_verified": side == "local"})

    refused = await sign_in_upstream(client, sub)

    assert refused.status_code == 409, refused.text
    assert (
        "An account with this email exists. Sign in with your password, "
        "then link Corp from your account page."
    ) in text_of(refused)
    assert 'href="/login"' in refused.text
    assert signed_out(client)
    [event] = await failures(client, admin)
    assert event["data"] == {"provider": "corp", "reason": "sign_in_first"}
    assert event["user_id"] == target["id"]


async def test_an_account_with_totp_still_takes_its_second_step(
    client: httpx.AsyncClient,
    issuer: str,
    sign_up: SignUp,
    log_in: LogIn,
    admin: dict[str, str],
) -> None:
    alan = await verified_account(client, sign_up, admin, "alan@example.com")
    secret, _ = await enroll(client, await log_in(email="alan@example.com"))
    sub = subject()
    put_user(issuer, sub, {"email": "alan@example.com", "email_verified": True})

    step = await sign_in_upstream(client, sub, return_to="/account?done=profile")

    assert step.status_code == 200, step.text
    assert 'action="/login/second-step"' in step.text
    assert "Use a recovery code instead" in step.text
    assert signed_out(client)
    mfa_token = re.search(r'name="mfa_token" value="([^"]+)"', step.text)
    assert mfa_token is not None
    done = await client.post(
        "/login/second-step",
        data={
            "mfa_token": mfa_token.group(1),
            "code": code_at(secret, 1),
            "return_to": "/account?done=profile",
        },
        headers=FROM_OUR_PAGE,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/account?done=profile"
    assert (await console(client)).status_code == 200
    logins = await client.get(
        "/api/v1/audit-events",
        params={"type": "login.succeeded", "user_id": alan["id"]},
        headers=admin,
    )
    amrs = [set(event["data"].get("amr", [])) for event in logins.json()["items"]]
    assert {"fed", "otp", "mfa"} in amrs, amrs


@pytest.mark.parametrize(
    "cookie", [None, "another-browsers-state"], ids=["no cookie", "another cookie"]
)
async def test_a_state_this_browser_did_not_start_is_refused(
    client: httpx.AsyncClient, issuer: str, admin: dict[str, str], cookie: str | None
) -> None:
    sub = subject()
    put_user(issuer, sub, {"email": "mallory@example.com", "email_verified": True})
    answer = await choose_user(await begin(client), sub)
    client.cookies.delete(STATE_COOKIE)
    if cookie is not None:
        client.cookies.set(STATE_COOKIE, cookie, domain="portcullis.test", path="/login/")

    refused = await come_back(client, answer)

    assert refused.status_code == 400
    assert "was not started in this browser" in text_of(refused)
    assert signed_out(client)
    [event] = await failures(client, admin)
    assert event["data"] == {"provider": "corp", "reason": "state_mismatch"}


async def test_a_replayed_callback_signs_nobody_in(
    client: httpx.AsyncClient, issuer: str, admin: dict[str, str]
) -> None:
    sub = subject()
    put_user(issuer, sub, {"email": "replay@example.com", "email_verified": True})
    authorization = await begin(client)
    state = client.cookies[STATE_COOKIE]
    answer = await choose_user(authorization, sub)
    assert (await come_back(client, answer)).status_code == 303
    client.cookies.clear()
    # The attacker holds the whole callback, cookie and all.
    client.cookies.set(STATE_COOKIE, state, domain="portcullis.test", path="/login/")

    replayed = await come_back(client, answer)

    assert replayed.status_code == 400
    assert signed_out(client)
    assert [e["data"]["reason"] for e in await failures(client, admin)] == ["state_mismatch"]


async def test_an_error_from_the_provider_ends_on_a_page_that_says_so(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    authorization = await begin(client)
    state = query_of(authorization)["state"][0]

    refused = await come_back(client, {"state": state, "error": "access_denied"})

    assert refused.status_code == 400
    assert "Corp did not sign you in" in text_of(refused)
    assert "access_denied" not in refused.text
    assert STATE_COOKIE not in client.cookies
    assert signed_out(client)
    [event] = await failures(client, admin)
    assert event["data"] == {"provider": "corp", "reason": "provider_error"}


async def test_an_id_token_signed_by_another_key_is_refused(
    client: httpx.AsyncClient, issuer: str, admin: dict[str, str]
) -> None:
    sub = subject()
    put_user(issuer, sub, {"email": "forged@example.com", "email_verified": True})

    refused = await sign_in_upstream(client, sub, provider_id="forged")

    assert refused.status_code == 502
    assert "What Forged answered could not be verified" in text_of(refused)
    assert signed_out(client)
    [event] = await failures(client, admin)
    assert event["data"] == {"provider": "forged", "reason": "invalid_id_token"}


GARBLED = [
    "state=a&state=b&code=c",
    "state={state}&state={state}&code=c",
    "state={state}&code=a&code=b",
    "state={state}&error=a&error=b",
    "state=%E2%98%83&code=%E2%98%83",
    "state={state}&code=%E2%98%83",
    "state={state}&code=" + "x" * 5000,
    "state=" + "s" * 5000,
    "",
]


async def test_a_garbled_callback_ends_on_the_refusal_page(client: httpx.AsyncClient) -> None:
    for query in GARBLED:
        state = query_of(await begin(client))["state"][0]

        refused = await client.get(
            f"/login/corp/callback?{query.format(state=state)}", headers=PAGE
        )

        assert refused.status_code == 400, (query, refused.text)
        assert "That sign-in did not work" in refused.text
        assert signed_out(client)


async def test_a_cookie_that_is_not_ascii_is_no_state(client: httpx.AsyncClient) -> None:
    state = query_of(await begin(client))["state"][0]
    client.cookies.clear()

    refused = await client.get(
        "/login/corp/callback",
        params={"state": state, "code": "c"},
        headers=[
            (b"accept", b"text/html"),
            (b"cookie", f"{STATE_COOKIE}={state}\u00e9".encode("latin-1")),
        ],
    )

    assert refused.status_code == 400
    assert "was not started in this browser" in text_of(refused)


async def test_the_sign_in_pages_beside_it_are_never_taken_for_a_provider(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/login/second-step", "/login/passkey"):
        response = await client.put(path, headers=PAGE)
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"


async def test_an_unknown_provider_has_no_page(client: httpx.AsyncClient) -> None:
    unknown = await client.get("/login/nobody", headers=PAGE)
    unknown_callback = await client.get("/login/nobody/callback?state=s&code=c", headers=PAGE)

    assert unknown.status_code == 404
    assert "There is no page at this address." in unknown.text
    assert unknown_callback.status_code == 404
    assert "There is no provider of that name" in text_of(unknown_callback)


async def test_a_provider_that_cannot_be_reached_says_so(database_url: str) -> None:
    down = f"http://127.0.0.1:{closed_port()}"
    async with another_app(
        database_url,
        "http://portcullis.test",
        oidc_providers=(provider("down", "Down", down),),
    ) as client:
        page = await client.get("/login/down", headers=PAGE)

    assert page.status_code == 503
    assert "Down could not be reached" in text_of(page)
    assert "set-cookie" not in page.headers


async def test_linking_from_the_console_then_unlinking(
    client: httpx.AsyncClient,
    issuer: str,
    sign_up: SignUp,
    log_in: LogIn,
    admin: dict[str, str],
) -> None:
    await sign_up(email="ada@example.com")  # unverified: linking needs no email match
    assert (await page_login(client)).status_code == 303
    page = await console(client)
    assert "Link Corp" in page.text
    csrf = csrf_of(page)
    sub = subject()
    put_user(issuer, sub, {"email": "ada.at.corp@example.com", "email_verified": True})

    authorization = await link_from_the_console(client)
    assert authorization.startswith(f"{issuer}/")
    linked = await come_back(client, await choose_user(authorization, sub))

    assert linked.status_code == 303, linked.text
    assert linked.headers["location"] == "/account?done=identity-linked"
    page = await console(client)
    assert (
        "Your account at that provider is linked"
        in (await client.get(linked.headers["location"], headers=PAGE)).text
    )
    assert "ada.at.corp@example.com" in page.text
    api = bearer(await log_in())
    [identity] = (await client.get("/api/v1/users/me/identities", headers=api)).json()
    assert (identity["provider"], identity["subject"]) == ("corp", sub)

    unlinked = await client.post(
        f"/account/identities/{identity['id']}/unlink",
        data={"csrf_token": csrf},
        headers=FROM_OUR_PAGE,
    )
    assert unlinked.status_code == 303
    assert unlinked.headers["location"] == "/account?done=identity-unlinked"
    assert (await client.get("/api/v1/users/me/identities", headers=api)).json() == []
    audit = await client.get(
        "/api/v1/audit-events", params={"type": "identity.unlinked"}, headers=admin
    )
    assert [e["data"]["provider"] for e in audit.json()["items"]] == ["corp"]


async def test_linking_is_a_checked_form_never_a_link(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up(email="ada@example.com")
    assert (await page_login(client)).status_code == 303
    csrf = csrf_of(await console(client))

    by_get = await client.get("/account/identities/link?provider=corp", headers=PAGE)
    without_token = await client.post(
        "/account/identities/link", data={"provider": "corp"}, headers=FROM_OUR_PAGE
    )
    from_elsewhere = await client.post(
        "/account/identities/link",
        data={"provider": "corp", "csrf_token": csrf},
        headers={"Sec-Fetch-Site": "cross-site", "Accept": "text/html"},
    )

    assert by_get.status_code == 405
    assert (without_token.status_code, from_elsewhere.status_code) == (403, 403)
    assert STATE_COOKIE not in client.cookies


async def test_the_last_way_in_cannot_be_unlinked(client: httpx.AsyncClient, issuer: str) -> None:
    sub = subject()
    put_user(issuer, sub, {"email": "only@example.com", "email_verified": True})
    assert (await sign_in_upstream(client, sub)).status_code == 303
    page = await console(client)
    identity_id = re.search(r'action="/account/identities/([0-9a-f-]+)/unlink"', page.text)
    assert identity_id is not None

    refused = await client.post(
        f"/account/identities/{identity_id.group(1)}/unlink",
        data={"csrf_token": csrf_of(page)},
        headers=FROM_OUR_PAGE,
    )

    assert refused.status_code == 409
    assert "only way left to sign in to your account, so it stays linked" in text_of(refused)
    assert 'aria-invalid="true"' in refused.text


async def test_a_pending_authorization_request_goes_on_after_the_callback(
    client: httpx.AsyncClient, issuer: str, admin: dict[str, str]
) -> None:
    app = await register(client, admin, first_party=True)
    sub = subject()
    put_user(issuer, sub, {"email": "rp@example.com", "email_verified": True})

    back = await sign_in_upstream(client, sub, return_to=authorize_query(app["client_id"]))

    assert back.status_code == 303, back.text
    assert back.headers["location"] == authorize_query(app["client_id"])
    code = at_callback(await client.get(back.headers["location"], headers=PAGE))["code"]
    tokens = await exchange(client, code, app["client_id"])
    assert tokens.status_code == 200, tokens.text
    userinfo = await client.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert userinfo.json()["email"] == "rp@example.com"


async def test_a_deactivated_account_is_refused_in_words(
    app: FastAPI, client: httpx.AsyncClient, issuer: str, admin: dict[str, str]
) -> None:
    sub = subject()
    put_user(issuer, sub, {"email": "gone@example.com", "email_verified": True})
    assert (await sign_in_upstream(client, sub)).status_code == 303
    users = (await client.get("/api/v1/users", headers=admin)).json()["items"]
    [gone] = [user for user in users if user["email"] == "gone@example.com"]
    await set_active(app, gone["id"], active=False)
    client.cookies.clear()

    refused = await sign_in_upstream(client, sub)

    assert refused.status_code == 403
    assert "This account is deactivated" in text_of(refused)
    assert signed_out(client)
    [event] = await failures(client, admin)
    assert (event["data"]["reason"], event["user_id"]) == ("account_disabled", gone["id"])


async def test_no_email_and_an_account_linked_elsewhere_are_refused_in_words(
    client: httpx.AsyncClient, issuer: str, sign_up: SignUp, admin: dict[str, str]
) -> None:
    nameless = subject()
    put_user(issuer, nameless, {"name": "No Email"})
    no_email = await sign_in_upstream(client, nameless)
    assert no_email.status_code == 400
    assert "Corp did not tell us an email address" in text_of(no_email)

    taken = subject()
    put_user(issuer, taken, {"email": "taken@example.com", "email_verified": True})
    assert (await sign_in_upstream(client, taken)).status_code == 303
    client.cookies.clear()
    await sign_up(email="ada@example.com")
    assert (await page_login(client)).status_code == 303
    elsewhere = await come_back(
        client, await choose_user(await link_from_the_console(client), taken)
    )

    assert elsewhere.status_code == 409
    assert "already linked to another account here" in text_of(elsewhere)
    assert [e["data"]["reason"] for e in await failures(client, admin)] == [
        "linked_elsewhere",
        "no_email",
    ]
