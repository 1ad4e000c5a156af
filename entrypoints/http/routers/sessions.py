from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from application.caller import Caller, Principal
from application.use_cases.list_sessions import ListSessions, ListSessionsQuery
from application.use_cases.revoke_sessions import (
    RevokeOwnSession,
    RevokeOwnSessionCommand,
    RevokeSessions,
    RevokeSessionsCommand,
)
from entrypoints.http.dependencies import authenticated, request_caller, use_case
from entrypoints.http.openapi import problems
from entrypoints.http.schemas import SessionResponse

router = APIRouter(prefix="/api/v1/users/me/sessions", tags=["sessions"])


@router.get("", response_model=list[SessionResponse], responses=problems(401, 503))
async def list_my_sessions(
    principal: Principal = authenticated(),
    list_sessions: ListSessions = use_case(lambda c: c.list_sessions),
) -> list[SessionResponse]:
    """Every device logged in to this account, newest first; `current` marks this one."""
    views = await list_sessions.execute(ListSessionsQuery(principal=principal))
    return [SessionResponse.of(view) for view in views]


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 404, 422, 503),
)
async def revoke_my_session(
    session_id: UUID,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    revoke: RevokeOwnSession = use_case(lambda c: c.revoke_own_session),
) -> None:
    """Log one device out. Another person's session is 404, like one that does not exist."""
    await revoke.execute(
        RevokeOwnSessionCommand(principal=principal, session_id=session_id, caller=caller)
    )


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 503))
async def revoke_all_my_sessions(
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    revoke: RevokeSessions = use_case(lambda c: c.revoke_sessions),
) -> None:
    """Log out everywhere, this session included."""
    await revoke.execute(RevokeSessionsCommand(principal=principal, everywhere=True, caller=caller))
