"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): an application sends the
person here to sign out of Portcullis too. A signed-in person is asked first, by a form that
only this site can submit, so that no other site can sign anyone out with a link; the browser
session then ends, and with it every OAuth session it authorized without offline access.

Afterwards the browser goes back to the application only to a post-logout URI registered for the
client the request names by `client_id`; anything else ends on this site's own page. The ID
token hint is accepted and not yet read: its signature check belongs to the ID tokens' port."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from application.caller import Caller
from application.use_cases.oidc.read_logout_request import (
    LogoutRequest,
    LogoutRequestQuery,
    ReadLogoutRequest,
)
from application.use_cases.revoke_sessions import RevokeSessions, RevokeSessionsCommand
from domain.oauth_client import MAX_URI_LENGTH
from entrypoints.http.browser_session import (
    Visitor,
    checked_form_if_signed_in,
    clear_session_cookie,
    maybe_signed_in,
)
from entrypoints.http.dependencies import container_of, request_caller, use_case
from entrypoints.http.openapi import problems
from entrypoints.http.pages.rendering import (
    HTML,
    headers_for_forms_leading_to,
    outcome,
    page,
    see_other,
)

router = APIRouter(tags=["pages"])

PATH = "/oauth2/logout"
MAX_STATE_LENGTH = 2000
MAX_ID_TOKEN_HINT_LENGTH = 8192
SIGNED_OUT_TITLE = "You are signed out"
SIGNED_OUT = "You are signed out of Portcullis. You can close this page."
RESPONSES = {
    200: HTML,
    303: {"description": "On to the application's registered post-logout URI"},
    **problems(403, 422),
}

ClientIdParameter = Annotated[str | None, Query(max_length=256)]
RedirectParameter = Annotated[str | None, Query(max_length=MAX_URI_LENGTH)]
StateParameter = Annotated[str | None, Query(max_length=MAX_STATE_LENGTH)]
HintParameter = Annotated[str | None, Query(max_length=MAX_ID_TOKEN_HINT_LENGTH)]


def origin_of(uri: str) -> str | None:
    """The scheme://host[:port] of a registered URI, for the page's policy; None when the host
    is anything but plain letters, digits, dots and hyphens or an IPv6 address, so that no
    character of it could end the policy's directive."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if host and all(c.isascii() and (c.isalnum() or c in ".-") for c in host):
        shown = host
    elif host and all(c in "0123456789abcdef:." for c in host):
        shown = f"[{host}]"
    else:
        return None
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{shown}{port}"


def _afterwards(request: LogoutRequest) -> tuple[str, str] | None:
    """Where to send the browser, and that place's origin, when it may go back."""
    uri = request.post_logout_redirect_uri
    if uri is None:
        return None
    origin = origin_of(uri)
    return (uri, origin) if origin is not None else None


def _signed_out(request: Request) -> HTMLResponse:
    return outcome(request, SIGNED_OUT_TITLE, SIGNED_OUT, success=True)


@router.get(PATH, response_class=HTMLResponse, responses=RESPONSES)
async def logout_requested(
    request: Request,
    client_id: ClientIdParameter = None,
    post_logout_redirect_uri: RedirectParameter = None,
    state: StateParameter = None,
    id_token_hint: HintParameter = None,
    visitor: Visitor | None = maybe_signed_in(),
    read: ReadLogoutRequest = use_case(lambda c: c.read_logout_request),
) -> Response:
    """Asks a signed-in person to confirm; a browser signed out already goes straight on."""
    logout = await read.execute(
        LogoutRequestQuery(client_id, post_logout_redirect_uri, state, id_token_hint)
    )
    afterwards = _afterwards(logout)
    if visitor is None:
        return see_other(afterwards[0]) if afterwards else _signed_out(request)
    return page(
        request,
        "oauth_logout.html",
        headers=headers_for_forms_leading_to(afterwards[1]) if afterwards else None,
        title="Sign out of Portcullis?",
        csrf_token=visitor.csrf_token,
        user=visitor.principal.user,
        client_name=logout.client_name,
        client_id=logout.client_id,
        post_logout_redirect_uri=post_logout_redirect_uri if afterwards else None,
        state=state if afterwards else None,
    )


ClientIdField = Annotated[str | None, Form(max_length=256)]
RedirectField = Annotated[str | None, Form(max_length=MAX_URI_LENGTH)]
StateField = Annotated[str | None, Form(max_length=MAX_STATE_LENGTH)]


@router.post(PATH, response_class=HTMLResponse, responses=RESPONSES)
async def logout_confirmed(
    request: Request,
    client_id: ClientIdField = None,
    post_logout_redirect_uri: RedirectField = None,
    state: StateField = None,
    visitor: Visitor | None = checked_form_if_signed_in(),
    caller: Caller = request_caller(),
    revoke: RevokeSessions = use_case(lambda c: c.revoke_sessions),
    read: ReadLogoutRequest = use_case(lambda c: c.read_logout_request),
) -> Response:
    """Ends this browser's session, then goes back to the application when it may (the form's
    fields are checked against the registration again, as a query's would be)."""
    if visitor is not None:
        await revoke.execute(RevokeSessionsCommand(visitor.principal, caller=caller))
    logout = await read.execute(LogoutRequestQuery(client_id, post_logout_redirect_uri, state))
    afterwards = _afterwards(logout)
    response = see_other(afterwards[0] if afterwards else PATH)
    clear_session_cookie(response, container_of(request).settings())
    return response
