"""The console's passkeys. Adding one is a WebAuthn ceremony, so it takes the page's script: two
JSON requests carrying the session's token in a header. Renaming and removing are plain forms.
Each behaves as its API counterpart, through the same use cases."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, Response

from application.caller import Caller
from application.errors import LastLoginMethod, NotFound
from application.use_cases.passkeys.begin_passkey_registration import (
    BeginPasskeyRegistration,
    BeginPasskeyRegistrationCommand,
)
from application.use_cases.passkeys.delete_passkey import DeletePasskey, DeletePasskeyCommand
from application.use_cases.passkeys.register_passkey import (
    RegisterPasskey,
    RegisterPasskeyCommand,
)
from application.use_cases.passkeys.rename_passkey import RenamePasskey, RenamePasskeyCommand
from domain.errors import InvalidDisplayName
from domain.user import MAX_NAME_LENGTH
from entrypoints.http.browser_session import (
    FORM_RESPONSES,
    Visitor,
    checked_form,
    checked_script_request,
)
from entrypoints.http.dependencies import request_caller, use_case
from entrypoints.http.openapi import problems
from entrypoints.http.pages.account import back_to_console, render_console
from entrypoints.http.pages.rendering import HTML
from entrypoints.http.schemas import (
    CurrentPasswordRequest,
    PasskeyOptionsResponse,
    RegisterPasskeyRequest,
)

router = APIRouter(prefix="/account/passkeys", tags=["pages"])

ADDED = "/account?done=passkey-added"
LAST_WAY_IN = (
    "This passkey is the only way left to sign in to your account, so it stays. "
    "Add another passkey, or set a password with “Forgot your password?”, then remove it."
)
SCRIPT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **FORM_RESPONSES,
    **problems(400, 413, 422, 503),
}

NameField = Annotated[str, Form(max_length=4 * MAX_NAME_LENGTH)]


def name_field_of(passkey_id: UUID) -> str:
    """The id of a passkey's name field on the console, which its error is tied to."""
    return f"passkey-name-{passkey_id}"


@router.post("/options", response_model=PasskeyOptionsResponse, responses=SCRIPT_RESPONSES)
async def passkey_creation_options(
    body: CurrentPasswordRequest,
    visitor: Visitor = checked_script_request(),
    begin: BeginPasskeyRegistration = use_case(lambda c: c.begin_passkey_registration),
) -> PasskeyOptionsResponse:
    """The console's "Add a passkey": creation options, after the current password."""
    command = BeginPasskeyRegistrationCommand(visitor.principal, body.current_password)
    return PasskeyOptionsResponse.of(await begin.execute(command))


@router.post("", status_code=status.HTTP_201_CREATED, responses=SCRIPT_RESPONSES)
async def passkey_registered(
    body: RegisterPasskeyRequest,
    visitor: Visitor = checked_script_request(),
    caller: Caller = request_caller(),
    register: RegisterPasskey = use_case(lambda c: c.register_passkey),
) -> JSONResponse:
    """The new passkey, stored; answers where the script goes next (the console, saying so)."""
    await register.execute(
        RegisterPasskeyCommand(
            visitor.principal, body.challenge_id, body.credential, body.name, caller
        )
    )
    return JSONResponse({"location": ADDED}, status_code=status.HTTP_201_CREATED)


@router.post(
    "/{passkey_id}/rename", response_class=HTMLResponse, responses={**FORM_RESPONSES, 422: HTML}
)
async def passkey_renamed(
    request: Request,
    passkey_id: UUID,
    name: NameField = "",
    visitor: Visitor = checked_form(),
    caller: Caller = request_caller(),
    rename: RenamePasskey = use_case(lambda c: c.rename_passkey),
) -> Response:
    try:
        await rename.execute(RenamePasskeyCommand(visitor.principal, passkey_id, name, caller))
    except InvalidDisplayName as bad:
        errors = {name_field_of(passkey_id): f"That name {bad}."}
        return await render_console(request, visitor, status=422, errors=errors)
    except NotFound:
        return back_to_console("passkey-gone")
    return back_to_console("passkey-renamed")


@router.post(
    "/{passkey_id}/remove",
    response_class=HTMLResponse,
    responses={**FORM_RESPONSES, 409: HTML, 422: HTML},
)
async def passkey_removed(
    request: Request,
    passkey_id: UUID,
    visitor: Visitor = checked_form(),
    caller: Caller = request_caller(),
    delete: DeletePasskey = use_case(lambda c: c.delete_passkey),
) -> Response:
    try:
        await delete.execute(DeletePasskeyCommand(visitor.principal, passkey_id, caller))
    except LastLoginMethod:
        errors = {f"passkey-{passkey_id}": LAST_WAY_IN}
        return await render_console(request, visitor, status=409, errors=errors)
    except NotFound:
        return back_to_console("passkey-gone")
    return back_to_console("passkey-removed")
