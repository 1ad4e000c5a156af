"""The pages the emails link to, used as a person uses them: in headless Chromium (Debian's
`chromium`, driven by Playwright), against a real `portcullis serve` whose `file` mail backend
writes every email into a folder, from which the tests take the link a person would click.

One browser and one server for the module; each test has accounts of its own and a fresh browser
context (no cookies, no cache), which notes every request its pages make."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, Response, expect

from tests.e2e.browser import (
    BROKEN_LINK,
    FORGOT,
    LOGIN,
    NEW_PASSWORD,
    OLD_PASSWORD,
    Site,
    Visitor,
    link_in_mail,
    log_in,
    new_address,
    screenshot,
    sign_up,
)

# The browser fixtures are imported by name, which is how pytest finds them in a module.
from tests.e2e.browser import api as api
from tests.e2e.browser import browser as browser
from tests.e2e.browser import chromium as chromium
from tests.e2e.browser import javascript as javascript
from tests.e2e.browser import visitor as visitor
from tests.e2e.processes import free_port, run_portcullis, serving


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server whose emails link to itself, as PORTCULLIS_PUBLIC_URL does in production."""
    workdir = tmp_path_factory.mktemp("pages")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    mail_dir = workdir / "mail"
    with serving(
        workdir,
        {
            "PORTCULLIS_PUBLIC_URL": base_url,
            "PORTCULLIS_MAIL_BACKEND": "file",
            "PORTCULLIS_MAIL_DIR": str(mail_dir),
            "PORTCULLIS_MAIL_DISPATCH_INTERVAL_SECONDS": "1",
        },
        port=port,
    ) as server:
        assert server.base_url == base_url
        yield Site(base_url, mail_dir, workdir)


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript-on", "javascript-off"])
async def test_a_person_resets_a_forgotten_password_in_the_browser(
    visitor: Visitor, api: httpx.AsyncClient, site: Site, tmp_path: Path
) -> None:
    address = new_address("reset")
    await sign_up(api, address)
    before = await log_in(api, address, OLD_PASSWORD)  # a device that stays logged in
    assert before.status_code == 200
    forgot = await api.post(FORGOT, json={"email": address})
    assert forgot.status_code == 202
    link = await link_in_mail(site, address, "reset-password")

    page, shown = await visitor.open(link)
    assert shown.status == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    await screenshot(page, tmp_path, "reset-password-form")
    await page.get_by_label("New password").fill(NEW_PASSWORD)
    done = await visitor.press(page, "Set my new password")
    assert done.status == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Password changed")
    await expect(page.get_by_role("status")).to_contain_text("Your password has been changed")
    await expect(page.get_by_role("alert")).to_have_count(0)
    await screenshot(page, tmp_path, "reset-password-done")

    assert (await log_in(api, address, NEW_PASSWORD)).status_code == 200
    assert (await log_in(api, address, OLD_PASSWORD)).status_code == 401
    # "every device was logged out", as the page says.
    stale = await api.post(
        "/api/v1/auth/refresh", json={"refresh_token": before.json()["refresh_token"]}
    )
    assert stale.status_code == 401

    # The same link again (the back button, a second click in the email): spent.
    again, _ = await visitor.open(link)
    await again.get_by_label("New password").fill("a second and different passphrase")
    refused = await visitor.press(again, "Set my new password")
    assert refused.status == 400
    await expect(again.get_by_role("alert")).to_contain_text(BROKEN_LINK)
    await expect(again.get_by_role("status")).to_have_count(0)
    await screenshot(again, tmp_path, "reset-password-spent")
    assert (await log_in(api, address, NEW_PASSWORD)).status_code == 200


async def test_a_weak_password_is_refused_on_the_page_and_the_link_still_works(
    visitor: Visitor, api: httpx.AsyncClient, site: Site, tmp_path: Path
) -> None:
    address = new_address("weak")
    await sign_up(api, address)
    assert (await api.post(FORGOT, json={"email": address})).status_code == 202
    page, _ = await visitor.open(await link_in_mail(site, address, "reset-password"))

    password = page.get_by_label("New password")
    await password.fill("password123")
    refused = await visitor.press(page, "Set my new password")
    assert refused.status == 422
    await expect(page.get_by_role("alert")).to_contain_text("That password is too common")
    # The error is tied to the field for a screen reader, and the password is not sent back.
    await expect(password).to_have_attribute("aria-describedby", re.compile(r"\bform-error\b"))
    await expect(password).to_have_value("")
    assert "password123" not in await page.content()
    await screenshot(page, tmp_path, "reset-password-weak")

    await password.fill(NEW_PASSWORD)
    done = await visitor.press(page, "Set my new password")
    assert done.status == 200
    await expect(page.get_by_role("status")).to_contain_text("Your password has been changed")
    assert (await log_in(api, address, NEW_PASSWORD)).status_code == 200


async def test_a_person_confirms_their_email_address_in_the_browser(
    visitor: Visitor, api: httpx.AsyncClient, site: Site, tmp_path: Path
) -> None:
    address = new_address("verify")
    await sign_up(api, address)
    tokens = (await log_in(api, address, OLD_PASSWORD)).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}

    async def is_verified() -> Any:
        me = await api.get("/api/v1/users/me", headers=auth)
        assert me.status_code == 200
        return me.json()["is_verified"]

    requested = await api.post("/api/v1/auth/verify-email/request", headers=auth)
    assert requested.status_code == 202
    link = await link_in_mail(site, address, "verify-email")

    # Loading the page is all that a link scanner or a mail preview does: it confirms nothing.
    page, shown = await visitor.open(link)
    assert shown.status == 200
    await page.reload()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    await screenshot(page, tmp_path, "verify-email-form")
    assert await is_verified() is False

    done = await visitor.press(page, "Confirm my email address")
    assert done.status == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Email confirmed")
    await expect(page.get_by_role("status")).to_contain_text("your email address is confirmed")
    await screenshot(page, tmp_path, "verify-email-done")
    assert await is_verified() is True


PAGES = [
    pytest.param("reset-password", "Set my new password", id="reset-password"),
    pytest.param("verify-email", "Confirm my email address", id="verify-email"),
]


@pytest.mark.parametrize(("path", "button"), PAGES)
async def test_a_garbage_link_says_it_does_not_work(
    visitor: Visitor, site: Site, tmp_path: Path, path: str, button: str
) -> None:
    # The form is shown: the token is looked at only when the form spends it.
    page, shown = await visitor.open(f"{site.base_url}/{path}?token=not-a-token-we-sent")
    assert shown.status == 200
    if path == "reset-password":
        await page.get_by_label("New password").fill(NEW_PASSWORD)
    refused = await visitor.press(page, button)
    assert refused.status == 400
    await expect(page.get_by_role("alert")).to_contain_text(BROKEN_LINK)
    await expect(page.get_by_role("status")).to_have_count(0)
    await screenshot(page, tmp_path, f"{path}-garbage")


@pytest.mark.parametrize(("path", "button"), PAGES)
@pytest.mark.parametrize(
    "query", ["", "?token=", "?token=" + "x" * 5000], ids=["no-token", "empty", "too-long"]
)
async def test_a_link_without_a_usable_token_says_so_at_once(
    visitor: Visitor, site: Site, path: str, button: str, query: str
) -> None:
    page, shown = await visitor.open(f"{site.base_url}/{path}{query}")
    assert shown.status == 400
    assert shown.headers["content-type"].startswith("text/html")
    await expect(page.get_by_role("alert")).to_contain_text(BROKEN_LINK)
    await expect(page.get_by_role("button", name=button)).to_have_count(0)


def _directives(policy: str) -> dict[str, list[str]]:
    return {
        name.lower(): values
        for name, *values in (directive.split() for directive in policy.split(";"))
    }


@pytest.mark.parametrize(("path", "button"), PAGES)
async def test_the_pages_load_nothing_from_elsewhere_and_run_no_script(
    visitor: Visitor, site: Site, path: str, button: str
) -> None:
    page, shown = await visitor.open(f"{site.base_url}/{path}?token=some-token")
    policy = _directives(shown.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert "script-src" not in policy  # so default-src 'none' forbids every script
    assert policy["style-src"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert not any("unsafe" in value or "*" in value for v in policy.values() for value in v)
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert shown.headers["cache-control"] == "no-store"
    await expect(page.locator("script")).to_have_count(0)

    # The stylesheet comes from this origin and the policy lets it through.
    assert f"{site.base_url}/static/portcullis.css" in visitor.requests
    styled = await page.get_by_role("button", name=button).evaluate(
        "button => getComputedStyle(button).paddingTop"
    )
    assert styled != "1px"  # Chromium's own default; the stylesheet gives 0.6rem
    visitor.assert_stayed_on_the_site()


@pytest.mark.parametrize(("path", "button"), PAGES)
async def test_the_pages_have_the_basics_of_accessibility(
    visitor: Visitor, site: Site, path: str, button: str
) -> None:
    form, _ = await visitor.open(f"{site.base_url}/{path}?token=some-token")
    broken, _ = await visitor.open(f"{site.base_url}/{path}")
    for page in (form, broken):
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.locator("h1")).to_have_count(1)
        await expect(page).to_have_title(re.compile(r"\S.* · Portcullis$"))
    await expect(form.get_by_role("button", name=button)).to_be_visible()
    if path == "reset-password":
        field = form.locator("input[type=password]")
        await expect(field).to_have_count(1)
        await expect(field).to_have_accessible_name("New password")
        await expect(field).to_have_attribute("autocomplete", "new-password")
        await expect(field).to_be_focused()  # autofocus: type at once


# --- the invitation page ---------------------------------------------------------------------

INVITATIONS = "/api/v1/invitations"
BROKEN_INVITATION = "This invitation is invalid, was already accepted, or has expired."


@pytest.fixture(scope="module")
def admin(site: Site) -> dict[str, str]:
    """An admin of the site, made as an operator makes one: signed up, then promoted with
    `portcullis create-admin` on the server's machine."""
    address = new_address("root")
    signed_up = httpx.post(
        f"{site.base_url}/api/v1/auth/signup",
        json={"email": address, "password": OLD_PASSWORD},
        timeout=10,
    )
    assert signed_up.status_code == 201, signed_up.text
    promoted = run_portcullis(site.workdir, "create-admin", address)
    assert promoted.returncode == 0, promoted.stderr
    tokens = httpx.post(
        f"{site.base_url}{LOGIN}", json={"email": address, "password": OLD_PASSWORD}, timeout=10
    )
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


async def invite(
    api: httpx.AsyncClient, site: Site, admin: dict[str, str], address: str, **body: str
) -> str:
    """Invite through the admin API; the link in the email it sends."""
    invited = await api.post(INVITATIONS, json={"email": address, **body}, headers=admin)
    assert invited.status_code == 201, invited.text
    return await link_in_mail(site, address, "accept-invitation")


async def submit(visitor: Visitor, page: Page, password: str, again: str) -> Response:
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_label("Password again").fill(again)
    return await visitor.press(page, "Create my account")


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript-on", "javascript-off"])
async def test_an_invited_person_opens_their_account_in_the_browser(
    visitor: Visitor,
    api: httpx.AsyncClient,
    site: Site,
    admin: dict[str, str],
    tmp_path: Path,
) -> None:
    address = new_address("invited")
    link = await invite(api, site, admin, address, role="admin", name="Grace Hopper")

    # Loading the page is all that a link scanner or a mail preview does: it accepts nothing.
    page, shown = await visitor.open(link)
    assert shown.status == 200
    await page.reload()
    assert (await log_in(api, address, NEW_PASSWORD)).status_code == 401
    await expect(page.get_by_role("heading", level=1)).to_have_text("Accept your invitation")
    await expect(page.get_by_label("Email")).to_have_value(address)
    await expect(page.get_by_label("Name")).to_have_value("Grace Hopper")
    await expect(page.get_by_label("Password", exact=True)).to_be_focused()
    await screenshot(page, tmp_path, "accept-invitation-form")

    # A weak password: said beside its field, tied to it, not sent back.
    password = page.get_by_label("Password", exact=True)
    refused = await submit(visitor, page, "password123", "password123")
    assert refused.status == 422
    await expect(page.get_by_role("alert")).to_contain_text("That password is too common")
    await expect(password).to_have_attribute("aria-describedby", re.compile(r"\bpassword-error\b"))
    await expect(password).to_have_attribute("aria-invalid", "true")
    await expect(password).to_have_value("")
    await expect(password).to_be_focused()
    assert "password123" not in await page.content()
    await expect(page.get_by_label("Name")).to_have_value("Grace Hopper")
    await screenshot(page, tmp_path, "accept-invitation-weak")

    # Two passwords that differ: said beside the second one.
    refused = await submit(visitor, page, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert refused.status == 422
    again = page.get_by_label("Password again")
    await expect(page.get_by_role("alert")).to_contain_text("The two passwords differ")
    await expect(again).to_have_attribute(
        "aria-describedby", re.compile(r"\bconfirm_password-error\b")
    )
    assert (await log_in(api, address, NEW_PASSWORD)).status_code == 401

    await page.get_by_label("Name").fill("Grace B. Hopper")
    done = await submit(visitor, page, NEW_PASSWORD, NEW_PASSWORD)
    assert done.status == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your account is ready")
    await expect(page.get_by_role("status")).to_contain_text(address)
    await expect(page.get_by_role("alert")).to_have_count(0)
    await screenshot(page, tmp_path, "accept-invitation-done")

    tokens = await log_in(api, address, NEW_PASSWORD)
    assert tokens.status_code == 200
    me = await api.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert (me.json()["role"], me.json()["is_verified"]) == ("admin", True)
    assert me.json()["name"] == "Grace B. Hopper"

    # The same link again: spent, and it says so without a form.
    spent, shown = await visitor.open(link)
    assert shown.status == 400
    await expect(spent.get_by_role("alert")).to_contain_text(BROKEN_INVITATION)
    await expect(spent.get_by_role("button")).to_have_count(0)
    await screenshot(spent, tmp_path, "accept-invitation-spent")


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript-on", "javascript-off"])
async def test_an_invitation_to_an_address_that_signed_up_meanwhile_changes_nothing(
    visitor: Visitor,
    api: httpx.AsyncClient,
    site: Site,
    admin: dict[str, str],
    tmp_path: Path,
) -> None:
    address = new_address("meanwhile")
    link = await invite(api, site, admin, address, role="admin")
    page, _ = await visitor.open(link)
    await sign_up(api, address)

    refused = await submit(visitor, page, NEW_PASSWORD, NEW_PASSWORD)

    assert refused.status == 409
    await expect(page.get_by_role("alert")).to_contain_text("already exists")
    await screenshot(page, tmp_path, "accept-invitation-taken")
    assert (await log_in(api, address, NEW_PASSWORD)).status_code == 401
    tokens = (await log_in(api, address, OLD_PASSWORD)).json()
    me = await api.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert (me.json()["role"], me.json()["is_verified"]) == ("user", False)


@pytest.mark.parametrize(
    "query", ["", "?token=", "?token=not-a-token-we-sent", "?token=" + "x" * 5000]
)
async def test_an_invitation_link_that_does_not_work_says_so_at_once(
    visitor: Visitor, site: Site, query: str
) -> None:
    page, shown = await visitor.open(f"{site.base_url}/accept-invitation{query}")
    assert shown.status == 400
    await expect(page.get_by_role("alert")).to_contain_text(BROKEN_INVITATION)
    await expect(page.get_by_role("button")).to_have_count(0)


async def test_the_invitation_page_is_as_strict_and_accessible_as_the_others(
    visitor: Visitor, api: httpx.AsyncClient, site: Site, admin: dict[str, str]
) -> None:
    link = await invite(api, site, admin, new_address("strict"))
    page, shown = await visitor.open(link)

    policy = _directives(shown.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert "script-src" not in policy
    assert policy["form-action"] == ["'self'"]
    assert shown.headers["cache-control"] == "no-store"
    assert shown.headers["x-content-type-options"] == "nosniff"
    await expect(page.locator("script")).to_have_count(0)
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("h1")).to_have_count(1)
    await expect(page).to_have_title("Accept your invitation · Portcullis")
    for label, autocomplete in [
        ("Email", "username"),
        ("Name", "name"),
        ("Password", "new-password"),
        ("Password again", "new-password"),
    ]:
        field = page.get_by_label(label, exact=label != "Name")
        await expect(field).to_have_count(1)
        await expect(field).to_have_attribute("autocomplete", autocomplete)
    # No name was suggested: the cursor starts there.
    await expect(page.get_by_label("Name")).to_be_focused()
    await expect(page.get_by_label("Name")).to_have_value("")
    visitor.assert_stayed_on_the_site()
