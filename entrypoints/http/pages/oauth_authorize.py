"""The OpenID Provider's authorization endpoint and its consent page: the use case decides, this
turns its outcome into a page or a redirect.

A redirect to the client that follows a form POST is checked by Chromium against the CSP
`form-action` of the page that posted, at every hop. The consent page therefore lists the origin
of the request's (registered, exactly matched) redirect URI in its `form-action`; the sign-in
forms, which cannot know where a code will go, end an authorization on a page that moves on by
itself (see sign_in.py), so the redirect to the client starts from a plain navigation."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from application.caller import Caller
from application.use_cases.oidc.authorize import (
    AskConsent,
    Authorize,
    AuthorizeCommand,
    AuthorizeOutcome,
    ConsentDecision,
    RedirectToClient,
    ShowProblem,
    SignInFirst,
)
from application.use_cases.oidc.token_errors import TokenRequestRefused
from domain.oauth_scope import Scope
from entrypoints.http.browser_session import (
    CSRF_FIELD,
    FORM_RESPONSES,
    Visitor,
    checked_form,
    maybe_signed_in,
)
from entrypoints.http.dependencies import request_caller, use_case
from entrypoints.http.oauth_requests import form_parameters, form_request_body
from entrypoints.http.pages.rendering import HTML, PAGE_HEADERS, outcome, page, see_other

router = APIRouter(tags=["pages"])

AUTHORIZE_PATH = "/oauth2/authorize"
CONSENT_PATH = "/oauth2/authorize/consent"
DECISION_FIELD = "decision"
UNUSABLE = "This sign-in request cannot be used"
CONSENT = "Allow access to your account?"
# What each scope lets the application know or do, in the person's words.
SCOPE_MEANINGS = {
    Scope.OPENID: "Know that it is you, by an identifier of your account",
    Scope.PROFILE: "See your name",
    Scope.EMAIL: "See your email address and whether it is verified",
    Scope.OFFLINE_ACCESS: "Keep this access after you sign out, until you withdraw it",
}
AUTHORIZE_RESPONSES: dict[int | str, dict[str, Any]] = {
    302: {"description": "On to the client's redirect URI, with a code or an error"},
    303: {"description": "Not signed in, or must sign in again: on to /login, then back"},
    400: HTML,
}
# Read as sent, not declared to FastAPI (a repeated one must be refused, not silently chosen);
# listed in the OpenAPI document for the reader.
AUTHORIZE_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
)
AUTHORIZE_PARAMETERS: dict[str, Any] = {
    "parameters": [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name in AUTHORIZE_FIELDS
    ]
}


def authorize_url(parameters: tuple[tuple[str, str], ...]) -> str:
    return f"{AUTHORIZE_PATH}?{urlencode(parameters)}"


def login_location(sign_in: SignInFirst) -> str:
    query: dict[str, str] = {"return_to": authorize_url(sign_in.return_parameters)}
    if sign_in.again:
        query["reauthenticate"] = "true"
    if sign_in.login_hint:
        query["login_hint"] = sign_in.login_hint
    return "/login?" + urlencode(query)


def origin_of(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def consent_page(request: Request, asked: AskConsent, visitor: Visitor) -> HTMLResponse:
    response = page(
        request,
        "consent.html",
        title=CONSENT,
        client_name=asked.client_name,
        meanings=[SCOPE_MEANINGS[scope] for scope in Scope if scope in asked.scopes],
        parameters=asked.parameters,
        csrf_token=visitor.csrf_token,
        email=visitor.principal.user.email.value,
    )
    policy = response.headers["content-security-policy"]
    response.headers["content-security-policy"] = policy.replace(
        "form-action 'self'", f"form-action 'self' {origin_of(asked.redirect_uri)}"
    )
    return response


def answer(
    request: Request, decided: AuthorizeOutcome, visitor: Visitor | None, status: int
) -> Response:
    """The outcome as the browser needs it; `status` is the redirect's to the client (302 for
    the GET, 303 after the consent form's POST)."""
    match decided:
        case ShowProblem(message):
            return outcome(request, UNUSABLE, message, success=False, status=400)
        case RedirectToClient(location):
            return RedirectResponse(location, status_code=status, headers=PAGE_HEADERS)
        case SignInFirst():
            return see_other(login_location(decided))
        case AskConsent():
            assert visitor is not None
            return consent_page(request, decided, visitor)


@router.get(
    AUTHORIZE_PATH,
    response_class=HTMLResponse,
    responses=AUTHORIZE_RESPONSES,
    openapi_extra=AUTHORIZE_PARAMETERS,
)
async def authorize(
    request: Request,
    visitor: Visitor | None = maybe_signed_in(),
    caller: Caller = request_caller(),
    authorize: Authorize = use_case(lambda c: c.authorize),
) -> Response:
    """The authorization code flow's first step (OpenID Connect Core §3.1.2)."""
    command = AuthorizeCommand(
        tuple(request.query_params.multi_items()),
        visitor.principal if visitor else None,
        caller=caller,
    )
    return answer(request, await authorize.execute(command), visitor, 302)


@router.post(
    AUTHORIZE_PATH,
    response_class=HTMLResponse,
    responses=AUTHORIZE_RESPONSES,
    openapi_extra=form_request_body(AUTHORIZE_FIELDS, required=()),
)
async def authorize_by_post(
    request: Request,
    visitor: Visitor | None = maybe_signed_in(),
    caller: Caller = request_caller(),
    authorize: Authorize = use_case(lambda c: c.authorize),
) -> Response:
    """As GET, with the request's parameters in a form body (OpenID Connect Core §3.1.2.1).
    No form of this site is checked for: the request comes from the client's page, on another
    site, and changes nothing by itself. A browser keeps a SameSite=Lax cookie back from
    another site's POST, so the person is asked to sign in (or `prompt=none` answers
    login_required) even when signed in; the sign-in comes back to this request as a GET."""
    try:
        parameters = await form_parameters(request)
    except TokenRequestRefused as refused:
        return outcome(request, UNUSABLE, refused.description, success=False, status=400)
    command = AuthorizeCommand(
        tuple(parameters), visitor.principal if visitor else None, caller=caller
    )
    return answer(request, await authorize.execute(command), visitor, 303)


@router.post(
    CONSENT_PATH,
    response_class=HTMLResponse,
    responses={**FORM_RESPONSES, 400: HTML, 422: HTML},
)
async def consent_posted(
    request: Request,
    decision: Annotated[ConsentDecision, Form()],
    visitor: Visitor = checked_form(),
    caller: Caller = request_caller(),
    authorize: Authorize = use_case(lambda c: c.authorize),
) -> Response:
    """Allow or Deny on the consent page. The request's parameters come back in the form and
    are checked again whole."""
    form = await request.form()
    parameters = tuple(
        (name, value)
        for name, value in form.multi_items()
        if isinstance(value, str) and name not in (CSRF_FIELD, DECISION_FIELD)
    )
    command = AuthorizeCommand(parameters, visitor.principal, decision, caller)
    return answer(request, await authorize.execute(command), visitor, 303)
