from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from uuid import UUID

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.tables import sessions, users
from adapters.persistence.users import user_from_row
from domain.session import Session
from domain.user import User


class SqlAlchemySessionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, session: Session) -> None:
        await self._connection.execute(insert(sessions).values(**asdict(session)))

    async def get_authenticated_user(
        self, session_id: UUID, user_id: UUID, now: datetime
    ) -> User | None:
        statement = (
            select(users)
            .join(sessions, sessions.c.user_id == users.c.id)
            .where(
                sessions.c.id == session_id,
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > now,
                users.c.is_active.is_(True),
            )
        )
        row = (await self._connection.execute(statement)).first()
        return user_from_row(row) if row else None

    async def revoke_all_of_user(
        self, user_id: UUID, now: datetime, *, except_session_id: UUID | None = None
    ) -> int:
        statement = (
            update(sessions)
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        if except_session_id is not None:
            statement = statement.where(sessions.c.id != except_session_id)
        result = await self._connection.execute(statement)
        return result.rowcount
