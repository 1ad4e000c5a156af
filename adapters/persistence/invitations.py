from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.tables import invitations
from domain.email import Email
from domain.invitation import Invitation
from domain.role import Role


def _invitation_from_row(row: Row[Any]) -> Invitation:
    return Invitation(
        id=row.id,
        email=Email(row.email),
        role=Role(row.role),
        name=row.name,
        token_hash=row.token_hash,
        invited_by=row.invited_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        accepted_at=row.accepted_at,
    )


class SqlAlchemyInvitationRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, invitation: Invitation) -> None:
        await self._connection.execute(
            insert(invitations).values(
                id=invitation.id,
                email=invitation.email.value,
                role=invitation.role.value,
                name=invitation.name,
                token_hash=invitation.token_hash,
                invited_by=invitation.invited_by,
                created_at=invitation.created_at,
                expires_at=invitation.expires_at,
                accepted_at=invitation.accepted_at,
            )
        )

    async def find_usable(self, token_hash: str, now: datetime) -> Invitation | None:
        statement = select(invitations).where(
            invitations.c.token_hash == token_hash,
            invitations.c.accepted_at.is_(None),
            invitations.c.expires_at > now,
        )
        row = (await self._connection.execute(statement)).first()
        return _invitation_from_row(row) if row else None

    async def accept(self, invitation_id: UUID, now: datetime) -> bool:
        result = await self._connection.execute(
            update(invitations)
            .where(
                invitations.c.id == invitation_id,
                invitations.c.accepted_at.is_(None),
                invitations.c.expires_at > now,
            )
            .values(accepted_at=now)
        )
        return result.rowcount == 1

    async def withdraw_pending(self, email: Email) -> int:
        result = await self._connection.execute(
            delete(invitations).where(
                invitations.c.email == email.value, invitations.c.accepted_at.is_(None)
            )
        )
        return result.rowcount
