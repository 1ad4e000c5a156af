"""Passkeys: adding, listing, renaming and removing one's own, and signing in with one."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, status

from application.caller import Caller, Principal
from application.use_cases.passkeys.begin_passkey_registration import (
    BeginPasskeyRegistration,
    BeginPasskeyRegistrationCommand,
)
from application.use_cases.passkeys.begin_passkey_sign_in import (
    BeginPasskeySignIn,
    BeginPasskeySignInCommand,
)
from application.use_cases.passkeys.delete_passkey import DeletePasskey, DeletePasskeyCommand
from application.use_cases.passkeys.list_passkeys import ListPasskeys, ListPasskeysQuery
from application.use_cases.passkeys.register_passkey import (
    RegisterPasskey,
    RegisterPasskeyCommand,
)
from application.use_cases.passkeys.rename_passkey import RenamePasskey, RenamePasskeyCommand
from application.use_cases.passkeys.sign_in_with_passkey import (
    SignInWithPasskey,
    SignInWithPasskeyCommand,
)
from entrypoints.http.dependencies import authenticated, rate_limited, request_caller, use_case
from entrypoints.http.openapi import problems
from entrypoints.http.schemas import (
    CurrentPasswordRequest,
    EmptyRequest,
    PasskeyLoginRequest,
    PasskeyOptionsResponse,
    PasskeyResponse,
    RegisterPasskeyRequest,
    RenamePasskeyRequest,
    TokenPairResponse,
)

router = APIRouter(prefix="/api/v1/users/me/passkeys", tags=["passkeys"])
login_router = APIRouter(prefix="/api/v1/auth/passkey", tags=["auth"])


@router.post(
    "/options",
    response_model=PasskeyOptionsResponse,
    responses=problems(400, 401, 413, 422, 503),
)
async def passkey_creation_options(
    body: CurrentPasswordRequest,
    principal: Principal = authenticated(),
    begin: BeginPasskeyRegistration = use_case(lambda c: c.begin_passkey_registration),
) -> PasskeyOptionsResponse:
    """Creation options for a new passkey (resident key and user verification required; the
    account's passkeys excluded). Its challenge lasts 5 minutes and serves once."""
    ceremony = await begin.execute(
        BeginPasskeyRegistrationCommand(principal, body.current_password)
    )
    return PasskeyOptionsResponse.of(ceremony)


@router.post(
    "",
    response_model=PasskeyResponse,
    status_code=status.HTTP_201_CREATED,
    responses=problems(400, 401, 413, 422, 503),
)
async def register_passkey(
    body: RegisterPasskeyRequest,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    register: RegisterPasskey = use_case(lambda c: c.register_passkey),
) -> PasskeyResponse:
    """Store the passkey made for the options of `challenge_id`; the account's address is told."""
    view = await register.execute(
        RegisterPasskeyCommand(principal, body.challenge_id, body.credential, body.name, caller)
    )
    return PasskeyResponse.of(view)


@router.get("", response_model=list[PasskeyResponse], responses=problems(401, 503))
async def list_my_passkeys(
    principal: Principal = authenticated(),
    list_passkeys: ListPasskeys = use_case(lambda c: c.list_passkeys),
) -> list[PasskeyResponse]:
    """The account's passkeys, oldest first."""
    return [
        PasskeyResponse.of(view)
        for view in await list_passkeys.execute(ListPasskeysQuery(principal))
    ]


@router.patch(
    "/{passkey_id:uuid}",
    response_model=PasskeyResponse,
    responses=problems(401, 404, 413, 422, 503),
)
async def rename_my_passkey(
    passkey_id: UUID,
    body: RenamePasskeyRequest,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    rename: RenamePasskey = use_case(lambda c: c.rename_passkey),
) -> PasskeyResponse:
    """Another person's passkey is 404, like one that does not exist."""
    view = await rename.execute(RenamePasskeyCommand(principal, passkey_id, body.name, caller))
    return PasskeyResponse.of(view)


@router.delete(
    "/{passkey_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 404, 409, 422, 503),
)
async def delete_my_passkey(
    passkey_id: UUID,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    delete: DeletePasskey = use_case(lambda c: c.delete_passkey),
) -> None:
    """409 `last_login_method` when it would leave the account no way to sign in."""
    await delete.execute(DeletePasskeyCommand(principal, passkey_id, caller))


@login_router.post(
    "/options",
    response_model=PasskeyOptionsResponse,
    responses=problems(413, 422, 429, 503),
    dependencies=[rate_limited("passkey_options")],
)
async def passkey_request_options(
    _body: Annotated[EmptyRequest | None, Body(alias="body")] = None,
    caller: Caller = request_caller(),
    begin: BeginPasskeySignIn = use_case(lambda c: c.begin_passkey_sign_in),
) -> PasskeyOptionsResponse:
    """Request options for a sign-in with any passkey of this service: no email is asked.
    The body is empty or `{}`."""
    return PasskeyOptionsResponse.of(await begin.execute(BeginPasskeySignInCommand(caller)))


@login_router.post(
    "/login",
    response_model=TokenPairResponse,
    responses=problems(401, 403, 413, 422, 429, 503),
    dependencies=[rate_limited("passkey_login", login=True)],
)
async def passkey_login(
    body: PasskeyLoginRequest,
    caller: Caller = request_caller(),
    sign_in: SignInWithPasskey = use_case(lambda c: c.sign_in_with_passkey),
) -> TokenPairResponse:
    """A session from a passkey's assertion: `amr` has `hwk` and `mfa`, and no TOTP step
    follows. Every refusal is the same `invalid_credentials`."""
    pair = await sign_in.execute(
        SignInWithPasskeyCommand(body.challenge_id, body.credential, caller)
    )
    return TokenPairResponse.of(pair)
