"""Upstream providers one may sign in with, and the accounts at them linked to this one."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from application.caller import Caller, Principal
from application.use_cases.upstream.identities import (
    ListIdentities,
    ListIdentitiesQuery,
    ListUpstreamProviders,
    UnlinkIdentity,
    UnlinkIdentityCommand,
)
from entrypoints.http.dependencies import authenticated, request_caller, use_case
from entrypoints.http.openapi import problems
from entrypoints.http.schemas import IdentityResponse, UpstreamProviderResponse

router = APIRouter(tags=["upstream providers"])


@router.get("/api/v1/auth/providers", response_model=list[UpstreamProviderResponse])
async def list_providers(
    list_providers: ListUpstreamProviders = use_case(lambda c: c.list_upstream_providers),
) -> list[UpstreamProviderResponse]:
    """The upstream OpenID providers configured here, in the settings' order: a sign-in page
    shows a button for each (`/login/{id}`)."""
    return [
        UpstreamProviderResponse(id=provider.id, name=provider.name)
        for provider in list_providers.execute()
    ]


@router.get(
    "/api/v1/users/me/identities",
    response_model=list[IdentityResponse],
    responses=problems(401, 503),
)
async def list_my_identities(
    principal: Principal = authenticated(),
    list_identities: ListIdentities = use_case(lambda c: c.list_identities),
) -> list[IdentityResponse]:
    """The accounts at upstream providers linked to this one, oldest first."""
    identities = await list_identities.execute(ListIdentitiesQuery(principal))
    return [IdentityResponse.of(identity) for identity in identities]


@router.delete(
    "/api/v1/users/me/identities/{identity_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 404, 409, 422, 503),
)
async def unlink_my_identity(
    identity_id: UUID,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    unlink: UnlinkIdentity = use_case(lambda c: c.unlink_identity),
) -> None:
    """Unlink one: `409 last_login_method` when the account would be left with no password,
    no passkey and no other linked account; another account's is 404."""
    await unlink.execute(UnlinkIdentityCommand(principal, identity_id, caller))
