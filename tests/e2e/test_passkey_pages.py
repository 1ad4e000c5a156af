"""Passkeys in the pages, over HTTP through the real app: the console's script requests that add
one (guarded by the session's token in a header), its plain forms that rename and remove one,
and the sign-in page's passkey request that opens a browser session. The software authenticator
answers as the browser and a passkey would."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from tests.e2e.conftest import PASSWORD, LogIn, SignUp, bearer
from tests.e2e.test_browser_session import COOKIE, FROM_OUR_PAGE, signed_in_browser
from tests.webauthn_authenticator import SoftwareAuthenticator

ORIGIN = "http://localhost:8000"  # the origin of the default PORTCULLIS_PUBLIC_URL
OPTIONS = "/account/passkeys/options"
REGISTER = "/account/passkeys"
SIGN_IN_OPTIONS = "/api/v1/auth/passkey/options"
PAGE_SIGN_IN = "/login/passkey"
API_PASSKEYS = "/api/v1/users/me/passkeys"
# What our script's fetch carries: the browser's word that it comes from our own page.
FROM_OUR_SCRIPT = {"Sec-Fetch-Site": "same-origin", "Accept": "application/json"}


def from_our_script(csrf: str) -> dict[str, str]:
    return {**FROM_OUR_SCRIPT, "X-CSRF-Token": csrf}


@pytest.fixture(autouse=True)
async def ada(sign_up: SignUp) -> dict[str, Any]:
    """ada@example.com, with the tests' password, signed up through the API."""
    return await sign_up()


@pytest.fixture
async def csrf(client: httpx.AsyncClient) -> str:
    """Ada signed in on the page; the client holds her cookie, and this is her form token."""
    return await signed_in_browser(client)


async def add_on_console(
    client: httpx.AsyncClient,
    csrf: str,
    authenticator: SoftwareAuthenticator,
    name: str | None = None,
) -> httpx.Response:
    options = await client.post(
        OPTIONS, json={"current_password": PASSWORD}, headers=from_our_script(csrf)
    )
    assert options.status_code == 200, options.text
    credential = authenticator.register(options.json()["public_key"], ORIGIN)
    challenge_id = options.json()["challenge_id"]
    body: dict[str, Any] = {"challenge_id": challenge_id, "credential": credential}
    if name is not None:
        body["name"] = name
    return await client.post(REGISTER, json=body, headers=from_our_script(csrf))


async def api_passkeys(client: httpx.AsyncClient, log_in: LogIn) -> list[dict[str, Any]]:
    listed = await client.get(API_PASSKEYS, headers=bearer(await log_in()))
    assert listed.status_code == 200
    passkeys: list[dict[str, Any]] = listed.json()
    return passkeys


async def test_a_passkey_is_added_from_the_console(
    client: httpx.AsyncClient, csrf: str, log_in: LogIn
) -> None:
    added = await add_on_console(client, csrf, SoftwareAuthenticator(), name="Work laptop")

    assert added.status_code == 201, added.text
    assert added.json() == {"location": "/account?done=passkey-added"}
    [passkey] = await api_passkeys(client, log_in)
    assert passkey["name"] == "Work laptop"
    console = await client.get(added.json()["location"])
    assert "Your passkey is added" in console.text
    assert "Work laptop" in console.text
    assert f'action="/account/passkeys/{passkey["id"]}/rename"' in console.text


async def test_a_passkey_added_without_a_name_gets_the_default_one(
    client: httpx.AsyncClient, csrf: str, log_in: LogIn
) -> None:
    added = await add_on_console(client, csrf, SoftwareAuthenticator())
    assert added.status_code == 201, added.text
    assert [p["name"] for p in await api_passkeys(client, log_in)] == ["Passkey"]


async def test_adding_a_passkey_takes_the_current_password(
    client: httpx.AsyncClient, csrf: str
) -> None:
    refused = await client.post(
        OPTIONS, json={"current_password": "not my password"}, headers=from_our_script(csrf)
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_current_password"


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": "x" * 43},
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example", "X-CSRF-Token": None},
        {"Origin": "https://evil.example", "X-CSRF-Token": None},
    ],
    ids=["no-token", "wrong-token", "cross-site", "foreign-origin"],
)
async def test_the_console_script_requests_refuse_another_site_or_a_missing_token(
    client: httpx.AsyncClient, csrf: str, log_in: LogIn, headers: dict[str, str | None]
) -> None:
    # None stands for the right token: another site's page cannot read it, but a test can.
    sent = {name: value or csrf for name, value in headers.items()}
    authenticator = SoftwareAuthenticator()
    options = await client.post(
        OPTIONS, json={"current_password": PASSWORD}, headers=from_our_script(csrf)
    )
    credential = authenticator.register(options.json()["public_key"], ORIGIN)
    body = {"challenge_id": options.json()["challenge_id"], "credential": credential}

    refused_options = await client.post(OPTIONS, json={"current_password": PASSWORD}, headers=sent)
    refused_passkey = await client.post(REGISTER, json=body, headers=sent)

    for refused in (refused_options, refused_passkey):
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
    assert await api_passkeys(client, log_in) == []
    # The refusal spent nothing: the same ceremony, sent by our own page, still works.
    added = await client.post(REGISTER, json=body, headers=from_our_script(csrf))
    assert added.status_code == 201, added.text


async def test_the_console_script_requests_need_the_browser_session(
    client: httpx.AsyncClient, csrf: str, log_in: LogIn
) -> None:
    api = bearer(await log_in())
    client.cookies.clear()
    for headers in (from_our_script(csrf), {**from_our_script(csrf), **api}):
        refused = await client.post(OPTIONS, json={"current_password": PASSWORD}, headers=headers)
        assert refused.status_code == 401
        assert refused.json()["code"] == "not_authenticated"


async def test_a_passkey_made_for_another_ceremony_is_refused(
    client: httpx.AsyncClient, csrf: str, log_in: LogIn
) -> None:
    options = await client.post(
        OPTIONS, json={"current_password": PASSWORD}, headers=from_our_script(csrf)
    )
    credential = SoftwareAuthenticator().register(
        options.json()["public_key"], "https://evil.example"
    )
    refused = await client.post(
        REGISTER,
        json={"challenge_id": options.json()["challenge_id"], "credential": credential},
        headers=from_our_script(csrf),
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_passkey"
    assert await api_passkeys(client, log_in) == []


async def test_a_passkey_is_renamed_with_the_console_form(
    client: httpx.AsyncClient, csrf: str, log_in: LogIn
) -> None:
    await add_on_console(client, csrf, SoftwareAuthenticator(), name="Laptop")
    [passkey] = await api_passkeys(client, log_in)
    rename = f"/account/passkeys/{passkey['id']}/rename"

    done = await client.post(
        rename, data={"csrf_token": csrf, "name": "Work laptop"}, headers=FROM_OUR_PAGE
    )

    assert done.status_code == 303
    assert done.headers["location"] == "/account?done=passkey-renamed"
    assert [p["name"] for p in await api_passkeys(client, log_in)] == ["Work laptop"]
    console = await client.get(done.headers["location"])
    assert "Your passkey is renamed" in console.text


async def test_a_bad_name_is_said_beside_its_field(
    client: httpx.AsyncClient, csrf: str, log_in: LogIn
) -> None:
    await add_on_console(client, csrf, SoftwareAuthenticator(), name="Laptop")
    [passkey] = await api_passkeys(client, log_in)
    field = f"passkey-name-{passkey['id']}"

    refused = await client.post(
        f"/account/passkeys/{passkey['id']}/rename",
        data={"csrf_token": csrf, "name": "   "},
        headers=FROM_OUR_PAGE,
    )

    assert refused.status_code == 422
    assert f'<p class="error" role="alert" id="{field}-error">That name must not be blank.' in (
        refused.text
    )
    assert re.search(rf'id="{field}"[^>]*aria-describedby="{field}-error"', refused.text)
    assert [p["name"] for p in await api_passkeys(client, log_in)] == ["Laptop"]


async def test_the_rename_and_remove_forms_need_their_token(
    client: httpx.AsyncClient, csrf: str, log_in: LogIn
) -> None:
    await add_on_console(client, csrf, SoftwareAuthenticator(), name="Laptop")
    [passkey] = await api_passkeys(client, log_in)
    for action, form in (("rename", {"name": "Evil"}), ("remove", {})):
        url = f"/account/passkeys/{passkey['id']}/{action}"
        refused = await client.post(url, data={**form, "csrf_token": ""}, headers=FROM_OUR_PAGE)
        assert refused.status_code == 403
        cross_site = {**FROM_OUR_PAGE, "Sec-Fetch-Site": "cross-site"}
        refused = await client.post(url, data={**form, "csrf_token": csrf}, headers=cross_site)
        assert refused.status_code == 403
    assert [p["name"] for p in await api_passkeys(client, log_in)] == ["Laptop"]


async def test_a_passkey_is_removed_with_the_console_form(
    client: httpx.AsyncClient, csrf: str, log_in: LogIn
) -> None:
    await add_on_console(client, csrf, SoftwareAuthenticator())
    [passkey] = await api_passkeys(client, log_in)
    remove = f"/account/passkeys/{passkey['id']}/remove"

    done = await client.post(remove, data={"csrf_token": csrf}, headers=FROM_OUR_PAGE)

    assert done.status_code == 303
    assert done.headers["location"] == "/account?done=passkey-removed"
    assert await api_passkeys(client, log_in) == []
    # Removed already (a second tab, a double click): the console says it is gone.
    again = await client.post(remove, data={"csrf_token": csrf}, headers=FROM_OUR_PAGE)
    assert again.headers["location"] == "/account?done=passkey-gone"
    console = await client.get(again.headers["location"])
    assert "That passkey is no longer on your account" in console.text


async def test_someone_elses_passkey_is_neither_renamed_nor_removed(
    client: httpx.AsyncClient, csrf: str, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up(email="eve@example.com")
    eve = bearer(await log_in(email="eve@example.com"))
    options = await client.post(
        f"{API_PASSKEYS}/options", json={"current_password": PASSWORD}, headers=eve
    )
    credential = SoftwareAuthenticator().register(options.json()["public_key"], ORIGIN)
    body = {"challenge_id": options.json()["challenge_id"], "credential": credential}
    eves = (await client.post(API_PASSKEYS, json={**body, "name": "Eve's"}, headers=eve)).json()

    for action in ("rename", "remove"):
        answer = await client.post(
            f"/account/passkeys/{eves['id']}/{action}",
            data={"csrf_token": csrf, "name": "Ada's now"},
            headers=FROM_OUR_PAGE,
        )
        assert answer.headers["location"] == "/account?done=passkey-gone"
    listed = (await client.get(API_PASSKEYS, headers=eve)).json()
    assert [p["name"] for p in listed] == ["Eve's"]


async def test_the_last_way_to_sign_in_is_not_removed_and_the_page_says_why(
    client: httpx.AsyncClient, app: FastAPI, csrf: str, ada: dict[str, Any], log_in: LogIn
) -> None:
    await add_on_console(client, csrf, SoftwareAuthenticator(), name="Only key")
    [passkey] = await api_passkeys(client, log_in)
    async with app.state.container.unit_of_work() as uow:
        user = await uow.users.get(UUID(ada["id"]))
        assert user is not None
        user.password_hash = ""  # as an account made through an upstream provider has it
        await uow.users.save(user)
        await uow.commit()

    refused = await client.post(
        f"/account/passkeys/{passkey['id']}/remove",
        data={"csrf_token": csrf},
        headers=FROM_OUR_PAGE,
    )

    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("text/html")
    assert "the only way left to sign in to your account" in refused.text
    assert 'role="alert"' in refused.text
    async with app.state.container.unit_of_work() as uow:
        assert [p.id for p in await uow.passkeys.list_of_user(UUID(ada["id"]))] == [
            UUID(passkey["id"])
        ]


async def sign_in_options(client: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    response = await client.post(SIGN_IN_OPTIONS, json={})
    assert response.status_code == 200, response.text
    return response.json()["challenge_id"], response.json()["public_key"]


async def page_passkey_sign_in(
    client: httpx.AsyncClient,
    authenticator: SoftwareAuthenticator,
    return_to: str | None = None,
    **knobs: Any,
) -> httpx.Response:
    challenge_id, options = await sign_in_options(client)
    body: dict[str, Any] = {
        "challenge_id": challenge_id,
        "credential": authenticator.authenticate(options, ORIGIN, **knobs),
    }
    if return_to is not None:
        body["return_to"] = return_to
    return await client.post(PAGE_SIGN_IN, json=body, headers=FROM_OUR_SCRIPT)


@pytest.fixture
async def authenticator(client: httpx.AsyncClient, csrf: str) -> SoftwareAuthenticator:
    """Holds a passkey of Ada's; the client is signed out again."""
    authenticator = SoftwareAuthenticator()
    assert (await add_on_console(client, csrf, authenticator)).status_code == 201
    client.cookies.clear()
    return authenticator


async def test_a_passkey_signs_the_browser_in_with_two_factors(
    client: httpx.AsyncClient,
    authenticator: SoftwareAuthenticator,
    admin: dict[str, str],
    ada: dict[str, Any],
    log_in: LogIn,
) -> None:
    signed_in = await page_passkey_sign_in(client, authenticator)

    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json() == {"location": "/account"}
    assert signed_in.headers["set-cookie"].startswith(f"{COOKIE}=")
    assert "httponly" in signed_in.headers["set-cookie"].lower()
    console = await client.get("/account")
    assert console.status_code == 200
    assert "ada@example.com" in console.text

    # The cookie holds the session the passkey opened, with both factors: end that session,
    # and the browser is signed out.
    events = await client.get(
        "/api/v1/audit-events",
        params={"user_id": ada["id"], "type": "login.succeeded"},
        headers=admin,
    )
    newest = events.json()["items"][0]
    assert newest["data"]["amr"] == ["hwk", "mfa"]
    api = bearer(await log_in())
    session_id = newest["data"]["session_id"]
    ended = await client.delete(f"/api/v1/users/me/sessions/{session_id}", headers=api)
    assert ended.status_code == 204
    assert (await client.get("/account", headers={"Accept": "text/html"})).status_code == 303


@pytest.mark.parametrize(
    ("return_to", "location"),
    [
        ("/account?done=profile", "/account?done=profile"),
        ("https://evil.example/", "/account"),
        ("//evil.example/path", "/account"),
        ("/\\evil.example", "/account"),
    ],
)
async def test_the_passkey_sign_in_goes_on_only_to_a_path_of_this_site(
    client: httpx.AsyncClient, authenticator: SoftwareAuthenticator, return_to: str, location: str
) -> None:
    signed_in = await page_passkey_sign_in(client, authenticator, return_to=return_to)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json() == {"location": location}


@pytest.mark.parametrize(
    "knobs",
    [{"tamper_signature": True}, {"rp_id": "evil.example"}, {"user_handle": b"\x00" * 16}],
    ids=["bad-signature", "other-rp", "other-user"],
)
async def test_a_bad_assertion_opens_no_session(
    client: httpx.AsyncClient, authenticator: SoftwareAuthenticator, knobs: dict[str, Any]
) -> None:
    refused = await page_passkey_sign_in(client, authenticator, **knobs)

    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_credentials"
    assert "set-cookie" not in refused.headers
    assert COOKIE not in client.cookies
    assert (await client.get("/account", headers={"Accept": "text/html"})).status_code == 303


async def test_the_passkey_sign_in_from_another_site_is_refused(
    client: httpx.AsyncClient, authenticator: SoftwareAuthenticator
) -> None:
    challenge_id, options = await sign_in_options(client)
    body = {
        "challenge_id": challenge_id,
        "credential": authenticator.authenticate(options, ORIGIN),
    }
    refused = await client.post(
        PAGE_SIGN_IN, json=body, headers={**FROM_OUR_SCRIPT, "Sec-Fetch-Site": "cross-site"}
    )
    assert refused.status_code == 403
    assert COOKIE not in client.cookies
