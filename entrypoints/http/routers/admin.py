"""The admin API: accounts and the audit trail. Whether the caller may is decided by the use
cases, from the caller's role in the database."""

from __future__ import annotations

import unicodedata
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import AfterValidator

from application.caller import Caller, Principal
from application.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from application.unset import UNSET
from application.use_cases.admin.create_user import CreateUser, CreateUserCommand
from application.use_cases.admin.delete_user import DeleteUser, DeleteUserCommand
from application.use_cases.admin.get_user import GetUser, GetUserQuery
from application.use_cases.admin.invite_user import InviteUser, InviteUserCommand
from application.use_cases.admin.list_audit_events import ListAuditEvents, ListAuditEventsQuery
from application.use_cases.admin.list_users import ListUsers, ListUsersQuery
from application.use_cases.admin.reset_mfa import ResetMfa, ResetMfaCommand
from application.use_cases.admin.update_user import UpdateUser, UpdateUserCommand
from domain.audit_event import AuditEventType
from domain.email import MAX_EMAIL_LENGTH
from domain.role import Role
from entrypoints.http.dependencies import authenticated, request_caller, use_case
from entrypoints.http.openapi import problems
from entrypoints.http.schemas import (
    AdminUpdateUserRequest,
    AuditEventListResponse,
    AuditEventResponse,
    CreateUserRequest,
    InvitationRequest,
    InvitationResponse,
    UserListResponse,
    UserResponse,
)

router = APIRouter(tags=["admin"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=512)]


def _no_control_characters(q: str | None) -> str | None:
    # Nothing stored has them (names and emails refuse them), and a NUL would break the search:
    # PostgreSQL refuses it in text (a 500), SQLite ends the LIKE pattern there (match all).
    if q is not None and any(unicodedata.category(ch) in ("Cc", "Cs") for ch in q):
        raise ValueError("must not contain control characters")
    return q


Search = Annotated[
    str | None,
    Query(min_length=1, max_length=MAX_EMAIL_LENGTH),
    AfterValidator(_no_control_characters),
]


@router.get(
    "/api/v1/users", response_model=UserListResponse, responses=problems(401, 403, 422, 503)
)
async def list_users(
    principal: Principal = authenticated(),
    list_users: ListUsers = use_case(lambda c: c.list_users),
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    q: Search = None,
    role: Role | None = None,
    is_active: bool | None = None,
) -> UserListResponse:
    """Accounts, oldest first. `q` matches part of the email or the name; `next_cursor` is
    null on the last page."""
    page = await list_users.execute(
        ListUsersQuery(
            principal=principal, limit=limit, cursor=cursor, q=q, role=role, is_active=is_active
        )
    )
    return UserListResponse(
        items=[UserResponse.of(user) for user in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "/api/v1/users",
    status_code=status.HTTP_201_CREATED,
    response_model=UserResponse,
    responses=problems(401, 403, 409, 413, 422, 503),
)
async def create_user(
    body: CreateUserRequest,
    response: Response,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    create: CreateUser = use_case(lambda c: c.create_user),
) -> UserResponse:
    user = await create.execute(
        CreateUserCommand(
            principal=principal,
            email=body.email,
            password=body.password,
            name=body.name,
            role=body.role,
            caller=caller,
        )
    )
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return UserResponse.of(user)


@router.get(
    "/api/v1/users/{user_id}",
    response_model=UserResponse,
    responses=problems(401, 403, 404, 422, 503),
)
async def get_user(
    user_id: UUID,
    principal: Principal = authenticated(),
    get: GetUser = use_case(lambda c: c.get_user),
) -> UserResponse:
    return UserResponse.of(await get.execute(GetUserQuery(principal=principal, user_id=user_id)))


@router.patch(
    "/api/v1/users/{user_id}",
    response_model=UserResponse,
    responses=problems(401, 403, 404, 409, 413, 422, 503),
)
async def update_user(
    user_id: UUID,
    body: AdminUpdateUserRequest,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    update: UpdateUser = use_case(lambda c: c.update_user),
) -> UserResponse:
    """Change what is sent. Deactivating ends every session of the account at once; a change
    that would leave no active admin is `409 last_admin`."""
    sent = body.model_fields_set
    user = await update.execute(
        UpdateUserCommand(
            principal=principal,
            user_id=user_id,
            caller=caller,
            name=body.name if "name" in sent else UNSET,
            email=body.email if body.email is not None else UNSET,
            role=body.role if body.role is not None else UNSET,
            is_active=body.is_active if body.is_active is not None else UNSET,
            is_verified=body.is_verified if body.is_verified is not None else UNSET,
        )
    )
    return UserResponse.of(user)


@router.delete(
    "/api/v1/users/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404, 409, 422, 503),
)
async def delete_user(
    user_id: UUID,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    delete: DeleteUser = use_case(lambda c: c.delete_user),
) -> None:
    await delete.execute(DeleteUserCommand(principal=principal, user_id=user_id, caller=caller))


@router.delete(
    # Only a UUID: /api/v1/users/me/mfa is the signed-in person's own, not an admin route.
    "/api/v1/users/{user_id:uuid}/mfa",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404, 409, 422, 503),
)
async def reset_mfa(
    user_id: UUID,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    reset: ResetMfa = use_case(lambda c: c.reset_mfa),
) -> None:
    """Turns off the user's TOTP and recovery codes (a lost phone) and revokes their
    sessions; 409 `mfa_not_enabled` when TOTP is off."""
    await reset.execute(ResetMfaCommand(principal=principal, user_id=user_id, caller=caller))


@router.post(
    "/api/v1/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationResponse,
    responses=problems(401, 403, 409, 413, 422, 503),
)
async def invite_user(
    body: InvitationRequest,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    invite: InviteUser = use_case(lambda c: c.invite_user),
) -> InvitationResponse:
    """Mails a single-use link to `{PUBLIC_URL}/accept-invitation?token=…`, valid 7 days, where
    the person chooses a password; the account (verified, with this role) exists only once they
    do. `409 email_taken` when an account has the address. Inviting an address again replaces
    its pending invitation: the earlier link stops working."""
    invitation = await invite.execute(
        InviteUserCommand(
            principal=principal, email=body.email, role=body.role, name=body.name, caller=caller
        )
    )
    return InvitationResponse.of(invitation)


@router.get(
    "/api/v1/audit-events",
    response_model=AuditEventListResponse,
    responses=problems(401, 403, 422, 503),
)
async def list_audit_events(
    principal: Principal = authenticated(),
    list_events: ListAuditEvents = use_case(lambda c: c.list_audit_events),
    user_id: UUID | None = None,
    type: AuditEventType | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> AuditEventListResponse:
    """Security events, newest first."""
    page = await list_events.execute(
        ListAuditEventsQuery(
            principal=principal, limit=limit, user_id=user_id, type=type, cursor=cursor
        )
    )
    return AuditEventListResponse(
        items=[AuditEventResponse.of(event) for event in page.items],
        next_cursor=page.next_cursor,
    )
