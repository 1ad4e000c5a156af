"""The console's linked accounts at upstream providers: linking one (a sign-in at the provider,
started by a form of the console, never by a link another site could make the browser follow)
and unlinking one while another way to sign in remains."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from application.caller import Caller
from application.errors import LastLoginMethod, NotFound
from application.use_cases.upstream.identities import UnlinkIdentity, UnlinkIdentityCommand
from application.use_cases.upstream.start_sign_in import (
    StartUpstreamSignIn,
    StartUpstreamSignInCommand,
)
from entrypoints.http.browser_session import FORM_RESPONSES, Visitor, checked_form
from entrypoints.http.dependencies import container_of, request_caller, use_case
from entrypoints.http.pages.account import back_to_console, render_console
from entrypoints.http.pages.rendering import HTML
from entrypoints.http.pages.upstream_sign_in import callback_uri, start

router = APIRouter(prefix="/account/identities", tags=["pages"])

LAST_WAY_IN = (
    "This linked account is the only way left to sign in to your account, so it stays linked. "
    "Link another provider, add a passkey, or set a password with “Forgot your password?”, "
    "then unlink it."
)

ProviderField = Annotated[str, Form(max_length=64)]


def unlink_field_of(identity_id: UUID) -> str:
    """The id its Unlink button's error is tied to on the console."""
    return f"identity-{identity_id}"


@router.post(
    "/link",
    response_class=HTMLResponse,
    responses={**FORM_RESPONSES, 404: HTML, 503: HTML},
)
async def link_posted(
    request: Request,
    provider: ProviderField,
    visitor: Visitor = checked_form(),
    start_sign_in: StartUpstreamSignIn = use_case(lambda c: c.start_upstream_sign_in),
) -> Response:
    """Off to the provider to sign in there; its account is then linked to this one."""
    settings = container_of(request).settings()
    command = StartUpstreamSignInCommand(
        provider_id=provider,
        redirect_uri=callback_uri(settings, provider),
        return_to="/account",
        linking_user_id=visitor.principal.user.id,
    )
    return await start(request, start_sign_in, command, from_a_form=True)


@router.post(
    "/{identity_id}/unlink",
    response_class=HTMLResponse,
    responses={**FORM_RESPONSES, 409: HTML, 422: HTML},
)
async def unlink_posted(
    request: Request,
    identity_id: UUID,
    visitor: Visitor = checked_form(),
    caller: Caller = request_caller(),
    unlink: UnlinkIdentity = use_case(lambda c: c.unlink_identity),
) -> Response:
    try:
        await unlink.execute(UnlinkIdentityCommand(visitor.principal, identity_id, caller))
    except LastLoginMethod:
        errors = {unlink_field_of(identity_id): LAST_WAY_IN}
        return await render_console(request, visitor, status=409, errors=errors)
    except NotFound:
        return back_to_console("identity-gone")
    return back_to_console("identity-unlinked")
