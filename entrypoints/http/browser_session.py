"""The browser session: a cookie holding the secret of a row of the sessions table, and the
protection of every page form against requests that other sites make the browser send.

The cookie is HttpOnly, SameSite=Lax, and Secure (with the `__Host-` prefix, which binds it to
this host and path /) whenever the public URL is https. Only the pages read it: `/api/v1` is
authenticated by bearer tokens alone, so a site that gets a browser to call the API sends no
credential.

A form that changes something carries a token derived from the session's secret (an HMAC, so it
is per session, needs no storage, and reveals nothing of the cookie) and must not come from
another site by the browser's own account of it: `Sec-Fetch-Site`, else `Origin`."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Form, Request, params
from fastapi.responses import Response

from application.caller import Caller, Principal
from application.use_cases.authenticate_browser import AuthenticateBrowserQuery
from application.use_cases.revoke_sessions import RevokeSessionsCommand
from entrypoints.http.dependencies import client_ip_of, container_of, depends_on, user_agent_of
from entrypoints.http.openapi import problems
from entrypoints.settings import Settings

PLAIN_COOKIE = "portcullis_session"
HOST_COOKIE = "__Host-portcullis_session"
# Our secrets are 43 characters; anything much longer is not one of ours.
MAX_SECRET_LENGTH = 128
# Room for an authorization request with long parameters, which the sign-in returns to.
MAX_RETURN_TO = 8192
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAME_SITE_FETCHES = frozenset({"same-origin", "none"})

# The `responses=` of the routes these dependencies guard: a browser that is not signed in is
# sent to /login (303), any other client told so (401); a form from elsewhere is refused (403).
SIGNED_IN_RESPONSES: dict[int | str, dict[str, Any]] = {
    303: {"description": "Not signed in: on to /login, and back here afterwards"},
    **problems(401),
}
FORM_RESPONSES: dict[int | str, dict[str, Any]] = {**SIGNED_IN_RESPONSES, **problems(403)}


class SignInRequired(Exception):
    """A page for signed-in people was asked for without a usable session: the browser is sent
    to /login, and back here afterwards."""

    def __init__(self, return_to: str) -> None:
        super().__init__("sign in first")
        self.return_to = return_to


class CrossSiteRequest(Exception):
    """A form was posted from another site, or without its session's token."""

    def __init__(self) -> None:
        super().__init__("this form did not come from this site")


@dataclass(frozen=True, slots=True)
class Visitor:
    """A signed-in person at a browser, and the token their forms must carry."""

    principal: Principal
    csrf_token: str


def cookie_name(settings: Settings) -> str:
    return HOST_COOKIE if settings.public_url_is_https else PLAIN_COOKIE


def set_session_cookie(response: Response, settings: Settings, secret: str) -> None:
    response.set_cookie(
        cookie_name(settings),
        secret,
        max_age=settings.refresh_token_ttl_seconds,
        path="/",
        secure=settings.public_url_is_https,
        httponly=True,
        samesite="lax",
    )


async def hand_over_session(request: Request, response: Response, secret: str) -> None:
    """Gives the browser the cookie of the session it just opened. A session it held until now
    (signing in again to prove it is still the same person, or as someone else) is ended: a
    cookie the browser drops must not stay good in the database."""
    container = container_of(request)
    previous = await _visitor(request)
    if previous is not None:
        caller = Caller(ip=client_ip_of(request), user_agent=user_agent_of(request))
        command = RevokeSessionsCommand(previous.principal, caller=caller)
        await container.revoke_sessions().execute(command)
    set_session_cookie(response, container.settings(), secret)


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        cookie_name(settings),
        path="/",
        secure=settings.public_url_is_https,
        httponly=True,
        samesite="lax",
    )


def csrf_token_for(session_secret: str) -> str:
    digest = hmac.new(session_secret.encode(), b"portcullis form token", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def is_from_this_site(request: Request, settings: Settings) -> bool:
    """Whether the browser says the request comes from our own pages. A request with neither
    header is not from a browser (curl, a test client) and has no victim to forge it for.
    `Origin: null` is what Chromium sends for a same-origin form post from a page with
    `Referrer-Policy: no-referrer`, so it decides only where Sec-Fetch-Site is absent."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in SAME_SITE_FETCHES
    origin = request.headers.get("origin")
    return origin is None or origin == settings.public_origin


def session_secret_of(request: Request, settings: Settings) -> str | None:
    secret = request.cookies.get(cookie_name(settings))
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return None
    return secret


async def _visitor(request: Request) -> Visitor | None:
    container = container_of(request)
    secret = session_secret_of(request, container.settings())
    if secret is None:
        return None
    query = AuthenticateBrowserQuery(session_secret=secret)
    principal = await container.authenticate_browser().execute(query)
    return Visitor(principal, csrf_token_for(secret)) if principal else None


def return_here(request: Request) -> str:
    """This page's path and query, to come back to after signing in."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def login_url(return_to: str) -> str:
    return "/login?return_to=" + quote(return_to, safe="")


def safe_return_to(candidate: str | None, default: str = "/account") -> str:
    """`candidate` when it is a path on this origin (with its query), else `default`: never
    another site, whatever form the attempt takes (`//evil`, `/\\evil`, `https:`, control
    characters that browsers strip)."""
    if not candidate or len(candidate) > MAX_RETURN_TO or not candidate.startswith("/"):
        return default
    if candidate.startswith(("//", "/\\")) or any(ord(c) < 0x21 or c == "\\" for c in candidate):
        return default
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return default
    return candidate


async def _signed_in_visitor(request: Request) -> Visitor:
    visitor = await _visitor(request)
    if visitor is None:
        raise SignInRequired(return_here(request) if request.method == "GET" else "/account")
    return visitor


async def _form_of_this_site(request: Request) -> None:
    if not is_from_this_site(request, container_of(request).settings()):
        raise CrossSiteRequest()


async def _checked_form(
    request: Request, csrf_token: Annotated[str, Form(max_length=128)] = ""
) -> Visitor:
    await _form_of_this_site(request)
    visitor = await _signed_in_visitor(request)
    if not hmac.compare_digest(csrf_token.encode(), visitor.csrf_token.encode()):
        raise CrossSiteRequest()
    return visitor


async def _checked_form_if_signed_in(
    request: Request, csrf_token: Annotated[str, Form(max_length=128)] = ""
) -> Visitor | None:
    await _form_of_this_site(request)
    visitor = await _visitor(request)
    if visitor is not None and not hmac.compare_digest(
        csrf_token.encode(), visitor.csrf_token.encode()
    ):
        raise CrossSiteRequest()
    return visitor


async def _checked_script_request(request: Request) -> Visitor:
    await _form_of_this_site(request)
    visitor = await _visitor(request)
    if visitor is None:
        raise SignInRequired("/account")
    presented = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(presented.encode(), visitor.csrf_token.encode()):
        raise CrossSiteRequest()
    return visitor


def maybe_signed_in() -> Visitor | None:
    """The signed-in visitor, or None: `visitor: Visitor | None = maybe_signed_in()`."""
    return depends_on(_visitor)


def signed_in() -> Visitor:
    """The signed-in visitor; anyone else is sent to /login and brought back."""
    return depends_on(_signed_in_visitor)


def checked_form() -> Visitor:
    """The signed-in visitor of a POST from one of our pages, carrying its session's token."""
    return depends_on(_checked_form)


def checked_form_if_signed_in() -> Visitor | None:
    """As `checked_form` for a form that also means something to a browser no longer signed in
    (signing out): that one gets None, and its post needs no session token."""
    return depends_on(_checked_form_if_signed_in)


def checked_script_request() -> Visitor:
    """As `checked_form`, for our page script's JSON requests (the token in X-CSRF-Token)."""
    return depends_on(_checked_script_request)


def form_of_this_site() -> params.Depends:
    """A route dependency: a POST made from one of our pages, for the forms used before there
    is a session (sign-in, sign-up), which have no session token: the browser's word decides."""
    return params.Depends(_form_of_this_site)
