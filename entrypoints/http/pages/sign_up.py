"""Opening an account in the browser, as `POST /api/v1/auth/signup` does, then signing in and
going on to where the person was going.

An address already in use is said so, as the API's 409 says it: the sign-up form cannot hide
it, since the account could not be made. Nothing more is told of that account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from application.caller import Caller
from application.errors import (
    AccountDisabled,
    EmailAlreadyRegistered,
    InvalidCredentials,
    MfaRequired,
    TooManyRequests,
)
from application.use_cases.log_in import LogIn, LogInCommand
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from domain.email import MAX_EMAIL_LENGTH, Email
from domain.errors import InvalidDisplayName, InvalidEmail, WeakPassword
from domain.session import SessionKind
from domain.user import MAX_NAME_LENGTH, check_display_name
from entrypoints.http.browser_session import (
    MAX_RETURN_TO,
    Visitor,
    form_of_this_site,
    login_url,
    maybe_signed_in,
    safe_return_to,
)
from entrypoints.http.dependencies import container_of, rate_limited, request_caller, use_case
from entrypoints.http.pages.rendering import HTML, page, see_other
from entrypoints.http.pages.sign_in import SIGNED_IN, signed_in_to
from entrypoints.http.schemas import MAX_PASSWORD_INPUT

router = APIRouter(tags=["pages"])

TITLE = "Create your account"
EMAIL_TAKEN = (
    "An account already uses this email address. If it is yours, sign in, or reset its "
    "password if you have forgotten it."
)
PASSWORDS_DIFFER = "The two passwords differ. Please type it again."

ReturnTo = Annotated[str, Form(max_length=MAX_RETURN_TO)]
EmailField = Annotated[str, Form(max_length=MAX_EMAIL_LENGTH + 64)]
# Room past the longest name, so an overlong one is reported beside its field.
NameField = Annotated[str, Form(max_length=4 * MAX_NAME_LENGTH)]
PasswordField = Annotated[str, Form(max_length=MAX_PASSWORD_INPUT)]
FieldErrors = dict[str, str]


def sign_up_form(
    request: Request,
    *,
    return_to: str,
    email: str = "",
    name: str = "",
    errors: FieldErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The form; `errors` maps a field to what is wrong with it, shown beside it and tied to
    it. The cursor starts in the first field that is wrong. Passwords are never sent back."""
    errors = errors or {}
    return page(
        request,
        "signup.html",
        status,
        title=TITLE,
        return_to=return_to,
        providers=container_of(request).list_upstream_providers().execute(),
        email=email,
        name=name,
        errors=errors,
        focus=next(iter(errors), "email"),
        email_taken=errors.get("email") == EMAIL_TAKEN,
    )


def email_problem(bad: InvalidEmail) -> str:
    reason = str(bad)
    if reason == str(InvalidEmail()):
        return "That is not an email address we can use. Please check it."
    return f"That email address {reason}."


def email_error(email: str) -> str | None:
    try:
        Email.parse(email)
    except InvalidEmail as bad:
        return email_problem(bad)
    return None


def name_error(name: str | None) -> str | None:
    try:
        check_display_name(name)
    except InvalidDisplayName as bad:
        return f"That name {bad}."
    return None


def form_errors(email: str, name: str | None, password: str, again: str) -> FieldErrors:
    """What can be told before trying to open the account, in the order of the fields."""
    errors = {
        "email": email_error(email),
        "name": name_error(name),
        "confirm_password": PASSWORDS_DIFFER if password != again else None,
    }
    return {field: message for field, message in errors.items() if message}


@router.get("/signup", response_class=HTMLResponse, responses={303: SIGNED_IN})
async def sign_up_page(
    request: Request,
    return_to: Annotated[str | None, Query(max_length=MAX_RETURN_TO)] = None,
    visitor: Visitor | None = maybe_signed_in(),
) -> Response:
    """The sign-up page. Someone already signed in goes straight on to `return_to`."""
    destination = safe_return_to(return_to)
    if visitor is not None:
        return see_other(destination)
    return sign_up_form(request, return_to=destination)


@router.post(
    "/signup",
    response_class=HTMLResponse,
    responses={303: SIGNED_IN, 403: HTML, 409: HTML, 422: HTML, 429: HTML},
    dependencies=[form_of_this_site(), rate_limited("signup")],
)
async def sign_up_posted(
    request: Request,
    email: EmailField = "",
    password: PasswordField = "",
    confirm_password: PasswordField = "",
    name: NameField = "",
    return_to: ReturnTo = "/account",
    caller: Caller = request_caller(),
    register: RegisterUser = use_case(lambda c: c.register_user),
    log_in: LogIn = use_case(lambda c: c.log_in),
) -> Response:
    destination = safe_return_to(return_to)
    # A cleared field is no name, as the API's absent one is.
    chosen_name = name if name.strip() else None

    def refused(status: int, errors: FieldErrors) -> HTMLResponse:
        return sign_up_form(
            request, return_to=destination, email=email, name=name, errors=errors, status=status
        )

    if errors := form_errors(email, chosen_name, password, confirm_password):
        return refused(422, errors)
    command = RegisterUserCommand(email=email, password=password, name=chosen_name, caller=caller)
    try:
        await register.execute(command)
    except EmailAlreadyRegistered:
        return refused(409, {"email": EMAIL_TAKEN})
    except WeakPassword as weak:
        return refused(422, {"password": f"That password {weak}. Please choose another."})
    except InvalidEmail as bad:
        return refused(422, {"email": email_problem(bad)})
    except InvalidDisplayName as bad:
        return refused(422, {"name": f"That name {bad}."})
    return await signed_in_as_new(request, log_in, email, password, caller, destination)


async def signed_in_as_new(
    request: Request, log_in: LogIn, email: str, password: str, caller: Caller, destination: str
) -> Response:
    """The new account's browser session, opened as any sign-in is (listed, audited, counted).
    Should that fail (the address was throttled before the account existed), the account is
    there all the same: the sign-in page takes over."""
    command = LogInCommand(email, password, caller, session_kind=SessionKind.BROWSER)
    try:
        pair = await log_in.execute(command)
    except (MfaRequired, InvalidCredentials, AccountDisabled, TooManyRequests):
        return see_other(login_url(destination))
    return await signed_in_to(request, pair, destination)
