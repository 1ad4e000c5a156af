from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.caller import Principal
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock


@dataclass(frozen=True, slots=True)
class SessionView:
    id: UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip: str | None
    current: bool


@dataclass(frozen=True, slots=True)
class ListSessionsQuery:
    principal: Principal


class ListSessions:
    """A person's usable sessions, newest first, marking the one they are using."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, query: ListSessionsQuery) -> list[SessionView]:
        async with self._uow() as uow:
            sessions = await uow.sessions.list_usable_of_user(
                query.principal.user.id, self._clock.now()
            )
        return [
            SessionView(
                id=session.id,
                created_at=session.created_at,
                last_used_at=session.last_used_at,
                expires_at=session.expires_at,
                user_agent=session.user_agent,
                ip=session.ip,
                current=session.id == query.principal.session_id,
            )
            for session in sessions
        ]
