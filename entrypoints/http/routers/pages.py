"""The two pages the emails link to. Server-rendered, no JavaScript: a GET only shows a form,
and only the form's POST spends the token, so a link scanner that follows links confirms
nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from application.caller import Caller
from application.errors import InvalidOrExpiredToken
from application.use_cases.reset_password import ResetPassword, ResetPasswordCommand
from application.use_cases.verify_email import VerifyEmail, VerifyEmailCommand
from domain.errors import WeakPassword
from entrypoints.http.dependencies import rate_limited, request_caller, use_case
from entrypoints.http.openapi import problems
from entrypoints.http.schemas import MAX_PASSWORD_INPUT, MAX_TOKEN_INPUT

templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
router = APIRouter(tags=["pages"])

# Nothing but this origin's stylesheet and forms; no script at all.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
}
BROKEN_LINK = "This link is invalid, was already used, or has expired. Please ask for a new one."
# No length limit on the query: a mangled link must get the page that says it is broken, not
# a JSON validation error in the browser (the server's header limit bounds the query anyway).
TokenQuery = Annotated[str | None, Query()]
TokenField = Annotated[str, Form(min_length=1, max_length=MAX_TOKEN_INPUT)]
HTML: dict[str, Any] = {"content": {"text/html": {}}}


def _plausible(token: str | None) -> bool:
    return token is not None and 0 < len(token) <= MAX_TOKEN_INPUT


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, template, context, status_code=status, headers=PAGE_HEADERS
    )


def _outcome(request: Request, title: str, message: str, *, success: bool) -> HTMLResponse:
    return _page(
        request,
        "outcome.html",
        200 if success else 400,
        title=title,
        message=message,
        success=success,
    )


@router.get("/reset-password", response_class=HTMLResponse, responses={400: HTML})
async def reset_password_page(request: Request, token: TokenQuery = None) -> HTMLResponse:
    if not _plausible(token):
        return _outcome(request, "Reset your password", BROKEN_LINK, success=False)
    return _page(request, "reset_password.html", title="Choose a new password", token=token)


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
        return _outcome(request, "Reset your password", BROKEN_LINK, success=False)
    except WeakPassword as weak:
        return _page(
            request,
            "reset_password.html",
            422,
            title="Choose a new password",
            token=token,
            error=f"That password {weak}. Please choose another.",
        )
    return _outcome(
        request,
        "Password changed",
        "Your password has been changed, and every device was logged out. "
        "Log in again with your new password.",
        success=True,
    )


@router.get("/verify-email", response_class=HTMLResponse, responses={400: HTML})
async def verify_email_page(request: Request, token: TokenQuery = None) -> HTMLResponse:
    if not _plausible(token):
        return _outcome(request, "Confirm your email address", BROKEN_LINK, success=False)
    return _page(request, "verify_email.html", title="Confirm your email address", token=token)


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
        return _outcome(request, "Confirm your email address", BROKEN_LINK, success=False)
    return _outcome(
        request, "Email confirmed", "Thank you: your email address is confirmed.", success=True
    )
