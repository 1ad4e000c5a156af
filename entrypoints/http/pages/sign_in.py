"""Signing in and out in the browser: the password, then the second factor for an account that
has one, or a passkey; then back to where the person was going."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from application.caller import Caller
from application.errors import (
    AccountDisabled,
    InvalidCredentials,
    InvalidMfaCode,
    InvalidMfaToken,
    MfaRequired,
    TooManyRequests,
)
from application.second_factor import SecondFactorProof
from application.tokens import TokenPair
from application.use_cases.log_in import LogIn, LogInCommand
from application.use_cases.passkeys.sign_in_with_passkey import (
    SignInWithPasskey,
    SignInWithPasskeyCommand,
)
from application.use_cases.revoke_sessions import RevokeSessions, RevokeSessionsCommand
from application.use_cases.second_factor.complete_mfa_login import (
    CompleteMfaLogin,
    CompleteMfaLoginCommand,
)
from domain.email import MAX_EMAIL_LENGTH
from domain.session import SessionKind
from entrypoints.http.browser_session import (
    FORM_RESPONSES,
    MAX_RETURN_TO,
    Visitor,
    checked_form,
    clear_session_cookie,
    form_of_this_site,
    hand_over_session,
    maybe_signed_in,
    safe_return_to,
)
from entrypoints.http.dependencies import container_of, rate_limited, request_caller, use_case
from entrypoints.http.openapi import problems
from entrypoints.http.pages.oauth_authorize import AUTHORIZE_PATH
from entrypoints.http.pages.rendering import HTML, page, see_other
from entrypoints.http.schemas import MAX_PASSWORD_INPUT, MAX_TOKEN_INPUT, RequestModel

router = APIRouter(tags=["pages"])
SIGNED_IN = {"description": "Signed in: on to `return_to`"}

SIGN_IN = "Sign in"
SIGNED_IN_TITLE = "Signed in"
SECOND_STEP = "Confirm it is you"
WRONG_PASSWORD = "That email and password do not match an account. Please try again."  # noqa: S105
DISABLED = "This account is deactivated. Ask an administrator if you think it should not be."
STEP_EXPIRED = "That sign-in took too long or had too many wrong codes. Please sign in again."
WRONG_CODE = "That code is not right. Please try again."

ReturnTo = Annotated[str, Form(max_length=MAX_RETURN_TO)]
EmailField = Annotated[str, Form(max_length=MAX_EMAIL_LENGTH + 64)]
PasswordField = Annotated[str, Form(max_length=MAX_PASSWORD_INPUT)]
CodeField = Annotated[str, Form(max_length=64)]


def too_many(error: TooManyRequests) -> str:
    return f"Too many attempts. Please wait {error.retry_after_seconds} seconds and try again."


def login_form(
    request: Request,
    *,
    return_to: str,
    email: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    response = page(
        request,
        "login.html",
        status,
        scripted=True,
        title=SIGN_IN,
        return_to=return_to,
        providers=container_of(request).list_upstream_providers().execute(),
        email=email,
        error=error,
    )
    response.headers.update(headers or {})
    return response


def second_step_form(
    request: Request,
    *,
    mfa_token: str,
    return_to: str,
    methods: tuple[str, ...],
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "login_second_step.html",
        status,
        title=SECOND_STEP,
        mfa_token=mfa_token,
        return_to=return_to,
        methods=methods,
        error=error,
    )


async def signed_in_to(request: Request, pair: TokenPair, return_to: str) -> Response:
    """The browser, now holding its session, on its way to where it was going. An authorization
    request goes on from a page that moves on by itself rather than by a redirect: its answer
    may be a redirect to the client's origin, which Chromium would check against the sign-in
    form's `form-action 'self'` were it still the navigation the form's POST started."""
    destination = safe_return_to(return_to)
    if urlsplit(destination).path == AUTHORIZE_PATH:
        response: Response = page(
            request, "continue.html", title=SIGNED_IN_TITLE, destination=destination
        )
    else:
        response = see_other(destination)
    await hand_over_session(request, response, pair.refresh_token)
    return response


@router.get("/login", response_class=HTMLResponse, responses={303: SIGNED_IN})
async def login_page(
    request: Request,
    return_to: Annotated[str | None, Query(max_length=MAX_RETURN_TO)] = None,
    reauthenticate: bool = False,
    login_hint: Annotated[str | None, Query(max_length=MAX_EMAIL_LENGTH)] = None,
    visitor: Visitor | None = maybe_signed_in(),
) -> Response:
    """The sign-in page. Someone already signed in goes straight on to `return_to`, unless
    asked to `reauthenticate` (an application asked for a fresh sign-in). `login_hint`
    prefills the email."""
    destination = safe_return_to(return_to)
    if visitor is not None and not reauthenticate:
        return see_other(destination)
    return login_form(request, return_to=destination, email=login_hint or "")


@router.post(
    "/login",
    response_class=HTMLResponse,
    responses={303: SIGNED_IN, 401: HTML, 403: HTML, 429: HTML},
    dependencies=[form_of_this_site(), rate_limited("login", login=True)],
)
async def login_form_posted(
    request: Request,
    email: EmailField = "",
    password: PasswordField = "",
    return_to: ReturnTo = "/account",
    caller: Caller = request_caller(),
    log_in: LogIn = use_case(lambda c: c.log_in),
) -> Response:
    destination = safe_return_to(return_to)
    command = LogInCommand(email, password, caller, session_kind=SessionKind.BROWSER)
    try:
        pair = await log_in.execute(command)
    except MfaRequired as required:
        return second_step_form(
            request, mfa_token=required.mfa_token, return_to=destination, methods=required.methods
        )
    except InvalidCredentials:
        return login_form(
            request, return_to=destination, email=email, error=WRONG_PASSWORD, status=401
        )
    except AccountDisabled:
        return login_form(request, return_to=destination, email=email, error=DISABLED, status=403)
    except TooManyRequests as throttled:
        return login_form(
            request,
            return_to=destination,
            email=email,
            error=too_many(throttled),
            status=429,
            headers={"Retry-After": str(throttled.retry_after_seconds)},
        )
    return await signed_in_to(request, pair, destination)


@router.post(
    "/login/second-step",
    response_class=HTMLResponse,
    responses={303: SIGNED_IN, 401: HTML, 403: HTML, 429: HTML},
    dependencies=[form_of_this_site(), rate_limited("mfa", login=True)],
)
async def second_step_posted(
    request: Request,
    mfa_token: Annotated[str, Form(max_length=MAX_TOKEN_INPUT)],
    code: CodeField = "",
    recovery_code: CodeField = "",
    return_to: ReturnTo = "/account",
    caller: Caller = request_caller(),
    complete: CompleteMfaLogin = use_case(lambda c: c.complete_mfa_login),
) -> Response:
    """The code from the authenticator app, or one of the recovery codes."""
    destination = safe_return_to(return_to)
    proof = SecondFactorProof(
        totp_code=code.strip() or None, recovery_code=recovery_code.strip() or None
    )
    command = CompleteMfaLoginCommand(mfa_token, proof, caller, session_kind=SessionKind.BROWSER)
    try:
        pair = await complete.execute(command)
    except InvalidMfaCode:
        return second_step_form(
            request,
            mfa_token=mfa_token,
            return_to=destination,
            methods=("totp", "recovery_code"),
            error=WRONG_CODE,
            status=401,
        )
    except InvalidMfaToken:
        return login_form(request, return_to=destination, error=STEP_EXPIRED, status=401)
    except AccountDisabled:
        return login_form(request, return_to=destination, error=DISABLED, status=403)
    except TooManyRequests as throttled:
        return login_form(request, return_to=destination, error=too_many(throttled), status=429)
    return await signed_in_to(request, pair, destination)


class PagePasskeyLogin(RequestModel):
    """What the sign-in page's script posts: the assertion, and where to go afterwards."""

    challenge_id: UUID
    credential: dict[str, Any]
    return_to: str = "/account"


@router.post(
    "/login/passkey",
    responses=problems(401, 403, 413, 422, 429, 503),
    dependencies=[form_of_this_site(), rate_limited("passkey_login", login=True)],
)
async def passkey_login_posted(
    request: Request,
    body: PagePasskeyLogin,
    caller: Caller = request_caller(),
    sign_in: SignInWithPasskey = use_case(lambda c: c.sign_in_with_passkey),
) -> JSONResponse:
    """The sign-in page's passkey button: the browser session from a passkey's assertion.
    Answers where to go next; refusals are the API's problem documents."""
    command = SignInWithPasskeyCommand(
        body.challenge_id, body.credential, caller, session_kind=SessionKind.BROWSER
    )
    pair = await sign_in.execute(command)
    response = JSONResponse({"location": safe_return_to(body.return_to)})
    await hand_over_session(request, response, pair.refresh_token)
    return response


@router.post("/logout", response_class=HTMLResponse, responses=FORM_RESPONSES)
async def logout(
    request: Request,
    visitor: Visitor = checked_form(),
    caller: Caller = request_caller(),
    revoke: RevokeSessions = use_case(lambda c: c.revoke_sessions),
) -> Response:
    """Ends this browser's session (the person's other sessions go on)."""
    await revoke.execute(RevokeSessionsCommand(visitor.principal, caller=caller))
    response = see_other("/login")
    clear_session_cookie(response, container_of(request).settings())
    return response
