"""The console's applications: the ones this account let sign it in, and removing their access,
as DELETE /api/v1/users/me/grants/{client_id} does."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from application.caller import Caller
from application.errors import NotFound
from application.use_cases.oidc.withdraw_grant import WithdrawGrant, WithdrawGrantCommand
from entrypoints.http.browser_session import FORM_RESPONSES, Visitor, checked_form
from entrypoints.http.dependencies import request_caller, use_case
from entrypoints.http.pages.account import back_to_console

router = APIRouter(prefix="/account/applications", tags=["pages"])


@router.post("/{client_id}/remove", response_class=HTMLResponse, responses=FORM_RESPONSES)
async def application_removed(
    client_id: str,
    visitor: Visitor = checked_form(),
    caller: Caller = request_caller(),
    withdraw: WithdrawGrant = use_case(lambda c: c.withdraw_grant),
) -> Response:
    """Withdraws the grant and ends every session the application holds for this account."""
    try:
        await withdraw.execute(WithdrawGrantCommand(visitor.principal, client_id, caller))
    except NotFound:
        # Removed already (in another tab, through the API): the list will show it gone.
        return back_to_console("application-gone")
    return back_to_console("application-removed")
