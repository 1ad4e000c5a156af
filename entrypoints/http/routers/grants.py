"""The applications a person let sign them in, and taking that back."""

from __future__ import annotations

from fastapi import APIRouter, status

from application.caller import Caller, Principal
from application.use_cases.oidc.list_grants import ListGrants, ListGrantsQuery
from application.use_cases.oidc.withdraw_grant import WithdrawGrant, WithdrawGrantCommand
from entrypoints.http.dependencies import authenticated, request_caller, use_case
from entrypoints.http.openapi import problems
from entrypoints.http.schemas import GrantResponse

router = APIRouter(prefix="/api/v1/users/me/grants", tags=["grants"])


@router.get("", response_model=list[GrantResponse], responses=problems(401, 503))
async def list_my_grants(
    principal: Principal = authenticated(),
    list_grants: ListGrants = use_case(lambda c: c.list_grants),
) -> list[GrantResponse]:
    """The applications this account granted, oldest first, with the scopes each may ask for
    without asking again."""
    views = await list_grants.execute(ListGrantsQuery(principal))
    return [GrantResponse.of(view) for view in views]


@router.delete(
    "/{client_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 404, 503),
)
async def withdraw_my_grant(
    # Any text: a malformed id is found by no one, and reads as an unknown one (404), not as a
    # validation error that tells the two apart.
    client_id: str,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    withdraw: WithdrawGrant = use_case(lambda c: c.withdraw_grant),
) -> None:
    """Withdraw the grant and revoke every token that application holds for this account. A
    grant this account does not hold is 404, whoever's it is."""
    await withdraw.execute(WithdrawGrantCommand(principal, client_id, caller))
