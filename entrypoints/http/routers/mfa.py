"""The second factor: TOTP set-up and removal, recovery codes, and the login's second step."""

from __future__ import annotations

from fastapi import APIRouter, status

from application.caller import Caller, Principal
from application.errors import InvalidMfaCode
from application.second_factor import SecondFactorProof
from application.use_cases.second_factor.complete_mfa_login import (
    CompleteMfaLogin,
    CompleteMfaLoginCommand,
)
from application.use_cases.second_factor.confirm_totp import ConfirmTotp, ConfirmTotpCommand
from application.use_cases.second_factor.disable_totp import DisableTotp, DisableTotpCommand
from application.use_cases.second_factor.mfa_status import GetMfaStatus, MfaStatusQuery
from application.use_cases.second_factor.renew_recovery_codes import (
    RenewRecoveryCodes,
    RenewRecoveryCodesCommand,
)
from application.use_cases.second_factor.start_totp_setup import (
    StartTotpSetup,
    StartTotpSetupCommand,
)
from entrypoints.http.dependencies import authenticated, rate_limited, request_caller, use_case
from entrypoints.http.errors import MfaCodeRefusedAtLogin
from entrypoints.http.openapi import problems
from entrypoints.http.schemas import (
    CurrentPasswordRequest,
    MfaLoginRequest,
    MfaStatusResponse,
    PasswordAndCodeRequest,
    RecoveryCodesResponse,
    TokenPairResponse,
    TotpCodeRequest,
    TotpSetupResponse,
)

login_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
router = APIRouter(prefix="/api/v1/users/me/mfa", tags=["mfa"])


@login_router.post(
    "/mfa",
    response_model=TokenPairResponse,
    responses=problems(401, 403, 413, 422, 429, 503),
    dependencies=[rate_limited("mfa", login=True)],
)
async def second_step(
    body: MfaLoginRequest,
    caller: Caller = request_caller(),
    complete: CompleteMfaLogin = use_case(lambda c: c.complete_mfa_login),
) -> TokenPairResponse:
    """The second step of a login that answered `mfa_required`: the `mfa_token` with a TOTP
    code or a recovery code. Five wrong codes spend the token."""
    proof = SecondFactorProof(totp_code=body.code, recovery_code=body.recovery_code)
    try:
        pair = await complete.execute(CompleteMfaLoginCommand(body.mfa_token, proof, caller))
    except InvalidMfaCode:
        raise MfaCodeRefusedAtLogin() from None
    return TokenPairResponse.of(pair)


@router.get("", response_model=MfaStatusResponse, responses=problems(401, 503))
async def mfa_status(
    principal: Principal = authenticated(),
    status_of: GetMfaStatus = use_case(lambda c: c.get_mfa_status),
) -> MfaStatusResponse:
    found = await status_of.execute(MfaStatusQuery(principal))
    return MfaStatusResponse(
        totp_enabled=found.totp_enabled, recovery_codes_remaining=found.recovery_codes_remaining
    )


@router.post(
    "/totp", response_model=TotpSetupResponse, responses=problems(400, 401, 409, 413, 422, 503)
)
async def start_totp_setup(
    body: CurrentPasswordRequest,
    principal: Principal = authenticated(),
    start: StartTotpSetup = use_case(lambda c: c.start_totp_setup),
) -> TotpSetupResponse:
    """Starts (or restarts) TOTP set-up: nothing changes until a code confirms it."""
    setup = await start.execute(StartTotpSetupCommand(principal, body.current_password))
    return TotpSetupResponse(
        secret=setup.secret, otpauth_uri=setup.otpauth_uri, qr_svg=setup.qr_svg
    )


@router.post(
    "/totp/confirm",
    response_model=RecoveryCodesResponse,
    responses=problems(400, 401, 409, 413, 422, 503),
)
async def confirm_totp(
    body: TotpCodeRequest,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    confirm: ConfirmTotp = use_case(lambda c: c.confirm_totp),
) -> RecoveryCodesResponse:
    """TOTP is on: ten recovery codes, shown this once; every other session is revoked."""
    codes = await confirm.execute(ConfirmTotpCommand(principal, body.code, caller))
    return RecoveryCodesResponse(recovery_codes=codes)


@router.delete(
    "/totp",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(400, 401, 409, 413, 422, 503),
)
async def disable_totp(
    body: PasswordAndCodeRequest,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    disable: DisableTotp = use_case(lambda c: c.disable_totp),
) -> None:
    """TOTP off: the recovery codes stop working and every other session is revoked."""
    await disable.execute(DisableTotpCommand(principal, body.current_password, body.code, caller))


@router.post(
    "/recovery-codes",
    response_model=RecoveryCodesResponse,
    responses=problems(400, 401, 409, 413, 422, 503),
)
async def renew_recovery_codes(
    body: PasswordAndCodeRequest,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    renew: RenewRecoveryCodes = use_case(lambda c: c.renew_recovery_codes),
) -> RecoveryCodesResponse:
    """A new set of ten; the old set stops working."""
    codes = await renew.execute(
        RenewRecoveryCodesCommand(principal, body.current_password, body.code, caller)
    )
    return RecoveryCodesResponse(recovery_codes=codes)
