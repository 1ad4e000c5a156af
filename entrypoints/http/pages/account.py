"""The account console: what a signed-in person sees of their own account, and the profile and
session forms. Each action behaves as its API counterpart; after it, the browser is sent back to
the console with a word on what happened (post, redirect, get: a reload repeats nothing)."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from application.caller import Caller
from application.errors import (
    CurrentPasswordRequired,
    EmailAlreadyRegistered,
    InvalidCurrentPassword,
    NotFound,
)
from application.use_cases.list_sessions import ListSessionsQuery
from application.use_cases.oidc.list_grants import ListGrantsQuery
from application.use_cases.passkeys.list_passkeys import ListPasskeysQuery
from application.use_cases.revoke_sessions import (
    RevokeOwnSession,
    RevokeOwnSessionCommand,
    RevokeSessions,
    RevokeSessionsCommand,
)
from application.use_cases.second_factor.mfa_status import MfaStatusQuery
from application.use_cases.update_profile import UpdateProfile, UpdateProfileCommand
from application.use_cases.upstream.identities import ListIdentitiesQuery
from domain.email import MAX_EMAIL_LENGTH
from domain.errors import InvalidDisplayName, InvalidEmail
from domain.user import MAX_NAME_LENGTH
from entrypoints.http.browser_session import (
    FORM_RESPONSES,
    SIGNED_IN_RESPONSES,
    Visitor,
    checked_form,
    signed_in,
)
from entrypoints.http.dependencies import request_caller, use_case
from entrypoints.http.pages.rendering import HTML, page, see_other
from entrypoints.http.schemas import MAX_PASSWORD_INPUT

router = APIRouter(tags=["pages"])

TITLE = "Your account"
# What the console says after an action, by the key its redirect names. Fixed sentences: nothing
# from the query string is ever shown.
NOTICES = {
    "profile": "Your profile is saved.",
    "email": "Your email address is changed. We sent a link to confirm it.",
    "session-ended": "That session is signed out.",
    "others-ended": "Every other session is signed out.",
    "passkey-added": "Your passkey is added. You can sign in with it from now on.",
    "passkey-renamed": "Your passkey is renamed.",
    "passkey-removed": "That passkey is removed: it no longer signs in to your account.",
    "passkey-gone": "That passkey is no longer on your account.",
    "application-removed": "That application no longer has access to your account, and "
    "every sign-in it held is ended.",
    "application-gone": "That application no longer had access to your account.",
    "password": "Your password is changed, and every other session is signed out.",
    "totp-off": "Two-step sign-in is off, and every other session is signed out.",
    "identity-linked": "Your account at that provider is linked: you can sign in with it now.",
    "identity-unlinked": "That account is unlinked: it no longer signs in to yours.",
    "identity-gone": "That account was no longer linked to yours.",
}
SectionErrors = dict[str, str]


async def render_console(
    request: Request,
    visitor: Visitor,
    *,
    status: int = 200,
    notice: str | None = None,
    errors: SectionErrors | None = None,
    **extra: Any,
) -> HTMLResponse:
    """The whole console. `errors` maps a field to what is wrong with it; `extra` is what a
    section shows once (new recovery codes, a TOTP set-up in progress)."""
    container = request.app.state.container
    principal = visitor.principal
    sessions = await container.list_sessions().execute(ListSessionsQuery(principal))
    mfa = await container.get_mfa_status().execute(MfaStatusQuery(principal))
    passkeys = await container.list_passkeys().execute(ListPasskeysQuery(principal))
    applications = await container.list_grants().execute(ListGrantsQuery(principal))
    identities = await container.list_identities().execute(ListIdentitiesQuery(principal))
    providers = container.list_upstream_providers().execute()
    names = {provider.id: provider.name for provider in providers}
    linked = {identity.provider for identity in identities}
    return page(
        request,
        "account.html",
        status,
        scripted=True,
        title=TITLE,
        user=principal.user,
        csrf_token=visitor.csrf_token,
        sessions=sessions,
        mfa=mfa,
        passkeys=passkeys,
        applications=applications,
        identities=[(names.get(i.provider, i.provider), i) for i in identities],
        linkable=[provider for provider in providers if provider.id not in linked],
        notice=notice,
        errors=errors or {},
        **extra,
    )


def back_to_console(done: str) -> Response:
    return see_other(f"/account?done={done}")


@router.get("/account", response_class=HTMLResponse, responses=SIGNED_IN_RESPONSES)
async def account_page(
    request: Request,
    done: Annotated[str | None, Query(max_length=32)] = None,
    visitor: Visitor = signed_in(),
) -> HTMLResponse:
    return await render_console(request, visitor, notice=NOTICES.get(done or ""))


NameField = Annotated[str, Form(max_length=4 * MAX_NAME_LENGTH)]
EmailField = Annotated[str, Form(max_length=MAX_EMAIL_LENGTH + 64)]
PasswordField = Annotated[str, Form(max_length=MAX_PASSWORD_INPUT)]


@router.post(
    "/account/profile", response_class=HTMLResponse, responses={**FORM_RESPONSES, 422: HTML}
)
async def profile_posted(
    request: Request,
    name: NameField = "",
    email: EmailField = "",
    current_password: PasswordField = "",
    visitor: Visitor = checked_form(),
    caller: Caller = request_caller(),
    update: UpdateProfile = use_case(lambda c: c.update_profile),
) -> Response:
    """Name and email; a new email takes the current password, as in the API."""
    current_email = visitor.principal.user.email.value
    email_changes = bool(email.strip()) and email.strip().lower() != current_email
    command = UpdateProfileCommand(
        visitor.principal,
        name=name if name.strip() else None,
        email=email if email.strip() else current_email,
        current_password=current_password or None,
        caller=caller,
    )

    async def refused(field: str, message: str) -> HTMLResponse:
        return await render_console(request, visitor, status=422, errors={field: message})

    try:
        await update.execute(command)
    except InvalidDisplayName as bad:
        return await refused("name", f"That name {bad}.")
    except InvalidEmail:
        return await refused("email", "That is not an email address.")
    except EmailAlreadyRegistered:
        return await refused("email", "Another account uses that email address.")
    except CurrentPasswordRequired:
        return await refused("current_password", "To change your email, type your password.")
    except InvalidCurrentPassword:
        return await refused("current_password", "That password is not right.")
    return back_to_console("email" if email_changes else "profile")


@router.post(
    "/account/sessions/{session_id}/end", response_class=HTMLResponse, responses=FORM_RESPONSES
)
async def end_one_session(
    session_id: UUID,
    visitor: Visitor = checked_form(),
    caller: Caller = request_caller(),
    revoke: RevokeOwnSession = use_case(lambda c: c.revoke_own_session),
) -> Response:
    # Already ended (in another tab, through the API): the list will show it gone.
    with contextlib.suppress(NotFound):
        await revoke.execute(RevokeOwnSessionCommand(visitor.principal, session_id, caller))
    if session_id == visitor.principal.session_id:
        return see_other("/login")
    return back_to_console("session-ended")


@router.post("/account/sessions/end-others", response_class=HTMLResponse, responses=FORM_RESPONSES)
async def end_other_sessions(
    visitor: Visitor = checked_form(),
    caller: Caller = request_caller(),
    revoke: RevokeSessions = use_case(lambda c: c.revoke_sessions),
) -> Response:
    await revoke.execute(RevokeSessionsCommand(visitor.principal, others=True, caller=caller))
    return back_to_console("others-ended")
