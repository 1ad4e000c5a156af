"""The pages the emails link to. Server-rendered, no script: a GET only shows a form,
and only the form's POST spends the token, so a link scanner that follows links confirms,
resets or accepts nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from application.caller import Caller
from application.errors import EmailAlreadyRegistered, InvalidOrExpiredToken
from application.use_cases.accept_invitation import AcceptInvitation, AcceptInvitationCommand
from application.use_cases.open_invitation import (
    InvitationView,
    OpenInvitation,
    OpenInvitationQuery,
)
from application.use_cases.reset_password import ResetPassword, ResetPasswordCommand
from application.use_cases.verify_email import VerifyEmail, VerifyEmailCommand
from domain.errors import InvalidDisplayName, WeakPassword
from domain.user import MAX_NAME_LENGTH
from entrypoints.http.browser_session import form_of_this_site
from entrypoints.http.dependencies import rate_limited, request_caller, use_case
from entrypoints.http.openapi import problems
from entrypoints.http.pages.rendering import HTML, outcome, page
from entrypoints.http.schemas import MAX_PASSWORD_INPUT, MAX_TOKEN_INPUT

router = APIRouter(tags=["pages"])

BROKEN_LINK = "This link is invalid, was already used, or has expired. Please ask for a new one."
# No length limit on the query: a mangled link must get the page that says it is broken, not
# a JSON validation error in the browser (the server's header limit bounds the query anyway).
TokenQuery = Annotated[str | None, Query()]
TokenField = Annotated[str, Form(min_length=1, max_length=MAX_TOKEN_INPUT)]


def _plausible(token: str | None) -> bool:
    return token is not None and 0 < len(token) <= MAX_TOKEN_INPUT


@router.get("/reset-password", response_class=HTMLResponse, responses={400: HTML})
async def reset_password_page(request: Request, token: TokenQuery = None) -> HTMLResponse:
    if not _plausible(token):
        return outcome(request, "Reset your password", BROKEN_LINK, success=False)
    return page(request, "reset_password.html", title="Choose a new password", token=token)


@router.post(
    "/reset-password",
    response_class=HTMLResponse,
    responses={400: HTML, 422: HTML, **problems(429)},
    dependencies=[rate_limited("reset-password-page")],
)
async def reset_password_form(
    request: Request,
    token: TokenField,
    new_password: Annotated[str, Form(min_length=1, max_length=MAX_PASSWORD_INPUT)],
    caller: Caller = request_caller(),
    reset: ResetPassword = use_case(lambda c: c.reset_password),
) -> HTMLResponse:
    try:
        await reset.execute(
            ResetPasswordCommand(token=token, new_password=new_password, caller=caller)
        )
    except InvalidOrExpiredToken:
        return outcome(request, "Reset your password", BROKEN_LINK, success=False)
    except WeakPassword as weak:
        return page(
            request,
            "reset_password.html",
            422,
            title="Choose a new password",
            token=token,
            error=f"That password {weak}. Please choose another.",
        )
    return outcome(
        request,
        "Password changed",
        "Your password has been changed, and every device was logged out. "
        "Log in again with your new password.",
        success=True,
    )


@router.get("/verify-email", response_class=HTMLResponse, responses={400: HTML})
async def verify_email_page(request: Request, token: TokenQuery = None) -> HTMLResponse:
    if not _plausible(token):
        return outcome(request, "Confirm your email address", BROKEN_LINK, success=False)
    return page(request, "verify_email.html", title="Confirm your email address", token=token)


@router.post(
    "/verify-email",
    response_class=HTMLResponse,
    responses={400: HTML, 422: HTML, **problems(429)},
    dependencies=[rate_limited("verify-email-page")],
)
async def verify_email_form(
    request: Request,
    token: TokenField,
    caller: Caller = request_caller(),
    verify: VerifyEmail = use_case(lambda c: c.verify_email),
) -> HTMLResponse:
    try:
        await verify.execute(VerifyEmailCommand(token=token, caller=caller))
    except InvalidOrExpiredToken:
        return outcome(request, "Confirm your email address", BROKEN_LINK, success=False)
    return outcome(
        request, "Email confirmed", "Thank you: your email address is confirmed.", success=True
    )


INVITATION_TITLE = "Accept your invitation"
BROKEN_INVITATION = (
    "This invitation is invalid, was already accepted, or has expired. Please ask for a new one."
)
ACCOUNT_EXISTS = (
    "An account with this email address already exists, so the invitation cannot make "
    "another. Sign in with it, or reset its password if you do not know it."
)
# Room past the longest name, so an overlong one reaches the name check and is reported on
# the page beside its field, not as a JSON validation error.
NameField = Annotated[str, Form(max_length=4 * MAX_NAME_LENGTH)]
PasswordField = Annotated[str, Form(min_length=1, max_length=MAX_PASSWORD_INPUT)]


def _invitation_form(
    request: Request,
    token: str,
    invitation: InvitationView,
    *,
    name: str | None,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    """The form; `errors` maps a field (name, password, confirm_password) to what is wrong
    with it, shown beside the field and tied to it for screen readers. The cursor starts in the
    first field that is wrong, else in the first one to fill in."""
    errors = errors or {}
    focus = next(iter(errors), "password" if name else "name")
    return page(
        request,
        "accept_invitation.html",
        status,
        title=INVITATION_TITLE,
        token=token,
        email=invitation.email,
        name=name or "",
        errors=errors,
        focus=focus,
    )


@router.get("/accept-invitation", response_class=HTMLResponse, responses={400: HTML})
async def accept_invitation_page(
    request: Request,
    token: TokenQuery = None,
    open_invitation: OpenInvitation = use_case(lambda c: c.open_invitation),
) -> HTMLResponse:
    """The page the invitation email links to. Showing it only reads the invitation."""
    if token is None or not _plausible(token):
        return outcome(request, INVITATION_TITLE, BROKEN_INVITATION, success=False)
    try:
        invitation = await open_invitation.execute(OpenInvitationQuery(token=token))
    except InvalidOrExpiredToken:
        return outcome(request, INVITATION_TITLE, BROKEN_INVITATION, success=False)
    return _invitation_form(request, token, invitation, name=invitation.name)


@router.post(
    "/accept-invitation",
    response_class=HTMLResponse,
    responses={400: HTML, 403: HTML, 409: HTML, 422: HTML, **problems(429)},
    dependencies=[form_of_this_site(), rate_limited("accept-invitation-page")],
)
async def accept_invitation_form(
    request: Request,
    token: TokenField,
    password: PasswordField,
    confirm_password: PasswordField,
    name: NameField = "",
    caller: Caller = request_caller(),
    open_invitation: OpenInvitation = use_case(lambda c: c.open_invitation),
    accept: AcceptInvitation = use_case(lambda c: c.accept_invitation),
) -> HTMLResponse:
    try:
        invitation = await open_invitation.execute(OpenInvitationQuery(token=token))
    except InvalidOrExpiredToken:
        return outcome(request, INVITATION_TITLE, BROKEN_INVITATION, success=False)
    # A cleared field is no name, as the API's null is.
    chosen_name = name if name.strip() else None

    def refused(field: str, message: str) -> HTMLResponse:
        return _invitation_form(
            request, token, invitation, name=chosen_name, status=422, errors={field: message}
        )

    if password != confirm_password:
        return refused("confirm_password", "The two passwords differ. Please type it again.")
    try:
        user = await accept.execute(
            AcceptInvitationCommand(token=token, password=password, name=chosen_name, caller=caller)
        )
    except InvalidOrExpiredToken:
        return outcome(request, INVITATION_TITLE, BROKEN_INVITATION, success=False)
    except EmailAlreadyRegistered:
        return page(
            request,
            "outcome.html",
            409,
            title=INVITATION_TITLE,
            message=ACCOUNT_EXISTS,
            success=False,
        )
    except WeakPassword as weak:
        return refused("password", f"That password {weak}. Please choose another.")
    except InvalidDisplayName as bad:
        return refused("name", f"That name {bad}.")
    return outcome(
        request,
        "Your account is ready",
        f"Welcome! Your account for {user.email.value} is ready and its email address is "
        "confirmed. Sign in with it and the password you chose.",
        success=True,
    )
