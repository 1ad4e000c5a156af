"""The account console's password and second-factor forms. Each behaves as its API counterpart
and is answered with the console again: a refusal beside its field (422), a TOTP set-up or new
recovery codes shown this once (200, never in a URL), or a redirect with a word on what was
done."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from application.caller import Caller
from application.errors import (
    InvalidCurrentPassword,
    InvalidMfaCode,
    MfaAlreadyEnabled,
    MfaNotEnabled,
)
from application.use_cases.authenticate_browser import AuthenticateBrowserQuery
from application.use_cases.change_password import ChangePassword, ChangePasswordCommand
from application.use_cases.second_factor.confirm_totp import ConfirmTotp, ConfirmTotpCommand
from application.use_cases.second_factor.disable_totp import DisableTotp, DisableTotpCommand
from application.use_cases.second_factor.renew_recovery_codes import (
    RenewRecoveryCodes,
    RenewRecoveryCodesCommand,
)
from application.use_cases.second_factor.start_totp_setup import (
    StartTotpSetup,
    StartTotpSetupCommand,
    TotpSetup,
)
from domain.errors import WeakPassword
from entrypoints.http.browser_session import (
    FORM_RESPONSES,
    Visitor,
    checked_form,
    session_secret_of,
)
from entrypoints.http.dependencies import container_of, request_caller, use_case
from entrypoints.http.pages.account import back_to_console, render_console
from entrypoints.http.pages.rendering import HTML
from entrypoints.http.schemas import MAX_PASSWORD_INPUT

router = APIRouter(tags=["pages"])

PasswordField = Annotated[str, Form(max_length=MAX_PASSWORD_INPUT)]
CodeField = Annotated[str, Form(max_length=64)]

DONE_OR_SIGNED_OUT = {
    "description": "Done: back to the console with a word on it; or not signed in: on to /login"
}
CHANGES: dict[int | str, dict[str, Any]] = {**FORM_RESPONSES, 303: DONE_OR_SIGNED_OUT, 422: HTML}
# 409: the factor changed since the page was shown (another tab, the API).
SECOND_FACTOR_FORM: dict[int | str, dict[str, Any]] = {**FORM_RESPONSES, 409: HTML, 422: HTML}

WRONG_PASSWORD = "That password is not right."  # noqa: S105
PASSWORDS_DIFFER = "The two new passwords differ. Please type it again."
WRONG_CODE = "That code is not right, or was already used. Please try the next one."
ALREADY_ON = "Two-step sign-in is already on for this account."
NOT_ON = "Two-step sign-in is not on for this account."
NOT_STARTED = "That set-up has ended. Please start it again."
SECRET_GROUP = 4
TURNED_ON = (
    "Two-step sign-in is on, and every other session is signed out. Save your recovery codes "
    "now: they are shown only this once."
)
RENEWED = "Here are your new recovery codes; the old ones no longer work. Save them now."


@dataclass(frozen=True, slots=True)
class TotpSetupShown:
    """A TOTP set-up as the console shows it: the QR code, and the secret to type or copy."""

    qr_svg: Markup
    secret: str
    secret_for_reading: str
    otpauth_uri: str

    @classmethod
    def of(cls, setup: TotpSetup) -> TotpSetupShown:
        groups = (
            setup.secret[i : i + SECRET_GROUP] for i in range(0, len(setup.secret), SECRET_GROUP)
        )
        # The SVG is segno's drawing of our own URI: the email inside it is encoded as modules,
        # never as markup, and it carries no style (the page's policy allows none inline).
        return cls(Markup(setup.qr_svg), setup.secret, " ".join(groups), setup.otpauth_uri)  # noqa: S704


async def as_it_is_now(request: Request, visitor: Visitor) -> Visitor:
    """The visitor with their account read again, so that the console rendered by this request
    shows the change it made (the principal was read before it)."""
    container = container_of(request)
    secret = session_secret_of(request, container.settings())
    if secret is None:
        return visitor
    query = AuthenticateBrowserQuery(session_secret=secret)
    principal = await container.authenticate_browser().execute(query)
    return Visitor(principal, visitor.csrf_token) if principal else visitor


@router.post("/account/password", response_class=HTMLResponse, responses=CHANGES)
async def password_posted(
    request: Request,
    current_password: PasswordField = "",
    new_password: PasswordField = "",
    new_password_again: PasswordField = "",
    visitor: Visitor = checked_form(),
    caller: Caller = request_caller(),
    change: ChangePassword = use_case(lambda c: c.change_password),
) -> Response:
    """A new password; every other session ends, this browser stays signed in."""
    if new_password != new_password_again:
        return await _refused(request, visitor, "password-again", PASSWORDS_DIFFER)
    command = ChangePasswordCommand(visitor.principal, current_password, new_password, caller)
    try:
        await change.execute(command)
    except InvalidCurrentPassword:
        return await _refused(request, visitor, "password-current", WRONG_PASSWORD)
    except WeakPassword as weak:
        message = f"That password {weak}. Please choose another."
        return await _refused(request, visitor, "password-new", message)
    return back_to_console("password")


@router.post("/account/totp", response_class=HTMLResponse, responses=SECOND_FACTOR_FORM)
async def totp_setup_posted(
    request: Request,
    current_password: PasswordField = "",
    visitor: Visitor = checked_form(),
    start: StartTotpSetup = use_case(lambda c: c.start_totp_setup),
) -> Response:
    """Starts (or restarts) the set-up: the QR code and the secret, and the form for the first
    code. Nothing changes for sign-in until that code confirms it."""
    try:
        setup = await start.execute(StartTotpSetupCommand(visitor.principal, current_password))
    except MfaAlreadyEnabled:
        return await _stale(request, visitor, ALREADY_ON)
    except InvalidCurrentPassword:
        return await _refused(request, visitor, "totp-password", WRONG_PASSWORD)
    return await render_console(
        request, visitor, totp_setup=TotpSetupShown.of(setup), focus="totp-code"
    )


@router.post("/account/totp/confirm", response_class=HTMLResponse, responses=SECOND_FACTOR_FORM)
async def totp_confirm_posted(
    request: Request,
    code: CodeField = "",
    visitor: Visitor = checked_form(),
    caller: Caller = request_caller(),
    confirm: ConfirmTotp = use_case(lambda c: c.confirm_totp),
) -> Response:
    """The first code from the app turns TOTP on: the recovery codes are shown this once."""
    try:
        codes = await confirm.execute(ConfirmTotpCommand(visitor.principal, code, caller))
    except MfaAlreadyEnabled:
        return await _stale(request, visitor, ALREADY_ON)
    except MfaNotEnabled:
        return await _stale(request, visitor, NOT_STARTED)
    except InvalidMfaCode:
        # The set-up goes on (the app already holds the secret): only the code is asked again.
        return await render_console(
            request,
            visitor,
            status=422,
            errors={"totp-code": WRONG_CODE},
            totp_confirming=True,
            focus="totp-code",
        )
    return await render_console(
        request,
        await as_it_is_now(request, visitor),
        notice=TURNED_ON,
        recovery_codes=codes,
    )


@router.post("/account/totp/disable", response_class=HTMLResponse, responses=SECOND_FACTOR_FORM)
async def totp_disable_posted(
    request: Request,
    current_password: PasswordField = "",
    code: CodeField = "",
    visitor: Visitor = checked_form(),
    caller: Caller = request_caller(),
    disable: DisableTotp = use_case(lambda c: c.disable_totp),
) -> Response:
    """TOTP off, with both factors: the recovery codes stop working, other sessions end."""
    command = DisableTotpCommand(visitor.principal, current_password, code, caller)
    try:
        await disable.execute(command)
    except MfaNotEnabled:
        return await _stale(request, visitor, NOT_ON)
    except InvalidCurrentPassword:
        return await _refused(request, visitor, "disable-password", WRONG_PASSWORD)
    except InvalidMfaCode:
        return await _refused(request, visitor, "disable-code", WRONG_CODE)
    return back_to_console("totp-off")


@router.post("/account/recovery-codes", response_class=HTMLResponse, responses=SECOND_FACTOR_FORM)
async def recovery_codes_posted(
    request: Request,
    current_password: PasswordField = "",
    code: CodeField = "",
    visitor: Visitor = checked_form(),
    caller: Caller = request_caller(),
    renew: RenewRecoveryCodes = use_case(lambda c: c.renew_recovery_codes),
) -> Response:
    """A new set of recovery codes, shown this once; the old set stops working."""
    command = RenewRecoveryCodesCommand(visitor.principal, current_password, code, caller)
    try:
        codes = await renew.execute(command)
    except MfaNotEnabled:
        return await _stale(request, visitor, NOT_ON)
    except InvalidCurrentPassword:
        return await _refused(request, visitor, "renew-password", WRONG_PASSWORD)
    except InvalidMfaCode:
        return await _refused(request, visitor, "renew-code", WRONG_CODE)
    return await render_console(request, visitor, notice=RENEWED, recovery_codes=codes)


async def _refused(request: Request, visitor: Visitor, field: str, message: str) -> HTMLResponse:
    return await render_console(request, visitor, status=422, errors={field: message}, focus=field)


async def _stale(request: Request, visitor: Visitor, message: str) -> HTMLResponse:
    """The page was older than the account's second factor: the console as it is now."""
    return await render_console(
        request,
        await as_it_is_now(request, visitor),
        status=409,
        errors={"second-factor": message},
    )
