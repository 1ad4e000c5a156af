"""Asking for a password reset link in the browser, as `POST /api/v1/auth/password/forgot`
does: the same answer, and the same work, whether or not an account uses the address."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from application.use_cases.request_password_reset import (
    RequestPasswordReset,
    RequestPasswordResetCommand,
)
from domain.email import MAX_EMAIL_LENGTH, Email
from domain.errors import InvalidEmail
from domain.one_time_token import TOKEN_LIFETIMES, TokenPurpose
from entrypoints.http.browser_session import form_of_this_site
from entrypoints.http.dependencies import rate_limited, use_case
from entrypoints.http.pages.rendering import HTML, page
from entrypoints.http.pages.sign_up import email_problem

router = APIRouter(tags=["pages"])

TITLE = "Reset your password"
SENT_TITLE = "Check your email"
EmailField = Annotated[str, Form(max_length=MAX_EMAIL_LENGTH + 64)]


def forgot_password_form(
    request: Request, *, email: str = "", error: str | None = None, status: int = 200
) -> HTMLResponse:
    return page(request, "forgot_password.html", status, title=TITLE, email=email, error=error)


def link_sent(request: Request, address: str) -> HTMLResponse:
    """Said of every address, whether or not an account uses it."""
    minutes = int(TOKEN_LIFETIMES[TokenPurpose.RESET_PASSWORD].total_seconds() // 60)
    return page(
        request,
        "forgot_password_sent.html",
        title=SENT_TITLE,
        address=address,
        minutes=minutes,
    )


@router.get("/forgot-password", response_class=HTMLResponse)
async def forgot_password_page(request: Request) -> HTMLResponse:
    return forgot_password_form(request)


@router.post(
    "/forgot-password",
    response_class=HTMLResponse,
    responses={403: HTML, 422: HTML, 429: HTML},
    dependencies=[form_of_this_site(), rate_limited("forgot-password")],
)
async def forgot_password_posted(
    request: Request,
    email: EmailField = "",
    request_reset: RequestPasswordReset = use_case(lambda c: c.request_password_reset),
) -> HTMLResponse:
    """A malformed address is said so (it tells nothing of any account, as the API's 422);
    any other gets the same answer."""
    try:
        address = Email.parse(email)
    except InvalidEmail as bad:
        return forgot_password_form(request, email=email, error=email_problem(bad), status=422)
    await request_reset.execute(RequestPasswordResetCommand(email=address.value))
    return link_sent(request, address.value)
