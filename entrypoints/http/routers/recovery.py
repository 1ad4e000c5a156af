"""Password recovery and email verification, as JSON for API clients."""

from __future__ import annotations

from fastapi import APIRouter, status

from application.caller import Caller, Principal
from application.use_cases.request_email_verification import (
    RequestEmailVerification,
    RequestEmailVerificationCommand,
)
from application.use_cases.request_password_reset import (
    RequestPasswordReset,
    RequestPasswordResetCommand,
)
from application.use_cases.reset_password import ResetPassword, ResetPasswordCommand
from application.use_cases.verify_email import VerifyEmail, VerifyEmailCommand
from entrypoints.http.dependencies import authenticated, rate_limited, request_caller, use_case
from entrypoints.http.openapi import problems
from entrypoints.http.schemas import (
    AcceptedResponse,
    ForgotPasswordRequest,
    ResetPasswordRequest,
    VerifyEmailRequest,
)

router = APIRouter(prefix="/api/v1/auth", tags=["recovery"])

RESET_REQUESTED = AcceptedResponse(
    detail="If an account uses this email, a link to reset its password is on its way."
)
VERIFICATION_REQUESTED = AcceptedResponse(
    detail="Unless it is already verified, a confirmation link is on its way to your email."
)


@router.post(
    "/password/forgot",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedResponse,
    responses=problems(413, 422, 429, 503),
    dependencies=[rate_limited("forgot-password")],
)
async def forgot_password(
    body: ForgotPasswordRequest,
    request_reset: RequestPasswordReset = use_case(lambda c: c.request_password_reset),
) -> AcceptedResponse:
    """Mail a reset link valid 30 minutes. The answer is the same whether or not an account
    uses this email."""
    await request_reset.execute(RequestPasswordResetCommand(email=body.email))
    return RESET_REQUESTED


@router.post(
    "/password/reset",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(400, 413, 422, 429, 503),
    dependencies=[rate_limited("reset-password")],
)
async def reset_password(
    body: ResetPasswordRequest,
    caller: Caller = request_caller(),
    reset: ResetPassword = use_case(lambda c: c.reset_password),
) -> None:
    """Set a new password with the token from the reset link; every session is revoked."""
    await reset.execute(
        ResetPasswordCommand(token=body.token, new_password=body.new_password, caller=caller)
    )


@router.post(
    "/verify-email/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedResponse,
    responses=problems(401, 503),
)
async def request_email_verification(
    principal: Principal = authenticated(),
    request_verification: RequestEmailVerification = use_case(
        lambda c: c.request_email_verification
    ),
) -> AcceptedResponse:
    """Mail a confirmation link for the caller's current email, valid 24 hours."""
    await request_verification.execute(RequestEmailVerificationCommand(principal=principal))
    return VERIFICATION_REQUESTED


@router.post(
    "/verify-email",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(400, 413, 422, 429, 503),
    dependencies=[rate_limited("verify-email")],
)
async def verify_email(
    body: VerifyEmailRequest,
    caller: Caller = request_caller(),
    verify: VerifyEmail = use_case(lambda c: c.verify_email),
) -> None:
    """Confirm the email with the token from the verification link."""
    await verify.execute(VerifyEmailCommand(token=body.token, caller=caller))
